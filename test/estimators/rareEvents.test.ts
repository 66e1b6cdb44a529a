// Statistics that cannot cry wolf: a z-test over R Monte-Carlo replicates trusts the central limit
// theorem, which fails when the estimate is driven by an event the replicates see only a few times.
// On an MDP where one action has probability 0.001, 2,000 replicates make DiCE — exactly unbiased —
// look biased; the check's rare-event guard draws replicates until the rarest (state, action) pair is
// expected often enough, and never calls an estimator biased on a test it cannot trust.
import { beforeAll, describe, expect, it } from 'vitest'
import { dice, lvc } from '../../src/estimators/builtins.js'
import { checkOnProblems, rarestPerReplicate } from '../../src/estimators/check.js'
import { type GroundTruthProblem, makeProblem } from '../../src/estimators/groundTruth/problem.js'
import { policyTable } from '../../src/estimators/groundTruth/tabularMdp.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'

// A random 3-state MDP whose least visited state takes action 1 with probability 0.001.
const size = { states: 3, actions: 2, horizon: 3, rewardMean: 0.5 }
const seed = 185
let rare: GroundTruthProblem

beforeAll(async () => {
  await initBackendOrThrow('wasm')
  const logits = Float32Array.from(makeProblem(seed, { size }).theta)
  logits[0] = 0
  logits[1] = -Math.log(999)
  rare = makeProblem(seed, { size, logits })
})

describe('estimators/check on rare events', () => {
  it('the MDP has an action of probability 0.001, taken ~1 time per 1,000 replicates', () => {
    expect(policyTable(rare.mdp, rare.theta)[0][1]).toBeCloseTo(0.001, 6)
    expect(2000 * rarestPerReplicate(rare, 'grad', 2)).toBeLessThan(5)
  })

  // Without the guard: whenever the 2,000 replicates happen not to take the rare pair (a few per cent
  // of draws), |z| ~ 45 — against a nominal family-wise false-alarm rate of 0.001.
  const unguarded = (seed: number) =>
    checkOnProblems([dice], [rare], { seed, samples: 2000, minExpectedCount: 0, orders: ['grad'] })[0]

  it('without the guard, 2,000 replicates call the exactly unbiased DiCE gradient biased, far too often', () => {
    const alarms = Array.from({ length: 200 }, (_, i) => i + 1).filter((seed) => unguarded(seed).verdict === 'biased')
    // Seeds are fixed, so this is deterministic: 7 of 200 (expected at the nominal rate: 0.2).
    expect(alarms.length).toBeGreaterThanOrEqual(5)
    const [r] = checkOnProblems([dice], [rare], {
      seed: alarms[0],
      samples: 2000,
      minExpectedCount: 0,
      orders: ['grad'],
      exact: true
    })
    expect(r.exactMaxAbsBias).toBeLessThan(1e-4)
    expect(r.maxAbsZ).toBeGreaterThan(3 * r.threshold)
  })

  it('with the guard, the check draws replicates until the rare pair is expected 100 times, and DiCE passes', () => {
    for (const seed of [53, 129, 163]) {
      expect(unguarded(seed).verdict).toBe('biased')
      const [r] = checkOnProblems([dice], [rare], { seed, samples: 2000, orders: ['grad'] })
      expect(r.samples).toBeGreaterThan(2000)
      expect(r.rarestCount).toBeGreaterThanOrEqual(100)
      expect(r.maxAbsZ).toBeLessThan(r.threshold)
      expect(r.verdict).toBe('unbiased')
    }
  })

  it('where even maxSamples replicates see the rare pair too seldom, a failed z-test is inconclusive, not biased', () => {
    const [r] = checkOnProblems([dice], [rare], { seed: 53, samples: 2000, maxSamples: 2000, orders: ['grad'] })
    expect(r.maxAbsZ).toBeGreaterThan(r.threshold)
    expect(r.verdict).toBe('inconclusive')
    expect(r.unbiased).toBe(true)
  })

  it('a biased estimator is still found biased on the same MDP', () => {
    const [r] = checkOnProblems([lvc], [rare], { samples: 2000, orders: ['hvp'], exact: true })
    expect(r.exactMaxAbsBias).toBeGreaterThan(1e-2)
    expect(r.verdict).toBe('biased')
  })
})
