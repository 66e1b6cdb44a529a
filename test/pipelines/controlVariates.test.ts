// Control variates of the training pipeline: shapes, finiteness, and the two properties that keep the
// estimators unbiased — cross-fitting (an episode's baseline does not depend on that episode's own
// returns) and, for the action-dependent one, b_i independent of a_i.
import { beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { fitActionDependentBaselines } from '../../src/pipelines/controlVariates/actionDependent.js'
import { fitLinearBaseline, predictLinearBaseline } from '../../src/pipelines/controlVariates/linearFeature.js'
import { fitValueBaselines, initMetaCv, metaValueStep } from '../../src/pipelines/controlVariates/valueNet.js'
import { type EpisodeBatch, returnsToGo } from '../../src/pipelines/episodes.js'
import { initPolicy } from '../../src/pipelines/policy.js'

const E = 6
const T = 5
const D = 3
const K = 2
const policySpec = { obsDim: D, actDim: K, hidden: [8], activation: 'tanh' as const }

const batch = (seed: number): EpisodeBatch => {
  const r = rngAt(seed, 'batch')
  const fill = (n: number, f: () => number) => Float32Array.from({ length: n }, f)
  return {
    task: 0,
    episodes: E,
    horizon: T,
    obsDim: D,
    actDim: K,
    obs: fill(E * T * D, () => r.normal()),
    actions: fill(E * T * K, () => r.normal()),
    rewards: fill(E * T, () => 1 + r.normal()),
    mask: fill(E * T, () => 1),
    terminated: new Uint8Array(E),
    lastObs: fill(E * D, () => r.normal()),
    diverged: 0
  }
}

const opts = { hidden: [8], lr: 1e-2, epochs: 5, samples: 3, gamma: 0.99 }

beforeAll(async () => {
  await initBackendOrThrow('wasm')
})

describe('control variates', () => {
  it('linear feature baseline: least squares of returns-to-go (exact on a batch it can fit)', () => {
    const b = batch(1)
    // Rewards that make the returns-to-go an exact linear function of the features (t / 100 terms).
    const R = returnsToGo(b, 1)
    const pred = predictLinearBaseline(fitLinearBaseline(b, 1), b)
    expect(pred).toHaveLength(E * T)
    expect(pred.every(Number.isFinite)).toBe(true)
    const resid = pred.reduce((s, p, i) => s + (p - R[i]) ** 2, 0)
    const total = R.reduce((s, x) => s + (x - R.reduce((a, y) => a + y, 0) / R.length) ** 2, 0)
    expect(resid).toBeLessThan(total) // explains part of the variance
  })

  it('per-task value networks are cross-fitted: an episode baseline ignores its own rewards', () => {
    const b = batch(2)
    const base = fitValueBaselines([b], opts, (k, h) => rngAt(0, k, h))[0]
    const changed = { ...b, rewards: Float32Array.from(b.rewards, (x, i) => (i < T ? x + 100 : x)) } // episode 0
    const again = fitValueBaselines([changed], opts, (k, h) => rngAt(0, k, h))[0]
    expect(Array.from(again.slice(0, T))).toEqual(Array.from(base.slice(0, T))) // episode 0's own baseline: unchanged
    expect(Array.from(again.slice(E * T - T))).not.toEqual(Array.from(base.slice(E * T - T))) // the other half's: changed
  })

  it('the meta control variate (Algorithm 1) updates its state and is cross-fitted the same way', () => {
    const b = batch(3)
    const s0 = initMetaCv(D, [8], rngAt(0, 'meta'))
    const r = metaValueStep([b], s0, { hidden: [8], innerLr: 1e-2, outerLr: 1e-2, epochs: 2, gamma: 0.99 })
    expect(r.baselines[0]).toHaveLength(E * T)
    expect(Number.isFinite(r.loss)).toBe(true)
    expect(r.state.params['vW0'].values).not.toEqual(s0.params['vW0'].values)
    const changed = { ...b, rewards: Float32Array.from(b.rewards, (x, i) => (i < T ? x + 100 : x)) }
    const r2 = metaValueStep([changed], s0, { hidden: [8], innerLr: 1e-2, outerLr: 1e-2, epochs: 0, gamma: 0.99 })
    const r1 = metaValueStep([b], s0, { hidden: [8], innerLr: 1e-2, outerLr: 1e-2, epochs: 0, gamma: 0.99 })
    expect(Array.from(r2.baselines[0].slice(0, T))).toEqual(Array.from(r1.baselines[0].slice(0, T)))
  })

  it('the action-dependent baseline b_i(s, a^{-i}) does not change with a_i, and does with a_{-i}', () => {
    const b = batch(4)
    const policy = initPolicy(policySpec, rngAt(0, 'policy'), 0)
    const fit = (x: EpisodeBatch) =>
      fitActionDependentBaselines([x], [policy], policySpec, opts, (k, part) => rngAt(0, k, part))[0]
    const base = fit(b)
    expect(base).toHaveLength(E * T * K)
    expect(base.every(Number.isFinite)).toBe(true)
    // Change coordinate 0 of the last episode's step 2 (the second half, predicted by the first half's Q).
    const k = (E - 1) * T + 2
    const moved = { ...b, actions: Float32Array.from(b.actions, (x, i) => (i === k * K ? x + 3 : x)) }
    const after = fit(moved)
    expect(after[k * K]).toBeCloseTo(base[k * K], 5) // b_0 ignores a_0
    expect(Math.abs(after[k * K + 1] - base[k * K + 1])).toBeGreaterThan(1e-6) // b_1 reads a_0
  })
})
