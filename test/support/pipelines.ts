/**
 * Shared set-up of the pipeline tests: a one-thread sampler on the wasm backend for a suite, and the
 * dependencies of a small point2d training run.
 *
 * @example
 * const sampler = useSampler()
 * it('...', () => { const deps = point2dDeps(sampler(), { tasksPerBatch: 2 }, 10, [8]) })
 */
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll } from 'vitest'
import { getEnvSpec } from '../../src/envs/registry.js'
import { estimatorByName } from '../../src/estimators/builtins.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { type ExperimentConfig, resolveConfig } from '../../src/pipelines/config.js'
import { makeSampler } from '../../src/pipelines/sampler/index.js'
import type { Sampler } from '../../src/pipelines/sampler/types.js'
import type { TrainDeps } from '../../src/pipelines/stages.js'

/** Starts the wasm backend and a sampler without worker threads before the suite, closes it after. */
export const useSampler = (): (() => Sampler) => {
  let sampler: Sampler | undefined
  beforeAll(async () => {
    await initBackendOrThrow('wasm')
    const s = await makeSampler({ workers: 0 })
    if (E.isLeft(s)) throw new Error(`sampler: ${JSON.stringify(s.left)}`)
    sampler = s.right
  })
  afterAll(async () => {
    await sampler?.close()
  })
  return () => {
    if (sampler === undefined) throw new Error('useSampler: the sampler is started in beforeAll')
    return sampler
  }
}

/** A point2d run of `tmaml` with the given config fields, horizon and tanh hidden layers. */
export const point2dDeps = (
  sampler: Sampler,
  config: Partial<ExperimentConfig>,
  horizon: number,
  hidden: ReadonlyArray<number>
): TrainDeps => {
  const cfg = resolveConfig({ env: 'point2d', horizon, ...config })
  const env = getEnvSpec('point2d')
  if (E.isLeft(cfg) || E.isLeft(env)) throw new Error('point2dDeps: bad config')
  return {
    cfg: cfg.right,
    env: env.right,
    horizon,
    policy: { obsDim: env.right.obsDim, actDim: env.right.actDim, hidden: [...hidden], activation: 'tanh' },
    estimator: estimatorByName('tmaml')!,
    sampler
  }
}
