/**
 * The distributed sampler: the `Sampler` interface of src/pipelines/sampler, with chunks run by
 * `tmaml worker` processes on any machine that reaches the same Redis server (BullMQ queue
 * `tmaml:chunks`).
 *
 * 1. The request is validated (`validateRequest`, by `chunkedSampler` as for the local sampler), then uploaded once:
 *    its description and each parameter set under keys named by (run, content digest).
 * 2. Its episodes are split into chunks within a task (at most `maxChunkEpisodes` each), one BullMQ job
 *    per chunk with id (run, stream, task, chunk, digest): the job carries only that reference.
 * 3. A worker stores a chunk's result once (`SET NX`) and pushes a note; the learner pops notes, reads
 *    each result as it arrives (`onChunk`), and every `pollMs` reconciles with the queue: a job that
 *    failed fails the request; a job gone from Redis (a restarted server) is enqueued again, with the
 *    request re-uploaded; with no live worker for `noWorkerTimeoutMs`, the request fails saying so.
 *    While Redis is unreachable the learner keeps retrying for `unreachableTimeoutMs`.
 *
 * Episode (k, e) draws its randomness from `rngAt(seed, 'rollout', ...stream, k, e)` wherever it runs,
 * so the result equals the local sampler's bit for bit, whatever the workers, their number, their
 * deaths and redeliveries.
 *
 * @example
 * const target = parseRedisTarget('redis://10.0.0.5:6379')          // Either<TmamlError, RedisTarget>
 * const sampler = await makeRedisSampler({ target: target.right, run: 'cheetah-s1' })
 * const batches = await sampler.right.sample(request)              // as makeSampler's
 * await sampler.right.close()
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { decodeWith, formatError, invalidInput, resourceError, type TmamlError } from '../base/errors.js'
import { chunkEnvEvents, chunkJob } from '../pipelines/sampler/chunk.js'
import { describeChunk } from '../pipelines/sampler/pool.js'
import type { ChunkJob, ChunkResult } from '../pipelines/sampler/protocol.js'
import type { ValidRequest } from '../pipelines/sampler/request.js'
import { chunkedSampler } from '../pipelines/sampler/stream.js'
import type { Sampler, SamplerEvent } from '../pipelines/sampler/types.js'
import { connect, waitReady, type RedisTarget } from './connection.js'
import { chunkJobId, queueNames, queuePrefix, requestKeys, workersKey, type RequestKeys } from './keys.js'
import {
  RunId,
  decodeNote,
  decodeResult,
  encodeRequest,
  requestGoneReason,
  type ChunkJobData,
  type EncodedRequest
} from './wire.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/**
 * What the distributed sampler reports: the local sampler's `ChunkDone` (with `worker` -1: chunks run
 * elsewhere), `Divergence` and `EnvWarning`, and its own.
 *
 * @category model
 */
export type DistributedEvent =
  | SamplerEvent
  | {
      readonly _tag: 'ChunkRequeued'
      readonly chunk: number
      readonly task: number
      readonly reason: string
    }
  | { readonly _tag: 'RedisUnreachable'; readonly target: string; readonly message: string }
  | { readonly _tag: 'RedisBack'; readonly target: string; readonly seconds: number }

/**
 * Options of `makeRedisSampler`.
 *
 * @category model
 */
export interface RedisSamplerOptions {
  readonly target: RedisTarget
  /** Names this learner's keys and jobs (e.g. its run folder's name): 1-100 of A-Z a-z 0-9 . _ - */
  readonly run: string
  readonly onEvent?: (e: DistributedEvent) => void
  /** Episodes per chunk at most (chunks never span tasks). Default 20. */
  readonly maxChunkEpisodes?: number
  /** Fail a request when no chunk arrived and no worker was alive for this long. Default 60000 ms. */
  readonly noWorkerTimeoutMs?: number
  /** Fail a request when Redis stays unreachable this long. Default 120000 ms. */
  readonly unreachableTimeoutMs?: number
  /** Time to connect at start. Default 10000 ms. */
  readonly connectTimeoutMs?: number
  /** Runs of a chunk whose worker reported a (non-deterministic) failure, before the request fails. Default 3. */
  readonly attempts?: number
  /** How often the queue is reconciled with what arrived. Default 1000 ms. */
  readonly pollMs?: number
}

/**
 * A `Sampler` on Redis: `sample$` emits each task's batch as its last chunk arrives; requests may
 * overlap (each waits for its notes on a connection of its own).
 *
 * @category model
 */
export type RedisSampler = Sampler

// -------------------------------------------------------------------------------------------------
// planning
// -------------------------------------------------------------------------------------------------

/** A chunk of one task's episodes `start .. start + count - 1`. */
export interface TaskChunk {
  readonly task: number
  readonly start: number
  readonly count: number
}

/** Split each task's `episodes` into ceil(episodes / max) chunks whose sizes differ by at most one. */
export const planTaskChunks = (tasks: number, episodes: number, max: number): ReadonlyArray<TaskChunk> => {
  const parts = Math.ceil(episodes / Math.max(1, max))
  const out: TaskChunk[] = []
  for (let task = 0; task < tasks; task++) {
    let start = 0
    for (let p = 0; p < parts; p++) {
      const count = Math.floor(episodes / parts) + (p < episodes % parts ? 1 : 0)
      out.push({ task, start, count })
      start += count
    }
  }
  return out
}

// -------------------------------------------------------------------------------------------------
// the sampler
// -------------------------------------------------------------------------------------------------

interface Planned {
  readonly plan: ReadonlyArray<TaskChunk>
  readonly jobs: ReadonlyArray<ChunkJob>
}

const defaults = {
  maxChunkEpisodes: 20,
  noWorkerTimeoutMs: 60_000,
  unreachableTimeoutMs: 120_000,
  connectTimeoutMs: 10_000,
  attempts: 3,
  pollMs: 1000
} as const

/** A request's parts live this long in Redis; the learner refreshes them while it waits. */
const payloadTtlSeconds = 3600
/** How often one chunk is re-sent after workers found its request gone from Redis, before it fails. */
const maxResends = 5
/** A worker counts as alive while its heartbeat is younger than this. */
export const heartbeatWindowMs = 10_000

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

const checkOptions = (o: RedisSamplerOptions): TmamlError | undefined => {
  const run = decodeWith(RunId, 'makeRedisSampler run')(o.run)
  if (E.isLeft(run)) return run.left
  const positive: ReadonlyArray<readonly [string, number | undefined]> = [
    ['maxChunkEpisodes', o.maxChunkEpisodes],
    ['noWorkerTimeoutMs', o.noWorkerTimeoutMs],
    ['unreachableTimeoutMs', o.unreachableTimeoutMs],
    ['connectTimeoutMs', o.connectTimeoutMs],
    ['attempts', o.attempts],
    ['pollMs', o.pollMs]
  ]
  const bad = positive.find(([, v]) => v !== undefined && !(Number.isInteger(v) && v >= 1))
  return bad === undefined
    ? undefined
    : invalidInput('makeRedisSampler', `${bad[0]} must be an integer >= 1, got ${String(bad[1])}`)
}

/**
 * Connect to Redis and return a sampler whose chunks run on `tmaml worker` processes; a `Left` if the
 * server cannot be reached within `connectTimeoutMs` (the message names it and what to check).
 *
 * @category constructors
 */
export const makeRedisSampler = async (opts: RedisSamplerOptions): Promise<E.Either<TmamlError, RedisSampler>> => {
  const bad = checkOptions(opts)
  if (bad !== undefined) return E.left(bad)
  const { target, run } = opts
  const o = { ...defaults, ...opts }
  const where = `redis sampler (${target.shown})`
  const emit = (e: DistributedEvent): void => {
    try {
      opts.onEvent?.(e)
    } catch (err) {
      process.emitWarning(`redis sampler: the onEvent listener threw on ${e._tag}: ${String(err)}`)
    }
  }

  const client = connect(target, 'client', `tmaml-learner-${run}`)
  const blocking = connect(target, 'client', `tmaml-learner-${run}-notes`)
  // BLPOP holds its connection: each request in flight waits on one of these (made when needed).
  const noteConnections: Redis[] = [blocking]
  const idleNoteConnections: Redis[] = [blocking]
  const disconnect = (): void => {
    client.disconnect()
    noteConnections.forEach((r) => r.disconnect())
  }
  for (const r of [client, blocking]) {
    const ready = await waitReady(r, target, o.connectTimeoutMs)
    if (E.isLeft(ready)) {
      disconnect()
      return ready
    }
  }
  const queue = new Queue<ChunkJobData>(queueNames.chunks, { connection: client, prefix: queuePrefix })
  queue.on('error', () => undefined) // failures surface in the commands that use it
  let closed = false
  const closedError = resourceError(where, 'the sampler was closed')
  const cancelledError = resourceError(where, 'the request was cancelled')

  // ---- one request ----------------------------------------------------------------------------------

  const upload = async (keys: RequestKeys, enc: EncodedRequest): Promise<void> => {
    const m = client.multi().set(keys.meta, enc.meta, 'EX', payloadTtlSeconds)
    enc.params.forEach((p, i) => m.set(keys.params(i), p, 'EX', payloadTtlSeconds))
    await m.exec()
  }

  /** A request's chunks within tasks (slot `task`) and their jobs. */
  const planFor = (req: ValidRequest): Planned => {
    const E_ = req.episodesPerTask
    const plan = planTaskChunks(req.tasks.length, E_, o.maxChunkEpisodes)
    return { plan, jobs: plan.map((p, c) => chunkJob(req, c, { start: p.task * E_ + p.start, count: p.count })) }
  }

  /** One request: `onChunk` gets each chunk once as its result arrives; resolves when all did, or to what failed. */
  const run1 = async (
    req: ValidRequest,
    planned: Planned,
    onChunk: (job: ChunkJob, result: ChunkResult) => void,
    cancelled: () => boolean
  ): Promise<E.Either<TmamlError, void>> => {
    const notes =
      idleNoteConnections.pop() ??
      (() => {
        const r = connect(target, 'client', `tmaml-learner-${run}-notes-${noteConnections.length}`)
        noteConnections.push(r)
        return r
      })()
    try {
      return await runOn(req, planned, onChunk, cancelled, notes)
    } finally {
      idleNoteConnections.push(notes)
    }
  }

  const runOn = async (
    req: ValidRequest,
    { plan, jobs }: Planned,
    onChunk: (job: ChunkJob, result: ChunkResult) => void,
    cancelled: () => boolean,
    blocking: Redis
  ): Promise<E.Either<TmamlError, void>> => {
    const enc = encodeRequest(req)
    const keys = requestKeys(run, enc.digest)
    const ids = plan.map((p, c) => chunkJobId(run, req.stream, p.task, c, enc.digest))
    const shared = req.params.length === 1
    const spec = (c: number) => {
      const p = plan[c]
      const data: ChunkJobData = {
        v: 1,
        run,
        request: enc.digest,
        chunk: c,
        task: p.task,
        start: p.start,
        count: p.count,
        param: shared ? 0 : p.task
      }
      return {
        name: 'chunk',
        data,
        opts: {
          jobId: ids[c],
          attempts: o.attempts,
          backoff: { type: 'fixed', delay: 200 },
          removeOnComplete: true,
          removeOnFail: { age: 3600 }
        }
      }
    }

    const outstanding = new Set(plan.map((_, c) => c))
    let failure: TmamlError | undefined
    let lastAlive = Date.now()
    let lastReconcile = 0
    let unreachableSince: number | undefined
    const fail = (e: TmamlError): void => {
      failure ??= e
    }

    const collect = async (c: number): Promise<boolean> => {
      const buf = await client.getBuffer(keys.result(c))
      if (buf === null) return false
      if (!outstanding.has(c)) return true
      const r = decodeResult(buf, jobs[c], req.policy)
      if (E.isLeft(r)) {
        fail(r.left)
        return true
      }
      outstanding.delete(c)
      lastAlive = Date.now()
      emit({
        _tag: 'ChunkDone',
        chunk: c,
        worker: -1,
        episodes: r.right.n,
        steps: r.right.steps,
        seconds: r.right.seconds,
        heapBytes: r.right.heapBytes
      })
      chunkEnvEvents(jobs[c], r.right).forEach(emit)
      try {
        onChunk(jobs[c], r.right)
      } catch (err) {
        fail(resourceError(where, `the onChunk callback threw: ${message(err)}`))
      }
      return true
    }

    // A worker that read the description after the server lost it (a restart between its taking the
    // job and reading): upload it again and re-enqueue the chunk, a few times at most.
    const resent = new Map<number, number>()
    const resend = async (c: number): Promise<boolean> => {
      const n = resent.get(c) ?? 0
      if (n >= maxResends) return false
      resent.set(c, n + 1)
      await upload(keys, enc)
      await requeue(c, 'a worker found the request gone from Redis (was the server restarted?)')
      return true
    }
    const gone = (reason: string | undefined): boolean => reason?.includes(requestGoneReason) === true

    const onNote = async (raw: string): Promise<void> => {
      const note = decodeNote(raw)
      if (E.isLeft(note)) return fail(note.left)
      const n = note.right
      if (!outstanding.has(n.chunk)) return
      if (!n.ok) {
        if (gone(formatError(n.error)) && (await resend(n.chunk))) return
        return fail(n.error)
      }
      await collect(n.chunk)
    }

    const requeue = async (c: number, reason: string): Promise<void> => {
      await queue.remove(ids[c]).catch(() => 0)
      await queue.addBulk([spec(c)])
      emit({ _tag: 'ChunkRequeued', chunk: c, task: plan[c].task, reason })
    }

    const reconcile = async (): Promise<void> => {
      lastReconcile = Date.now()
      // A missing description means the server lost it (a restart without persistence): upload again.
      const kept = await client.expire(keys.meta, payloadTtlSeconds)
      if (kept === 0) await upload(keys, enc)
      else {
        const m = client.multi()
        enc.params.forEach((_, i) => m.expire(keys.params(i), payloadTtlSeconds))
        await m.exec()
      }
      for (const c of [...outstanding]) {
        const state = await queue.getJobState(ids[c])
        if (state === 'failed') {
          const job = await queue.getJob(ids[c])
          if (gone(job?.failedReason) && (await resend(c))) continue
          return fail(
            resourceError(
              where,
              `${describeChunk(jobs[c])} failed on a worker: ${job?.failedReason ?? 'no reason recorded'}`
            )
          )
        }
        if (state === 'completed' || state === 'unknown') {
          if (await collect(c)) continue
          await requeue(
            c,
            state === 'unknown'
              ? 'its job was gone from Redis (was the server restarted?)'
              : 'its job completed but its result was gone from Redis'
          )
        }
      }
      const live = await client.zcount(workersKey, Date.now() - heartbeatWindowMs, '+inf')
      if (live > 0) lastAlive = Date.now()
      if (outstanding.size > 0 && Date.now() - lastAlive > o.noWorkerTimeoutMs)
        fail(
          resourceError(
            where,
            `no tmaml worker is alive and no chunk arrived for ${Math.round(o.noWorkerTimeoutMs / 1000)} s ` +
              `(${outstanding.size} of ${plan.length} chunks waiting); start one on any machine that reaches ` +
              `this server: npx tmaml worker --redis ${target.shown}`
          )
        )
    }

    let enqueued = false
    try {
      while (outstanding.size > 0 && failure === undefined) {
        if (closed || cancelled()) {
          fail(closed ? closedError : cancelledError)
          break
        }
        try {
          if (!enqueued) {
            await upload(keys, enc)
            // A job of an earlier identical request that failed (its learner gone) would stand in for this one's.
            const states = await Promise.all(ids.map((id) => queue.getJobState(id)))
            await Promise.all(ids.filter((_, c) => states[c] === 'failed').map((id) => queue.remove(id)))
            await queue.addBulk(plan.map((_, c) => spec(c)))
            enqueued = true
          }
          const popped = await blocking.blpop(keys.done, 0.5)
          if (unreachableSince !== undefined) {
            emit({ _tag: 'RedisBack', target: target.shown, seconds: (Date.now() - unreachableSince) / 1000 })
            unreachableSince = undefined
          }
          if (popped !== null) await onNote(popped[1])
          if (failure === undefined && (popped === null || Date.now() - lastReconcile >= o.pollMs)) await reconcile()
        } catch (err) {
          const now = Date.now()
          if (unreachableSince === undefined) {
            unreachableSince = now
            emit({ _tag: 'RedisUnreachable', target: target.shown, message: message(err) })
          } else if (now - unreachableSince > o.unreachableTimeoutMs)
            fail(
              resourceError(
                where,
                `Redis has been unreachable for ${Math.round((now - unreachableSince) / 1000)} s (${message(err)}); ` +
                  'the request was abandoned'
              )
            )
          lastAlive = now // an outage is not a missing worker
          await sleep(200)
        }
      }
    } finally {
      // Best effort: leftovers expire with their TTL anyway.
      const left = failure !== undefined ? [...outstanding] : []
      await Promise.all(left.map((c) => queue.remove(ids[c]).catch(() => 0))).catch(() => undefined)
      await client
        .unlink(
          keys.meta,
          keys.done,
          ...enc.params.map((_, i) => keys.params(i)),
          ...plan.map((_, c) => keys.result(c))
        )
        .catch(() => 0)
    }
    return failure !== undefined ? E.left(failure) : E.right(undefined)
  }

  const inFlight = new Set<Promise<unknown>>()

  return E.right(
    chunkedSampler({
      workers: 0,
      where,
      plan: planFor,
      run: (req, planned, onChunk, signal) => {
        const running = run1(req, planned, onChunk, () => signal.aborted)
        inFlight.add(running)
        void running.finally(() => inFlight.delete(running))
        return running
      },
      close: async () => {
        // run1 sees this flag and fails its request with closedError; then wait for each to clean up.
        closed = true
        await Promise.all([...inFlight])
        await queue.close().catch(() => undefined)
        disconnect()
      }
    })
  )
}

/**
 * One line for an event worth telling a user, or null; the events the local sampler has too are worded
 * by `local`.
 */
export const describeDistributedEvent = (
  e: DistributedEvent,
  local: (e: SamplerEvent) => string | null
): string | null => {
  switch (e._tag) {
    case 'ChunkRequeued':
      return `redis sampler: chunk ${e.chunk} (task ${e.task}) enqueued again: ${e.reason}`
    case 'RedisUnreachable':
      return `redis sampler: ${e.target} is unreachable (${e.message}); retrying`
    case 'RedisBack':
      return `redis sampler: ${e.target} is back after ${e.seconds.toFixed(1)} s`
    default:
      return local(e)
  }
}
