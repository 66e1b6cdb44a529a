// tfjs memory across meta-iterations: every tensor an iteration creates (inner adaptation, control
// variates, meta-gradient, TRPO's Hessian-vector products and line search, PPO's inner steps) is
// disposed, so the live tensor count after each iteration is the same as after the first.
import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, map, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { initialState, metaTrain } from '../../src/index.js'
import { point2dDeps, useSampler } from '../support/pipelines.js'

const sampler = useSampler()

describe('pipelines: no tensor leak across iterations', () => {
  for (const [outer, cv] of [
    ['vpg', 'meta'],
    ['trpo', 'value'],
    ['ppo', 'action-dependent']
  ] as const) {
    it(`${outer} with the ${cv} control variate: numTensors flat over 5 iterations`, async () => {
      const d = point2dDeps(
        sampler(),
        { tasksPerBatch: 2, rolloutsPerTask: 4, iterations: 5, outer, controlVariate: cv },
        10,
        [8]
      )
      const counts = await lastValueFrom(
        metaTrain(d)(initialState(d)).pipe(
          map(() => tf.memory().numTensors),
          toArray()
        )
      )
      expect(counts).toHaveLength(5)
      // The first iteration may allocate lasting state (e.g. kernels' cached constants); none after.
      expect(counts.slice(1)).toEqual(counts.slice(1).map(() => counts[1]))
    })
  }
})
