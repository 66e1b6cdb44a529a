/**
 * The parallel rollout sampler: episodes of a Gaussian MLP policy on a registered environment, split
 * into chunks run on worker threads (one MuJoCo module each) or in the calling thread.
 *
 * 1. The request is validated (`validateRequest`): a `Left` names the bad field.
 * 2. Its K x E episodes are split into contiguous chunks (about `chunksPerWorker` per worker, at most
 *    `maxChunkEpisodes` each); idle workers take the next chunk.
 * 3. A chunk whose worker dies or times out is re-run on a fresh worker (at most `maxRetries` times,
 *    then the request fails with a `ResourceError` naming the chunk, its tasks and episodes); a dead
 *    worker is replaced. Results are copied into one `EpisodeBatch` per task.
 *
 * Every random number of an episode is derived from its own path (see `RolloutRequest`), so the result
 * is bit-identical whatever the number of workers and however the chunks were scheduled or retried.
 *
 * @example
 * const sampler = await makeSampler({ workers: 2, onEvent: console.log })   // Either<TmamlError, Sampler>
 * // if Right:
 * const batches = await sampler.right.sample({
 *   envId: 'halfcheetah-dir', tasks: [{ direction: 1 }, { direction: -1 }], episodesPerTask: 20, horizon: 100,
 *   policy: { obsDim: 17, actDim: 6, hidden: [64, 64], activation: 'tanh' }, params: [params],
 *   seed: 1, stream: [iteration, 'pre']
 * })                                                  // Either<TmamlError, ReadonlyArray<EpisodeBatch>>
 * await sampler.right.close()
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { invalidInput, type TmamlError } from '../../base/errors.js'
import { chunkEnvEvents, chunkJob, planChunks } from './chunk.js'
import { makeChunkPool } from './pool.js'
import type { ChunkResult } from './protocol.js'
import { chunkedSampler } from './stream.js'
import type { Sampler, SamplerEvent, SamplerOptions } from './types.js'

// -------------------------------------------------------------------------------------------------
// the sampler
// -------------------------------------------------------------------------------------------------

const defaults = {
  maxChunkEpisodes: 128,
  chunksPerWorker: 4,
  maxRetries: 3,
  chunkTimeoutMs: { base: 60_000, perStep: 5 },
  startTimeoutMs: 60_000,
  cacheEnvs: true
} as const

const checkOptions = (opts: SamplerOptions): TmamlError | undefined => {
  const where = 'makeSampler'
  const intAtLeast = (name: string, v: unknown, min: number): TmamlError | undefined =>
    typeof v === 'number' && Number.isInteger(v) && v >= min
      ? undefined
      : invalidInput(where, `${name} must be an integer >= ${min}, got ${String(v)}`)
  return (
    intAtLeast('workers', opts.workers, 0) ??
    (opts.maxChunkEpisodes === undefined ? undefined : intAtLeast('maxChunkEpisodes', opts.maxChunkEpisodes, 1)) ??
    (opts.chunksPerWorker === undefined ? undefined : intAtLeast('chunksPerWorker', opts.chunksPerWorker, 1)) ??
    (opts.maxRetries === undefined ? undefined : intAtLeast('maxRetries', opts.maxRetries, 0)) ??
    (opts.startTimeoutMs === undefined ? undefined : intAtLeast('startTimeoutMs', opts.startTimeoutMs, 1)) ??
    (opts.chunkTimeoutMs === undefined ||
    (opts.chunkTimeoutMs.base > 0 && opts.chunkTimeoutMs.perStep >= 0 && Number.isFinite(opts.chunkTimeoutMs.base))
      ? undefined
      : invalidInput(where, 'chunkTimeoutMs must be { base > 0, perStep >= 0 } (milliseconds)'))
  )
}

/**
 * Start a sampler with `opts.workers` worker threads (0: run in the calling thread). Resolves once every
 * worker has loaded its MuJoCo module; a `Left` if a worker cannot start (e.g. the compiled worker is
 * missing: run `npx tsc -p .`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeSampler = async (opts: SamplerOptions): Promise<E.Either<TmamlError, Sampler>> => {
  const bad = checkOptions(opts)
  if (bad !== undefined) return E.left(bad)
  const workers = opts.workers
  const maxChunkEpisodes = opts.maxChunkEpisodes ?? defaults.maxChunkEpisodes
  const chunksPerWorker = opts.chunksPerWorker ?? defaults.chunksPerWorker
  const emit = (e: SamplerEvent): void => {
    try {
      opts.onEvent?.(e)
    } catch (err) {
      // A listener's bug must not break sampling.
      process.emitWarning(`sampler: the onEvent listener threw on ${e._tag}: ${String(err)}`)
    }
  }
  const pool = await makeChunkPool({
    workers,
    onEvent: emit,
    maxRetries: opts.maxRetries ?? defaults.maxRetries,
    chunkTimeoutMs: opts.chunkTimeoutMs ?? defaults.chunkTimeoutMs,
    startTimeoutMs: opts.startTimeoutMs ?? defaults.startTimeoutMs,
    cacheEnvs: opts.cacheEnvs ?? defaults.cacheEnvs,
    spawnWorker: opts.spawnWorker
  })
  if (E.isLeft(pool)) return pool
  return E.right(
    chunkedSampler({
      workers,
      where: 'sampler',
      plan: (req) => {
        const total = req.tasks.length * req.episodesPerTask
        const ranges = planChunks(total, Math.max(1, workers) * (workers === 0 ? 1 : chunksPerWorker), maxChunkEpisodes)
        return { jobs: ranges.map((range, c) => chunkJob(req, c, range)) }
      },
      run: (_, { jobs }, onChunk, signal) =>
        pool.right.run(
          jobs,
          (r: ChunkResult, worker: number) => {
            const job = jobs[r.chunk]
            emit({
              _tag: 'ChunkDone',
              chunk: r.chunk,
              worker,
              episodes: r.n,
              steps: r.steps,
              seconds: r.seconds,
              heapBytes: r.heapBytes
            })
            chunkEnvEvents(job, r).forEach(emit)
            onChunk(job, r)
          },
          signal
        ),
      close: () => pool.right.close()
    })
  )
}
