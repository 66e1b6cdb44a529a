/**
 * The sampler's worker-thread pool: chunks (`runChunk`) on worker threads with one MuJoCo module each,
 * or in the calling thread (`workers: 0`). Shared by `makeSampler` (one request's chunks at a time) and
 * by any server of chunks that gets them one by one, concurrently (the distributed worker of
 * src/distributed): jobs of every `run` call wait in one queue, and an idle thread takes the next.
 *
 * A chunk whose thread dies (crash, `process.exit`, `terminate()`) or exceeds its time limit is re-run
 * on a fresh thread, at most `maxRetries` times; then its `run` call fails with a `ResourceError` naming
 * the chunk. A dead thread is replaced. Results do not depend on which thread ran what.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { resourceError, type TmamlError } from '../../base/errors.js'
import { makeEnvCache, runChunk } from './chunk.js'
import type { ChunkJob, ChunkResult } from './protocol.js'
import { samplerWorkerPath, startSamplerWorker, type SamplerWorker } from './samplerWorker.js'
import type { SamplerOptions, SamplerEvent } from './types.js'

/**
 * Options of `makeChunkPool` (the defaults are `makeSampler`'s).
 *
 * @category model
 */
export interface ChunkPoolOptions {
  /** 0: run chunks in the calling thread; n >= 1: n worker threads. */
  readonly workers: number
  /** Receives `WorkerStarted`, `WorkerDied`, `WorkerReplaced` and `ChunkRetried`. */
  readonly onEvent?: (e: SamplerEvent) => void
  readonly maxRetries: number
  readonly chunkTimeoutMs: { readonly base: number; readonly perStep: number }
  readonly startTimeoutMs: number
  readonly cacheEnvs: boolean
  /** How threads are created (`SamplerOptions.spawnWorker`; tests start faulty ones). */
  readonly spawnWorker?: SamplerOptions['spawnWorker']
}

/**
 * A pool of chunk runners.
 *
 * @category model
 */
export interface ChunkPool {
  readonly workers: number
  /**
   * Run `jobs`: results in the order of `jobs`; `onDone(result, worker)` as each chunk finishes
   * (`worker` is the thread's slot, -1 for the calling thread), called once the thread has been given
   * its next chunk, so a listener that computes does not keep it idle. The first failure ends the call
   * (its jobs not yet started are dropped), as does `signal` aborting (a `ResourceError`). Calls may
   * overlap: their jobs share the threads, first come first served.
   */
  readonly run: (
    jobs: ReadonlyArray<ChunkJob>,
    onDone?: (result: ChunkResult, worker: number) => void,
    signal?: AbortSignal
  ) => Promise<E.Either<TmamlError, ReadonlyArray<ChunkResult>>>
  /** Stop the threads and free the envs; running and later calls fail. Idempotent. */
  readonly close: () => Promise<void>
}

/** `chunk 3 (20 episodes: task 2 episode 0 to task 2 episode 19)`. */
export const describeChunk = (job: ChunkJob): string => {
  const n = job.taskIds.length
  return (
    `chunk ${job.chunk} (${n} episodes: task ${job.taskIds[0]} episode ${job.episodeIds[0]} ` +
    `to task ${job.taskIds[n - 1]} episode ${job.episodeIds[n - 1]})`
  )
}

const bugError = (err: unknown): TmamlError =>
  resourceError('sampler', `a bug: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)

interface Slot {
  readonly index: number
  handle: Promise<E.Either<TmamlError, SamplerWorker>>
  busy: boolean
}

/** One `run` call in progress. */
interface Batch {
  readonly results: Array<ChunkResult | undefined>
  remaining: number
  failure: TmamlError | undefined
  readonly onDone: ((result: ChunkResult, worker: number) => void) | undefined
  readonly finish: () => void
}

interface Item {
  readonly batch: Batch
  /** Index of the job in its batch. */
  readonly at: number
  readonly job: ChunkJob
  attempts: number
}

/**
 * Start a pool (and wait until every thread has loaded its MuJoCo module); a `Left` if a thread cannot
 * start (e.g. the compiled worker is missing: run `npx tsc -p .`).
 *
 * @category constructors
 */
export const makeChunkPool = async (opts: ChunkPoolOptions): Promise<E.Either<TmamlError, ChunkPool>> => {
  const { workers, maxRetries, chunkTimeoutMs: timeouts, startTimeoutMs, cacheEnvs } = opts
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
  const cancelledError = resourceError('sampler', 'the request was cancelled')

  // ---- threads ------------------------------------------------------------------------------------

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
        // An idle worker is replaced at once; a busy one by the chunk that was using it.
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

  // ---- dispatch -----------------------------------------------------------------------------------

  const queue: Item[] = []
  const batches = new Set<Batch>()

  const fail = (batch: Batch, error: TmamlError): void => {
    if (batch.failure !== undefined || batch.remaining === 0) return
    batch.failure = error
    batch.finish()
  }

  const done = (item: Item, result: ChunkResult, worker: number): void => {
    const { batch } = item
    if (batch.failure !== undefined || batch.results[item.at] !== undefined) return
    batch.results[item.at] = result
    batch.onDone?.(result, worker)
    batch.remaining--
    if (batch.remaining === 0) batch.finish()
  }

  const nothing = (): void => undefined

  /**
   * Run one queued item on `slot`; requeue it at the front when its thread was lost, fail its batch
   * when it failed. Resolves to what remains once the thread is free again: reporting a finished chunk.
   */
  const runOn = async (slot: Slot, item: Item): Promise<() => void> => {
    const { batch, job } = item
    const w = await ensure(slot)
    if (E.isLeft(w)) {
      fail(batch, w.left)
      return nothing
    }
    const timeoutMs = Math.round(timeouts.base + timeouts.perStep * job.taskIds.length * job.horizon)
    const outcome = await w.right.run(job, timeoutMs)
    if (outcome._tag === 'Done') {
      const { result } = outcome
      if (E.isRight(result)) return () => done(item, result.right, slot.index)
      fail(batch, result.left)
      return nothing
    }
    if (closed) {
      fail(batch, closedError)
      return nothing
    }
    item.attempts++
    if (item.attempts > maxRetries) {
      fail(
        batch,
        resourceError(
          'sampler',
          `${describeChunk(job)} was lost ${item.attempts} times (last: ${outcome.reason}); ` +
            `giving up after ${maxRetries} retries`
        )
      )
      return nothing
    }
    emit({ _tag: 'ChunkRetried', chunk: job.chunk, attempt: item.attempts, reason: outcome.reason })
    queue.unshift(item)
    return nothing
  }

  /** Give idle threads the next items of unfinished batches. */
  const pump = (): void => {
    for (const slot of slots) {
      if (slot.busy) continue
      let item = queue.shift()
      while (item !== undefined && item.batch.failure !== undefined) item = queue.shift()
      if (item === undefined) return
      slot.busy = true
      const taken = item
      void runOn(slot, taken).then(
        (report) => {
          slot.busy = false
          pump()
          report()
        },
        (err: unknown) => {
          slot.busy = false
          fail(taken.batch, bugError(err))
          pump()
        }
      )
    }
  }

  const localCache = makeEnvCache(cacheEnvs)
  /** The chunks running in this thread: the env cache is cleared only after them. */
  let here: Promise<void> = Promise.resolve()

  const runHere = async (batch: Batch, jobs: ReadonlyArray<ChunkJob>): Promise<void> => {
    for (const [at, job] of jobs.entries()) {
      if (closed) return fail(batch, closedError)
      if (batch.failure !== undefined) return
      const r = await runChunk(job, localCache)
      if (E.isLeft(r)) return fail(batch, r.left)
      done({ batch, at, job, attempts: 0 }, r.right, -1)
    }
  }

  return E.right({
    workers,
    run: (jobs, onDone, signal) =>
      new Promise((resolve) => {
        if (closed) return resolve(E.left(closedError))
        if (signal?.aborted === true) return resolve(E.left(cancelledError))
        if (jobs.length === 0) return resolve(E.right([]))
        const batch: Batch = {
          results: jobs.map(() => undefined),
          remaining: jobs.length,
          failure: undefined,
          onDone,
          finish: () => {
            batches.delete(batch)
            signal?.removeEventListener('abort', cancel)
            if (batch.failure !== undefined) return resolve(E.left(batch.failure))
            const all = batch.results.filter((r): r is ChunkResult => r !== undefined)
            if (all.length !== jobs.length)
              throw new Error(`sampler: ${jobs.length - all.length} chunks have no result and no error (a bug)`)
            resolve(E.right(all))
          }
        }
        const cancel = (): void => fail(batch, cancelledError)
        signal?.addEventListener('abort', cancel)
        batches.add(batch)
        if (workers === 0) {
          here = here.then(() => runHere(batch, jobs)).catch((err: unknown) => fail(batch, bugError(err)))
          return
        }
        jobs.forEach((job, at) => queue.push({ batch, at, job, attempts: 0 }))
        pump()
      }),
    close: async () => {
      if (closed) return
      closed = true
      queue.length = 0
      for (const b of [...batches]) fail(b, closedError)
      const handles = await Promise.all(slots.map((s) => s.handle))
      await Promise.all(handles.map((h) => (E.isRight(h) ? h.right.terminate() : undefined)))
      await here
      localCache.clear()
    }
  })
}
