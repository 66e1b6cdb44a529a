// Which estimators are unbiased, proved two ways on random tabular MDPs with exact ground truth:
// (1) a z-test of the Monte-Carlo mean of R independent estimates against the exact gradient,
//     Hessian-vector product and MAML meta-gradient, Bonferroni-corrected over coordinates
//     (family-wise false-alarm rate 1e-3 per estimator and order);
// (2) the exact mean of the estimator, by enumerating every trajectory with its probability.
// Both directions are asserted: claimed-unbiased estimators pass, biased-by-design ones are detected.
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { dice, builtinEstimators, lvc, maml, tmaml, tmamlEq7, tmamlReference } from '../../src/estimators/builtins.js'
import { checkEstimators, type CheckResult } from '../../src/estimators/check.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'

/**
 * Hessian biases that are structural (a missing or extra term of the Hessian estimate), hence large
 * on every MDP: the z-test must detect them on every generated MDP.
 */
const structurallyBiasedHvp: ReadonlyArray<string> = ['maml', 'lvc', 'tmaml-eq7', 'dice-fo', 'tmaml-fo']

// float32 sums of a few hundred O(1) terms: the exact mean of an unbiased estimator matches the
// exact value to ~1e-6; 1e-4 leaves margin, while every bias found is > 1e-2.
const EXACT_TOL = 1e-4

beforeAll(async () => {
  await initBackendOrThrow('wasm')
})

const find = (rs: ReadonlyArray<CheckResult>, name: string, order: string): CheckResult => {
  const r = rs.find((x) => x.estimator === name && x.order === order)
  if (r === undefined) throw new Error(`no result for ${name} ${order}`)
  return r
}

describe('estimator unbiasedness on random tabular MDPs', () => {
  it('claimed-unbiased estimators pass at every order (exact means agree); biases are detected wherever they are large enough to be', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          states: fc.integer({ min: 2, max: 3 }),
          horizon: fc.integer({ min: 2, max: 3 })
        }),
        ({ seed, states, horizon }) => {
          const results = checkEstimators(builtinEstimators, {
            seed,
            mdps: 1,
            samples: 20000,
            exact: true,
            size: { states, actions: 2, horizon, rewardMean: 0.5 }
          })
          for (const r of results) {
            const label = `${r.estimator} ${r.order} (seed ${seed}, S=${states}, T=${horizon}): |z| ${r.maxAbsZ.toFixed(2)} vs ${r.threshold.toFixed(2)}, exact bias ${r.exactMaxAbsBias}`
            if (r.claimed) {
              expect(r.unbiased, label).toBe(true)
              expect(r.exactMaxAbsBias, label).toBeLessThan(EXACT_TOL)
            } else if (
              r.exactMaxAbsBias !== null &&
              r.exactMaxAbsBias / Math.sqrt(r.variance / 20000) > r.threshold + 3
            ) {
              // A bias several standard errors above the threshold must be detected. (A biased
              // meta-gradient's bias is alpha (E[H_hat] - H) grad J(theta'): small where
              // grad J(theta') is, so on some MDPs no test at this sample size could see it.)
              expect(r.unbiased, label).toBe(false)
            }
          }
          for (const name of structurallyBiasedHvp) {
            const r = find(results, name, 'hvp')
            expect(r.exactMaxAbsBias, `${name} hvp exact bias`).toBeGreaterThan(1e-2)
            expect(r.unbiased, `${name} hvp must be detected as biased (|z| ${r.maxAbsZ})`).toBe(false)
          }
        }
      ),
      { seed: 42, numRuns: 3 }
    )
  })

  it('the paper-relevant estimators are decided on the built-in MDPs (3 MDPs, as `tmaml estimators check`)', () => {
    const rs = checkEstimators([maml, dice, lvc, tmamlEq7, tmamlReference, tmaml], { seed: 1, mdps: 3 })
    const verdicts = Object.fromEntries(rs.map((r) => [`${r.estimator}/${r.order}`, r.unbiased]))
    expect(verdicts).toEqual({
      'maml/grad': true,
      'maml/hvp': false,
      'maml/meta': false,
      'dice/grad': true,
      'dice/hvp': true,
      'dice/meta': true,
      'lvc/grad': true,
      'lvc/hvp': false,
      'lvc/meta': false,
      'tmaml-eq7/grad': true,
      'tmaml-eq7/hvp': false,
      'tmaml-eq7/meta': false,
      'tmaml-reference/grad': true,
      'tmaml-reference/hvp': true,
      'tmaml-reference/meta': true,
      'tmaml/grad': true,
      'tmaml/hvp': true,
      'tmaml/meta': true
    })
  })

  it('unbiasedness of tmaml does not depend on the quality of the baseline; Eq. 7 is biased with any', () => {
    for (const baseline of ['poor', 'none'] as const) {
      const rs = checkEstimators([tmaml, tmamlEq7], { seed: 7, mdps: 1, exact: true, baseline })
      expect(find(rs, 'tmaml', 'hvp').exactMaxAbsBias).toBeLessThan(EXACT_TOL)
      expect(find(rs, 'tmaml', 'hvp').unbiased).toBe(true)
      // Eq. 7's bias is 2 E[b(s_t) grad l grad l^T]: zero only without a baseline.
      if (baseline === 'none') expect(find(rs, 'tmaml-eq7', 'hvp').exactMaxAbsBias).toBeLessThan(EXACT_TOL)
      else expect(find(rs, 'tmaml-eq7', 'hvp').unbiased).toBe(false)
    }
  })
})

describe('variance of the Hessian-vector product (rewards with a survival bonus, exact value baseline)', () => {
  // With a large common reward offset (mean 3 per step, like MuJoCo's survival bonus), DiCE's
  // second-order terms carry the offset and the control variate removes it.
  it('tmaml < 0.25 x dice; tmaml-reference is unbiased but > 0.75 x dice', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const rs = checkEstimators([dice, tmaml, tmamlReference], {
          seed,
          mdps: 1,
          samples: 5000,
          size: { states: 3, actions: 2, horizon: 3, rewardMean: 3 }
        })
        const v = (name: string) => find(rs, name, 'hvp').variance
        expect(v('tmaml')).toBeLessThan(0.25 * v('dice'))
        expect(v('tmaml-reference')).toBeGreaterThan(0.75 * v('dice'))
        expect(find(rs, 'tmaml-reference', 'hvp').unbiased).toBe(true)
        expect(find(rs, 'tmaml', 'hvp').unbiased).toBe(true)
      }),
      { seed: 7, numRuns: 4 }
    )
  })

  it("the authors' code form lowers DiCE's gradient variance on short horizons only (docs/ESTIMATORS.md)", () => {
    const ratio = (horizon: number): number => {
      const rs = checkEstimators([dice, tmamlReference], {
        seed: 1,
        mdps: 3,
        orders: ['grad'],
        size: { states: 3, actions: 2, horizon, rewardMean: 3 }
      })
      return find(rs, 'tmaml-reference', 'grad').variance / find(rs, 'dice', 'grad').variance
    }
    expect(ratio(3)).toBeLessThan(0.3)
    expect(ratio(6)).toBeGreaterThan(1.05)
  })
})
