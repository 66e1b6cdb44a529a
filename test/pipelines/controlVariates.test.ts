// Control variates of the training pipeline: shapes, finiteness, and the two properties that keep the
// estimators unbiased — cross-fitting (an episode's baseline does not depend on that episode's own
// returns) and, for the action-dependent one, b_i independent of a_i.
import { beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import * as Ei from 'fp-ts/lib/Either.js'
import {
  actionDependentControlVariate,
  fitActionDependentBaselines
} from '../../src/pipelines/controlVariates/actionDependent.js'
import {
  type CvInput,
  evaluateControlVariate,
  fitControlVariate,
  perState,
  statelessControlVariate
} from '../../src/pipelines/controlVariates/controlVariate.js'
import { fitLinearBaseline, predictLinearBaseline } from '../../src/pipelines/controlVariates/linearFeature.js'
import { initMetaCv, metaControlVariate, metaValueStep } from '../../src/pipelines/controlVariates/metaValue.js'
import { controlVariates } from '../../src/pipelines/controlVariates/registry.js'
import { fitValueBaselines } from '../../src/pipelines/controlVariates/valueNet.js'
import { publishedDefaults } from '../../src/pipelines/config.js'
import type { EpisodeBatch } from '../../src/pipelines/episodes.js'
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
const settings = {
  ...publishedDefaults,
  valueCv: opts,
  metaCv: { hidden: [8], innerLr: 1e-2, outerLr: 1e-2, epochs: 2 }
}
const policy = initPolicy(policySpec, rngAt(0, 'policy'), 0)
const input = (b: EpisodeBatch, state: unknown = null): CvInput => ({
  tasks: [{ batch: b, sampledWith: policy }],
  policy: policySpec,
  settings,
  rng: (k, part) => rngAt(0, k, part),
  state
})

beforeAll(async () => {
  await initBackendOrThrow('wasm')
})

describe('control variates', () => {
  it('linear feature baseline: least squares of returns-to-go, exact when they are linear in its features', () => {
    // Rewards chosen so that R_t (gamma = 1) = f(s_t, t), f linear in the features [s, s^2, u, u^2, u^3, 1]
    // (u = t / 100): r_t = f_t - f_{t+1}, f_T = 0. Least squares must then recover f up to the ridge.
    const b0 = batch(1)
    const f = (e: number, t: number): number => {
      const s = (j: number) => b0.obs[(e * T + t) * D + j]
      const u = t / 100
      return 2 + 3 * s(0) - s(1) ** 2 + 0.5 * s(2) + 5 * u - 20 * u ** 3
    }
    const rewards = new Float32Array(E * T)
    for (let e = 0; e < E; e++) for (let t = 0; t < T; t++) rewards[e * T + t] = f(e, t) - (t + 1 < T ? f(e, t + 1) : 0)
    const b = { ...b0, rewards }
    const pred = predictLinearBaseline(fitLinearBaseline(b, 1), b)
    expect(pred).toHaveLength(E * T)
    for (let e = 0; e < E; e++) for (let t = 0; t < T; t++) expect(pred[e * T + t]).toBeCloseTo(f(e, t), 3)
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

  it('every built-in kind returns one baseline per task of the shape it declares', () => {
    const b = batch(5)
    const meta = initMetaCv(D, [8], rngAt(0, 'meta'))
    for (const cv of controlVariates) {
      const r = fitControlVariate(cv, input(b, cv.state === null ? null : meta))
      expect(Ei.isRight(r), cv.name).toBe(true)
      if (Ei.isRight(r)) {
        expect(r.right.baselines.map((x) => x.shape)).toEqual([cv.shape])
        expect(r.right.baselines[0].values).toHaveLength(E * T * (cv.shape === 'per-state' ? 1 : K))
      }
    }
    expect(actionDependentControlVariate.shape).toBe('per-action-component')
  })

  it('a control variate whose baselines do not match its declared shape or the batch is an error naming it', () => {
    const b = batch(6)
    const lying = statelessControlVariate({
      name: 'lying',
      description: 'declares per action component, returns per state',
      shape: 'per-action-component',
      baselines: ({ tasks }) => Ei.right(tasks.map(() => perState(new Float32Array(E * T))))
    })
    const short = statelessControlVariate({
      name: 'short',
      description: 'one value too few',
      shape: 'per-state',
      baselines: ({ tasks }) => Ei.right(tasks.map(() => perState(new Float32Array(E * T - 1))))
    })
    const r1 = evaluateControlVariate(lying, input(b))
    expect(Ei.isLeft(r1) && JSON.stringify(r1.left)).toMatch(/'lying'.*declares shape 'per-action-component'/)
    const r2 = fitControlVariate(short, input(b))
    expect(Ei.isLeft(r2) && JSON.stringify(r2.left)).toMatch(/'short'.*29 values, expected 30/)
  })

  it("'meta' evaluates only with its own state, and learns only in fit", () => {
    const b = batch(7)
    const s0 = initMetaCv(D, [8], rngAt(0, 'meta'))
    const none = metaControlVariate.evaluate(input(b, null))
    expect(Ei.isLeft(none) && JSON.stringify(none.left)).toMatch(/state made by --cv meta/)
    const ev = metaControlVariate.evaluate(input(b, s0))
    const direct = metaValueStep([b], s0, { ...settings.metaCv, epochs: 0, gamma: settings.gamma })
    expect(Ei.isRight(ev) && Array.from(ev.right[0].values)).toEqual(Array.from(direct.baselines[0]))
    const fitted = metaControlVariate.fit(input(b, s0))
    expect(Ei.isRight(fitted) && fitted.right.state).not.toEqual(s0)
    expect(Ei.isRight(fitted) && Number.isFinite(fitted.right.stats['cvLoss'])).toBe(true)
  })
})
