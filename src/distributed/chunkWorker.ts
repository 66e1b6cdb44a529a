/**
 * The serving end of the distributed sampler (`tmaml worker`): a BullMQ worker on the queue
 * `tmaml:chunks` whose jobs run on the sampler's own worker-thread pool (`makeChunkPool`, one MuJoCo
 * module per thread), so this process's event loop stays free to renew the jobs' locks.
 *
 * For each job: its data must decode as a `ChunkJobData` (anything else, e.g. a job of another
 * application, is rejected and never retried); the request it points to is fetched once per process
 * (description and parameter set, cached by digest), checked by `validateRequest` and cut into the
 * chunk's `ChunkJob`, the only thing the rollout code sees. The result is stored once (`SET NX`: a
 * redelivered job finds it there) and a note tells the learner.
 *
 * Failures: a deterministic one (bad request, non-finite action) goes to the learner as its
 * `TmamlError` and the job is not retried; lost threads are retried by the pool, then by BullMQ
 * (`attempts`). A killed worker's jobs are redelivered by BullMQ once their lock expires
 * (`lockDurationMs`) to whichever worker checks for stalled jobs next (`stalledIntervalMs`).
 *
 * @packageDocumentation
 */
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import { UnrecoverableError, Worker, type Job } from 'bullmq'
import { decodeWith, formatError, invalidInput, resourceError, type TmamlError } from '../base/errors.js'
import type { ArrayParams } from '../graph/nn.js'
import { chunkJob } from '../pipelines/sampler/chunk.js'
import { makeChunkPool } from '../pipelines/sampler/pool.js'
import type { ChunkJob } from '../pipelines/sampler/protocol.js'
import { validateRequest } from '../pipelines/sampler/request.js'
import type { SamplerEvent } from '../pipelines/sampler/types.js'
import { connect, waitReady, type RedisTarget } from './connection.js'
import { queueNames, queuePrefix, requestKeys, workersKey } from './keys.js'
import {
  ChunkJobData,
  decodeMeta,
  decodeParams,
  encodeResult,
  requestGoneReason,
  type DoneNote,
  type RequestMeta
} from './wire.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/**
 * What a chunk worker reports: its pool's thread events, and per job.
 *
 * @category model
 */
export type ChunkWorkerEvent =
  | SamplerEvent
  | { readonly _tag: 'ChunkStarted'; readonly job: string }
  | {
      readonly _tag: 'ChunkStored'
      readonly job: string
      /** false: an earlier delivery of the same job had stored it already. */
      readonly stored: boolean
      readonly steps: number
      readonly seconds: number
    }
  | { readonly _tag: 'ChunkFailed'; readonly job: string; readonly message: string; readonly retried: boolean }
  | { readonly _tag: 'JobRejected'; readonly job: string; readonly reason: string }
  | { readonly _tag: 'RedisError'; readonly message: string }

/**
 * Options of `startChunkWorker`.
 *
 * @category model
 */
export interface ChunkWorkerOptions {
  readonly target: RedisTarget
  /** Chunks run at once, one worker thread each (>= 1). */
  readonly concurrency: number
  /** How long a job stays locked without renewal: a killed worker's jobs wait this long. Default 30000 ms. */
  readonly lockDurationMs?: number
  /** How often this worker looks for stalled jobs (of any worker). Default 15000 ms. */
  readonly stalledIntervalMs?: number
  /** Redeliveries of a stalled job before it fails. Default 3. */
  readonly maxStalledCount?: number
  /** How long a stored result is kept if no learner collects it. Default 3600 s. */
  readonly resultTtlSeconds?: number
  readonly connectTimeoutMs?: number
  readonly onEvent?: (e: ChunkWorkerEvent) => void
}

/**
 * A running chunk worker.
 *
 * @category model
 */
export interface ChunkWorker {
  /** `<host>-<pid>-<random>`: BullMQ records it on the jobs this worker takes. */
  readonly name: string
  /** Counts since start. */
  readonly stats: () => ChunkWorkerStats
  /** Stop taking jobs, let the running ones finish, stop the threads. Idempotent. */
  readonly close: () => Promise<void>
}

/**
 * What a chunk worker has done.
 *
 * @category model
 */
export interface ChunkWorkerStats {
  /** Request parts read from Redis (descriptions and parameter sets). */
  readonly fetches: number
  /** Results stored, and results found already stored (redeliveries). */
  readonly stored: number
  readonly alreadyStored: number
  readonly failed: number
  readonly rejected: number
}

// -------------------------------------------------------------------------------------------------
// the worker
// -------------------------------------------------------------------------------------------------

/** A cache of promises by key: each key is fetched once at a time; failures are not kept. */
const makeCache = <A>(capacity: number) => {
  const m = new Map<string, Promise<E.Either<TmamlError, A>>>()
  return (key: string, load: () => Promise<E.Either<TmamlError, A>>): Promise<E.Either<TmamlError, A>> => {
    const hit = m.get(key)
    if (hit !== undefined) return hit
    const p = load().catch((err: unknown) => E.left(resourceError('redis', String(err))))
    m.set(key, p)
    void p.then((r) => {
      if (E.isLeft(r)) m.delete(key)
    })
    while (m.size > capacity) m.delete(m.keys().next().value as string)
    return p
  }
}

/**
 * Start serving chunks: a `Left` if Redis cannot be reached or a thread cannot start.
 *
 * @category constructors
 */
export const startChunkWorker = async (opts: ChunkWorkerOptions): Promise<E.Either<TmamlError, ChunkWorker>> => {
  const { target } = opts
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1)
    return E.left(invalidInput('tmaml worker', `concurrency must be an integer >= 1, got ${opts.concurrency}`))
  const emit = (e: ChunkWorkerEvent): void => {
    try {
      opts.onEvent?.(e)
    } catch (err) {
      process.emitWarning(`chunk worker: the onEvent listener threw on ${e._tag}: ${String(err)}`)
    }
  }
  const name = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  const ttl = opts.resultTtlSeconds ?? 3600

  const cmd = connect(target, 'worker', `tmaml-worker-${name}`)
  const ready = await waitReady(cmd, target, opts.connectTimeoutMs ?? 10_000)
  if (E.isLeft(ready)) {
    cmd.disconnect()
    return ready
  }
  const pool = await makeChunkPool({
    workers: opts.concurrency,
    onEvent: emit,
    maxRetries: 2,
    chunkTimeoutMs: { base: 60_000, perStep: 5 },
    startTimeoutMs: 60_000,
    cacheEnvs: true
  })
  if (E.isLeft(pool)) {
    cmd.disconnect()
    return pool
  }

  const counts = { fetches: 0, stored: 0, alreadyStored: 0, failed: 0, rejected: 0 }
  const metas = makeCache<RequestMeta>(8)
  const paramSets = makeCache<ArrayParams>(64)

  /** The chunk's `ChunkJob`, from the request it points to, checked as the local sampler checks a request. */
  const prepare = async (d: ChunkJobData): Promise<E.Either<TmamlError, ChunkJob>> => {
    const keys = requestKeys(d.run, d.request)
    const gone = resourceError(`request ${d.run}/${d.request}`, requestGoneReason)
    const meta = await metas(keys.meta, async () => {
      counts.fetches++
      const buf = await cmd.getBuffer(keys.meta)
      return buf === null ? E.left(gone) : decodeMeta(buf)
    })
    if (E.isLeft(meta)) return meta
    const m = meta.right
    const where = `chunk job ${d.run}/${d.request}/c${d.chunk}`
    if (d.task >= m.tasks.length || d.start + d.count > m.episodesPerTask)
      return E.left(invalidInput(where, `task ${d.task} episodes ${d.start}+${d.count} are outside the request`))
    if (d.param !== (m.paramSets === 1 ? 0 : d.task))
      return E.left(invalidInput(where, `parameter set ${d.param} is not the one of task ${d.task}`))
    const params = await paramSets(keys.params(d.param), async () => {
      counts.fetches++
      const buf = await cmd.getBuffer(keys.params(d.param))
      return buf === null ? E.left(gone) : decodeParams(m.policy, buf)
    })
    if (E.isLeft(params)) return params
    // The chunk's own task as a one-task request: the same checks as any request.
    const one = validateRequest({
      ...m,
      tasks: [m.tasks[d.task]],
      taskIds: [m.taskIds[d.task]],
      params: [params.right]
    })
    if (E.isLeft(one)) return one
    return E.right(chunkJob(one.right, d.chunk, { start: d.start, count: d.count }))
  }

  const note = async (d: ChunkJobData, n: DoneNote): Promise<void> => {
    const keys = requestKeys(d.run, d.request)
    await cmd.multi().rpush(keys.done, JSON.stringify(n)).expire(keys.done, ttl).exec()
  }

  const processor = async (job: Job): Promise<{ readonly stored: boolean; readonly steps: number }> => {
    const id = job.id ?? '?'
    const reject = (reason: string): never => {
      counts.rejected++
      emit({ _tag: 'JobRejected', job: id, reason })
      throw new UnrecoverableError(reason)
    }
    if (job.name !== 'chunk') reject(`not a tmaml chunk job (name '${String(job.name).slice(0, 40)}')`)
    const data = decodeWith(ChunkJobData, `data of job ${id}`)(job.data)
    if (E.isLeft(data)) return reject(formatError(data.left))
    const d = data.right
    emit({ _tag: 'ChunkStarted', job: id })
    const failed = async (error: TmamlError): Promise<never> => {
      // Deterministic: another run would fail the same way. The learner gets the error itself.
      counts.failed++
      emit({ _tag: 'ChunkFailed', job: id, message: formatError(error), retried: false })
      await note(d, { chunk: d.chunk, ok: false, error })
      throw new UnrecoverableError(formatError(error))
    }
    const prepared = await prepare(d)
    if (E.isLeft(prepared)) return failed(prepared.left)
    const ran = await pool.right.run([prepared.right])
    if (E.isLeft(ran)) {
      if (ran.left._tag !== 'ResourceError') return failed(ran.left)
      counts.failed++
      emit({ _tag: 'ChunkFailed', job: id, message: formatError(ran.left), retried: true })
      throw new Error(formatError(ran.left))
    }
    const r = ran.right[0]
    const keys = requestKeys(d.run, d.request)
    const set = await cmd.set(keys.result(d.chunk), encodeResult(r), 'EX', ttl, 'NX')
    await note(d, { chunk: d.chunk, ok: true })
    if (set === 'OK') counts.stored++
    else counts.alreadyStored++
    emit({ _tag: 'ChunkStored', job: id, stored: set === 'OK', steps: r.steps, seconds: r.seconds })
    return { stored: set === 'OK', steps: r.steps }
  }

  const jobsConnection = connect(target, 'worker', `tmaml-worker-${name}-jobs`)
  const worker = new Worker(queueNames.chunks, processor, {
    connection: jobsConnection,
    prefix: queuePrefix,
    name,
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 15_000,
    maxStalledCount: opts.maxStalledCount ?? 3,
    drainDelay: 1
  })
  worker.on('error', (err) => emit({ _tag: 'RedisError', message: err.message }))

  const beat = (): void => {
    const now = Date.now()
    void cmd
      .multi()
      .zadd(workersKey, now, name)
      .zremrangebyscore(workersKey, 0, now - 60_000)
      .exec()
      .catch(() => undefined)
  }
  beat()
  const heartbeat = setInterval(beat, 2000)

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(heartbeat)
      await worker.close().catch(() => undefined)
      await pool.right.close()
      // Bounded: with the server down, a worker connection would wait for it forever.
      await Promise.race([cmd.zrem(workersKey, name).catch(() => 0), new Promise((r) => setTimeout(r, 1000))])
      cmd.disconnect()
      jobsConnection.disconnect()
    })()
    return closing
  }
  return E.right({ name, stats: () => ({ ...counts }), close })
}
