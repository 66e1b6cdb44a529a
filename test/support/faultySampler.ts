/**
 * Fault injection for training runs, outside the pipeline: a `makeSampler` whose samplers hand back
 * what the real one sampled, changed by `poison` (e.g. a NaN in one iteration's rewards).
 *
 * @example
 * await run(argv, { makeSampler: poisonedSamplers((req, bs) => (req.stream[0] === 2 ? withNaN(bs) : bs)) })
 */
import * as E from 'fp-ts/lib/Either.js'
import { makeSampler, promiseSampler } from '../../src/pipelines/sampler/index.js'
import type { EpisodeBatch, RolloutRequest, Sampler } from '../../src/pipelines/sampler/types.js'

export type Poison = (req: RolloutRequest, batches: ReadonlyArray<EpisodeBatch>) => ReadonlyArray<EpisodeBatch>

/** `sampler`, with every result passed through `poison` (both forms: `sample$` emits once all are in). */
export const poisoned = (sampler: Sampler, poison: Poison): Sampler =>
  promiseSampler({
    workers: sampler.workers,
    close: sampler.close,
    sample: async (req) => E.map((bs: ReadonlyArray<EpisodeBatch>) => poison(req, bs))(await sampler.sample(req))
  })

/** A `makeSampler` whose samplers are `poisoned`. */
export const poisonedSamplers =
  (poison: Poison): typeof makeSampler =>
  async (opts) =>
    E.map((s: Sampler) => poisoned(s, poison))(await makeSampler(opts))

/** Batches with their first task's rewards changed by `f` (copies; the sampler's arrays are untouched). */
export const withRewards = (
  bs: ReadonlyArray<EpisodeBatch>,
  f: (rewards: Float32Array) => Float32Array
): ReadonlyArray<EpisodeBatch> => bs.map((b, k) => (k === 0 ? { ...b, rewards: f(Float32Array.from(b.rewards)) } : b))
