// innerNormalize: each task's inner data are divided by the spread of its returns-to-go across
// episodes, so the inner step does not depend on the reward scale, and is the same for every
// control variate (the spread is a property of the episodes only).
import { describe, expect, it } from 'vitest'
import { estimatorByName } from '../../src/estimators/builtins.js'
import type { EpisodeBatch } from '../../src/pipelines/episodes.js'
import { adaptedArrays, disposeMetaProblem, returnSpread } from '../../src/pipelines/meta.js'
import { flatten } from '../../src/pipelines/optim/params.js'
import { iterationData, metaProblemFor, scaledRewards } from '../support/metaProblems.js'
import { point2dDeps, useSampler } from '../support/pipelines.js'

const sampler = useSampler()

const batch = (rewards: number[], mask: number[], E: number, T: number): EpisodeBatch => ({
  task: 0,
  episodes: E,
  horizon: T,
  obsDim: 1,
  actDim: 1,
  obs: new Float32Array(E * T),
  actions: new Float32Array(E * T),
  rewards: Float32Array.from(rewards),
  mask: Float32Array.from(mask),
  terminated: new Uint8Array(E),
  lastObs: new Float32Array(E),
  diverged: 0
})

describe('pipelines/meta: innerNormalize', () => {
  describe('returnSpread', () => {
    it('is the std of returns-to-go around their mean at each step, over valid steps (hand-computed)', () => {
      // gamma 1. Episode 0: r = (1, 2) -> R = (3, 2); episode 1: r = (3, 0), step 1 masked -> R = (3, 0).
      // Step 0: R = 3, 3 -> deviations 0, 0; step 1: only episode 0 valid -> deviation 0. Spread 0 -> 1.
      expect(returnSpread(batch([1, 2, 3, 0], [1, 1, 1, 0], 2, 2), 1)).toBe(1)
      // Episode 1: r = (1, 4) -> R = (5, 4). Step 0: 3, 5 -> +-1; step 1: 2, 4 -> +-1. Spread 1.
      expect(returnSpread(batch([1, 2, 1, 4], [1, 1, 1, 1], 2, 2), 1)).toBeCloseTo(1, 6)
      // Rewards x 10: spread x 10.
      expect(returnSpread(batch([10, 20, 10, 40], [1, 1, 1, 1], 2, 2), 1)).toBeCloseTo(10, 5)
    })
  })

  it('makes the adaptation invariant to the reward scale (and only with it on)', async () => {
    const est = estimatorByName('tmaml')!
    const deps = point2dDeps(sampler(), { tasksPerBatch: 2, rolloutsPerTask: 4 }, 8, [6])
    const data = await iterationData(deps, est)
    const adapt = (c: number, innerNormalize: boolean): Float32Array[] => {
      const m = metaProblemFor(deps, est, {
        normalizeAdvantages: true,
        innerNormalize,
        pre: data.pre.map((steps) => steps.map((s) => scaledRewards(s, c))),
        post: data.post
      })
      const out = adaptedArrays(
        m,
        data.pre.map(() => data.theta)
      ).map(flatten)
      disposeMetaProblem(m)
      return out
    }
    const maxDiff = (a: Float32Array[], b: Float32Array[]) =>
      Math.max(...a.map((x, k) => Math.max(...x.map((v, i) => Math.abs(v - b[k][i])))))
    expect(maxDiff(adapt(1, true), adapt(10, true))).toBeLessThan(1e-5)
    expect(maxDiff(adapt(1, false), adapt(10, false))).toBeGreaterThan(1e-3)
  })
})
