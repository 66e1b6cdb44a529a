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
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { resolveConfig } from '../../src/pipelines/config.js'
import { makeSampler } from '../../src/pipelines/sampler/index.js'
import type { Sampler } from '../../src/pipelines/sampler/types.js'
import { type TrainDeps, trainDeps } from '../../src/pipelines/stages.js'

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

/** A point2d run of `tmaml` with the given config fields (JSON form), horizon and tanh hidden layers. */
export const point2dDeps = (
  sampler: Sampler,
  config: Readonly<Record<string, unknown>>,
  horizon: number,
  hidden: ReadonlyArray<number>
): TrainDeps => {
  const cfg = resolveConfig({ env: 'point2d', horizon, hidden, ...config })
  if (E.isLeft(cfg)) throw new Error(`point2dDeps: ${JSON.stringify(cfg.left)}`)
  const deps = trainDeps(cfg.right, sampler)
  if (E.isLeft(deps)) throw new Error('point2dDeps: no point2d env')
  return deps.right
}
