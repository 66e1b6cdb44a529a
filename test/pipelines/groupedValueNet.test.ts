// The grouped (batched) value-network fits against one network at a time: the meta-learned control
// variate (Algorithm 1) and the per-task value networks must compute the same numbers as the direct
// per-network reference (test/support/perTaskValueNets.ts) up to float32 rounding, on ragged batches
// (early terminations, odd episode counts, a task of one episode), without leaking tensors.
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import {
  groupArrays,
  groupedData,
  groupedGradArrays,
  disposeGrouped,
  stackArrays
} from '../../src/pipelines/controlVariates/groupedValueNet.js'
import { initMetaCv, metaValueStep } from '../../src/pipelines/controlVariates/metaValue.js'
import { fitArrays, fitValueBaselines, initValueNet, valueMlp } from '../../src/pipelines/controlVariates/valueNet.js'
import { type EpisodeBatch, targetStats } from '../../src/pipelines/episodes.js'
import { availableBackends } from '../support/backends.js'
import { perTaskMetaValueStep, perTaskValueBaselines } from '../support/perTaskValueNets.js'

const T = 7
const D = 3

/** A batch of `E` episodes; episode e of a `ragged` batch ends after T - e steps. */
const batch = (seed: number, E: number, ragged: boolean): EpisodeBatch => {
  const r = rngAt(seed, 'grouped-batch')
  const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i))
  const live = (i: number) => !ragged || i % T < T - (Math.floor(i / T) % 4)
  return {
    task: seed,
    episodes: E,
    horizon: T,
    obsDim: D,
    actDim: 2,
    obs: fill(E * T * D, () => r.normal()),
    actions: fill(E * T * 2, () => r.normal()),
    rewards: fill(E * T, (i) => (live(i) ? 1 + r.normal() + 0.3 * (i % T) : 0)),
    mask: fill(E * T, (i) => (live(i) ? 1 : 0)),
    terminated: Uint8Array.from({ length: E }, (_, e) => (ragged && e % 4 !== 0 ? 1 : 0)),
    lastObs: fill(E * D, () => r.normal()),
    diverged: 0
  }
}

const tasks = [batch(1, 6, true), batch(2, 5, false), batch(3, 1, false), batch(4, 7, true)]

/** max |a - b| over max |b|: float32 agreement of two computations. */
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0
  let den = 1e-12
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]))
    den = Math.max(den, Math.abs(b[i]))
  }
  return num / den
}

for (const backend of await availableBackends())
  describe(`grouped value-network fits (${backend})`, () => {
    beforeAll(async () => {
      await initBackendOrThrow(backend)
    })

    it("a group's slice of the grouped gradient is its own loss's gradient", () => {
      const spec = valueMlp(D, [5])
      const fits = tasks.slice(0, 2).map((b) => fitArrays(b, 0.99, targetStats(b, 0.99)))
      const nets = [0, 1].map((g) => initValueNet(D, [5], rngAt(g, 'net')))
      const both = groupedData(fits, D + 1)
      const all = groupedGradArrays(spec, both, stackArrays(nets)).grads
      disposeGrouped(both)
      for (const g of [0, 1]) {
        const alone = groupedData([fits[g]], D + 1)
        const own = groupedGradArrays(spec, alone, stackArrays([nets[g]])).grads
        disposeGrouped(alone)
        for (const k of Object.keys(own))
          expect(relErr(groupArrays(all, g)[k].values, own[k].values), `${k} of group ${g}`).toBeLessThan(1e-5)
      }
    })

    it('the meta-learned control variate (Algorithm 1) matches the per-task computation', () => {
      const o = { hidden: [8], innerLr: 5e-2, outerLr: 1e-2, epochs: 3, gamma: 0.99 }
      const s0 = initMetaCv(D, [8], rngAt(0, 'meta'))
      const grouped = metaValueStep(tasks, s0, o)
      const direct = perTaskMetaValueStep(tasks, s0, o)
      expect(grouped.state.adam.step).toBe(3)
      for (const k of Object.keys(direct.state.params)) {
        expect(relErr(grouped.state.params[k].values, direct.state.params[k].values), k).toBeLessThan(1e-5)
        // the steps themselves, not only the parameters (which are mostly s0's)
        const step = (p: Float32Array) => p.map((v, i) => v - s0.params[k].values[i])
        expect(relErr(step(grouped.state.params[k].values), step(direct.state.params[k].values)), k).toBeLessThan(1e-3)
      }
      expect(Math.abs(grouped.loss - direct.loss) / Math.abs(direct.loss)).toBeLessThan(1e-5)
      tasks.forEach((b, k) => {
        expect(grouped.baselines[k]).toHaveLength(b.episodes * T)
        expect(relErr(grouped.baselines[k], direct.baselines[k]), `task ${k}`).toBeLessThan(1e-5)
      })
      expect(Array.from(grouped.baselines[2]).every((v) => v === 0)).toBe(true) // one episode: no other half
      // masked steps get no baseline
      tasks[0].mask.forEach((m, i) => m === 0 && expect(grouped.baselines[0][i]).toBe(0))
    })

    it('a different inner step size gives different baselines (the comparison above can fail)', () => {
      const o = { hidden: [8], innerLr: 5e-2, outerLr: 1e-2, epochs: 3, gamma: 0.99 }
      const s0 = initMetaCv(D, [8], rngAt(0, 'meta'))
      const grouped = metaValueStep(tasks, s0, o)
      const other = perTaskMetaValueStep(tasks, s0, { ...o, innerLr: 5.5e-2 })
      expect(relErr(grouped.baselines[0], other.baselines[0])).toBeGreaterThan(1e-3)
    })

    it('the per-task value networks match one network at a time', () => {
      const o = { hidden: [8], lr: 1e-2, epochs: 6, gamma: 0.99 }
      const rng = (k: number, h: number) => rngAt(7, 'value', k, h)
      const grouped = fitValueBaselines(tasks, o, rng)
      const direct = perTaskValueBaselines(tasks, o, rng)
      tasks.forEach((_, k) => expect(relErr(grouped[k], direct[k]), `task ${k}`).toBeLessThan(1e-4))
      // each task's baselines depend on its own episodes only
      const alone = fitValueBaselines([tasks[3]], o, (k, h) => rng(k + 3, h))
      expect(relErr(alone[0], grouped[3])).toBeLessThan(1e-5)
    })

    it('leaves no tensors behind', () => {
      const o = { hidden: [8], innerLr: 5e-2, outerLr: 1e-2, epochs: 2, gamma: 0.99 }
      const s0 = initMetaCv(D, [8], rngAt(0, 'meta'))
      metaValueStep(tasks, s0, o)
      fitValueBaselines(tasks, { hidden: [8], lr: 1e-2, epochs: 2, gamma: 0.99 }, (k, h) => rngAt(k, h))
      const before = tf.memory().numTensors
      for (let i = 0; i < 3; i++) {
        metaValueStep(tasks, s0, o)
        fitValueBaselines(tasks, { hidden: [8], lr: 1e-2, epochs: 2, gamma: 0.99 }, (k, h) => rngAt(k, h))
      }
      expect(tf.memory().numTensors).toBe(before)
    })
  })
