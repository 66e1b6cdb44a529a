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
import { invalidInput, resourceError, type TmamlError } from '../../base/errors.js'
import { chunkJob, makeEnvCache, planChunks, runChunk } from './chunk.js'
import type { ChunkJob, ChunkResult } from './protocol.js'
import { validateRequest, type ValidRequest } from './request.js'
import { samplerWorkerPath, startSamplerWorker, type SamplerWorker } from './samplerWorker.js'
import type { EpisodeBatch, Sampler, SamplerEvent, SamplerOptions } from './types.js'

// -------------------------------------------------------------------------------------------------
// assembling results
// -------------------------------------------------------------------------------------------------

/** Copy chunk results into one batch per task. */
const assemble = (req: ValidRequest, jobs: ReadonlyArray<ChunkJob>, results: ReadonlyArray<ChunkResult>) => {
  const { episodesPerTask: nE, horizon: T } = req
  const { obsDim, actDim } = req.policy
  const batches = req.tasks.map((_, task) => ({
    task,
    episodes: nE,
    horizon: T,
    obsDim,
    actDim,
    obs: new Float32Array(nE * T * obsDim),
    actions: new Float32Array(nE * T * actDim),
    rewards: new Float32Array(nE * T),
    mask: new Float32Array(nE * T),
    terminated: new Uint8Array(nE),
    lastObs: new Float32Array(nE * obsDim),
    diverged: 0
  }))
  results.forEach((r, c) => {
    const job = jobs[c]
    for (let i = 0; i < r.n; i++) {
      const b = batches[job.taskIds[i]]
      const e = job.episodeIds[i]
      b.obs.set(r.obs.subarray(i * T * obsDim, (i + 1) * T * obsDim), e * T * obsDim)
      b.actions.set(r.actions.subarray(i * T * actDim, (i + 1) * T * actDim), e * T * actDim)
      b.rewards.set(r.rewards.subarray(i * T, (i + 1) * T), e * T)
      b.mask.set(r.mask.subarray(i * T, (i + 1) * T), e * T)
      b.terminated[e] = r.terminated[i]
      b.lastObs.set(r.lastObs.subarray(i * obsDim, (i + 1) * obsDim), e * obsDim)
      b.diverged += r.diverged[i]
    }
  })
  return batches
}

const describeChunk = (job: ChunkJob): string => {
  const n = job.taskIds.length
  return (
    `chunk ${job.chunk} (${n} episodes: task ${job.taskIds[0]} episode ${job.episodeIds[0]} ` +
    `to task ${job.taskIds[n - 1]} episode ${job.episodeIds[n - 1]})`
  )
}

// -------------------------------------------------------------------------------------------------
// the sampler
// -------------------------------------------------------------------------------------------------

interface Slot {
  readonly index: number
  handle: Promise<E.Either<TmamlError, SamplerWorker>>
  busy: boolean
}

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
  const maxRetries = opts.maxRetries ?? defaults.maxRetries
  const timeouts = opts.chunkTimeoutMs ?? defaults.chunkTimeoutMs
  const startTimeoutMs = opts.startTimeoutMs ?? defaults.startTimeoutMs
  const cacheEnvs = opts.cacheEnvs ?? defaults.cacheEnvs
  const emit = (e: SamplerEvent): void => {
    try {
      opts.onEvent?.(e)
    } catch (err) {
      // A listener's bug must not break sampling (events also fire inside worker-exit handlers).
      process.emitWarning(`sampler: the onEvent listener threw on ${e._tag}: ${String(err)}`)
    }
  }
  let closed = false
  const closedError = resourceError('sampler', 'the sampler was closed')

  // ---- workers ----------------------------------------------------------------------------------

  const scriptPath = workers > 0 ? samplerWorkerPath() : E.right('')
  if (E.isLeft(scriptPath)) return scriptPath
  const slots: Slot[] = []

  const startSlot = (slot: Slot, replacement: boolean): Promise<E.Either<TmamlError, SamplerWorker>> =>
    startSamplerWorker({
      scriptPath: scriptPath.right,
      cacheEnvs,
      startTimeoutMs,
      spawn: opts.spawnWorker,
      onDeath: (reason, threadId) => {
        emit({ _tag: 'WorkerDied', worker: slot.index, threadId, reason })
        // An idle worker is replaced at once; a busy one by the request that was using it.
        if (!closed && !slot.busy) void ensure(slot)
      }
    }).then((started) => {
      if (E.isRight(started)) {
        emit({ _tag: 'WorkerStarted', worker: slot.index, threadId: started.right.threadId })
        if (replacement) emit({ _tag: 'WorkerReplaced', worker: slot.index, threadId: started.right.threadId })
        if (closed) void started.right.terminate()
      }
      return started
    })

  /** The slot's live worker, starting a replacement when it is dead. */
  const ensure = async (slot: Slot): Promise<E.Either<TmamlError, SamplerWorker>> => {
    const before = slot.handle
    const h = await before
    if (E.isRight(h) && !h.right.isDead()) return h
    if (closed) return E.left(closedError)
    if (slot.handle === before) slot.handle = startSlot(slot, E.isRight(h))
    return slot.handle
  }

  for (let index = 0; index < workers; index++) {
    const slot: Slot = { index, handle: Promise.resolve(E.left(closedError)), busy: false }
    slot.handle = startSlot(slot, false)
    slots.push(slot)
  }
  const started = await Promise.all(slots.map((s) => s.handle))
  const failed = started.find(E.isLeft)
  if (failed !== undefined) {
    closed = true
    await Promise.all(started.map((s) => (E.isRight(s) ? s.right.terminate() : undefined)))
    return failed
  }

  // ---- running chunks -----------------------------------------------------------------------------

  const localCache = makeEnvCache(cacheEnvs)

  const runHere = async (jobs: ReadonlyArray<ChunkJob>): Promise<E.Either<TmamlError, ChunkResult[]>> => {
    const results: ChunkResult[] = []
    for (const job of jobs) {
      if (closed) return E.left(closedError)
      const r = await runChunk(job, localCache)
      if (E.isLeft(r)) return r
      emit({
        _tag: 'ChunkDone',
        chunk: job.chunk,
        worker: -1,
        episodes: r.right.n,
        steps: r.right.steps,
        seconds: r.right.seconds,
        heapBytes: r.right.heapBytes
      })
      results.push(r.right)
    }
    return E.right(results)
  }

  const runOnWorkers = async (jobs: ReadonlyArray<ChunkJob>): Promise<E.Either<TmamlError, ChunkResult[]>> => {
    const results: Array<ChunkResult | undefined> = jobs.map(() => undefined)
    const queue = jobs.map((job) => ({ job, attempts: 0 }))
    let failure: TmamlError | undefined
    const loop = async (slot: Slot): Promise<void> => {
      while (failure === undefined) {
        const item = queue.shift()
        if (item === undefined) return
        const w = await ensure(slot)
        if (E.isLeft(w)) {
          failure ??= w.left
          return
        }
        const { job } = item
        const timeoutMs = Math.round(timeouts.base + timeouts.perStep * job.taskIds.length * job.horizon)
        slot.busy = true
        const outcome = await w.right.run(job, timeoutMs)
        slot.busy = false
        if (outcome._tag === 'Done') {
          if (E.isLeft(outcome.result)) {
            failure ??= outcome.result.left
            return
          }
          const r = outcome.result.right
          results[job.chunk] = r
          emit({
            _tag: 'ChunkDone',
            chunk: job.chunk,
            worker: slot.index,
            episodes: r.n,
            steps: r.steps,
            seconds: r.seconds,
            heapBytes: r.heapBytes
          })
          continue
        }
        if (closed) {
          failure ??= closedError
          return
        }
        item.attempts++
        if (item.attempts > maxRetries) {
          failure ??= resourceError(
            'sampler',
            `${describeChunk(job)} was lost ${item.attempts} times (last: ${outcome.reason}); ` +
              `giving up after ${maxRetries} retries`
          )
          return
        }
        emit({ _tag: 'ChunkRetried', chunk: job.chunk, attempt: item.attempts, reason: outcome.reason })
        queue.unshift(item)
      }
    }

    await Promise.all(slots.map(loop))
    if (failure !== undefined) return E.left(failure)
    const done = results.filter((r): r is ChunkResult => r !== undefined)
    if (done.length !== jobs.length)
      throw new Error(`sampler: ${jobs.length - done.length} chunks have no result and no error (a bug)`)
    return E.right(done)
  }

  // ---- requests -----------------------------------------------------------------------------------

  const sampleNow = async (u: unknown): Promise<E.Either<TmamlError, ReadonlyArray<EpisodeBatch>>> => {
    if (closed) return E.left(closedError)
    const valid = validateRequest(u)
    if (E.isLeft(valid)) return valid
    const req = valid.right
    const total = req.tasks.length * req.episodesPerTask
    const ranges = planChunks(total, Math.max(1, workers) * (workers === 0 ? 1 : chunksPerWorker), maxChunkEpisodes)
    const jobs = ranges.map((range, c) => chunkJob(req, c, range))
    const results = workers === 0 ? await runHere(jobs) : await runOnWorkers(jobs)
    if (E.isLeft(results)) return results
    for (const r of results.right) {
      const job = jobs[r.chunk]
      for (const ev of r.events) {
        const task = job.taskIds[ev.env]
        const episode = job.episodeIds[ev.env]
        emit(
          ev.kind === 'diverged'
            ? { _tag: 'Divergence', task, episode, message: ev.message }
            : { _tag: 'EnvWarning', task, episode, message: ev.message }
        )
      }
    }
    return E.right(assemble(req, jobs, results.right))
  }

  let tail: Promise<unknown> = Promise.resolve()

  return E.right({
    workers,
    sample: (req) => {
      const run = tail.then(() => sampleNow(req))
      tail = run.catch(() => undefined)
      return run
    },
    close: async () => {
      if (closed) return
      closed = true
      const handles = await Promise.all(slots.map((s) => s.handle))
      await Promise.all(handles.map((h) => (E.isRight(h) ? h.right.terminate() : undefined)))
      await tail
      localCache.clear()
    }
  })
}
