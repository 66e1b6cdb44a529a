// tfjs memory across meta-iterations: every tensor an iteration creates (inner adaptation, control
// variates, meta-gradient, TRPO's Hessian-vector products and line search, PPO's inner steps) is
// disposed, so the live tensor count after each iteration is the same as after the first.
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, map, toArray } from 'rxjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Sampler,
  type TrainDeps,
  estimatorByName,
  getEnvSpec,
  initBackendOrThrow,
  initialState,
  makeSampler,
  metaTrain,
  resolveConfig
} from '../../src/index.js'

let sampler: Sampler

beforeAll(async () => {
  await initBackendOrThrow('wasm')
  const s = await makeSampler({ workers: 0 })
  if (E.isLeft(s)) throw new Error('sampler')
  sampler = s.right
})
afterAll(async () => {
  await sampler.close()
})

const deps = (outer: 'vpg' | 'trpo' | 'ppo', controlVariate: 'meta' | 'value' | 'action-dependent'): TrainDeps => {
  const cfg = resolveConfig({
    env: 'point2d',
    tasksPerBatch: 2,
    rolloutsPerTask: 4,
    horizon: 10,
    iterations: 5,
    outer,
    controlVariate
  })
  const env = getEnvSpec('point2d')
  if (E.isLeft(cfg) || E.isLeft(env)) throw new Error('config')
  return {
    cfg: cfg.right,
    env: env.right,
    horizon: 10,
    policy: { obsDim: env.right.obsDim, actDim: env.right.actDim, hidden: [8], activation: 'tanh' },
    estimator: estimatorByName('tmaml')!,
    sampler
  }
}

describe('pipelines: no tensor leak across iterations', () => {
  for (const [outer, cv] of [
    ['vpg', 'meta'],
    ['trpo', 'value'],
    ['ppo', 'action-dependent']
  ] as const) {
    it(`${outer} with the ${cv} control variate: numTensors flat over 5 iterations`, async () => {
      const d = deps(outer, cv)
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
