/**
 * The two forms of a `Sampler` and how each is derived from the other: `sample$` (an Observable of
 * per-task batches as they finish, the primitive of the local and the distributed sampler) and
 * `sample` (a promise of every task's batch, in slot order). A sampler built here cannot have forms
 * that disagree.
 *
 * @example
 * const s = streamSampler({ workers: 0, sample$: (req) => mySample$(req), close: async () => undefined })
 * s.sample$(req).subscribe((batch) => console.log('task', batch.task, 'done'))
 * const all = await s.sample(req) // Either<TmamlError, ReadonlyArray<EpisodeBatch>>
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { Observable, defer, from, lastValueFrom, mergeMap, throwError, toArray } from 'rxjs'
import { type TmamlError, formatError, resourceError } from '../../base/errors.js'
import { type ChunkJob, type ChunkResult } from './protocol.js'
import { type ValidRequest, validateRequest } from './request.js'
import { taskAssembler } from './chunk.js'
import type { EpisodeBatch, RolloutRequest, Sampler } from './types.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/**
 * How a sampler's `sample$` fails: the request was invalid, a chunk failed for good, the sampler was
 * closed or the request cancelled (`error` says which).
 *
 * @category model
 */
export class SampleError extends Error {
  constructor(readonly error: TmamlError) {
    super(`sampler: ${formatError(error)}`)
  }
}

// -------------------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------------------

/** The task id of each slot of `req` (its `taskIds`, or the slot's position). */
export const taskIdsOf = (req: Pick<RolloutRequest, 'tasks' | 'taskIds'>): ReadonlyArray<number> =>
  req.taskIds ?? req.tasks.map((_, k) => k)

/**
 * Every batch of `batch$` (the per-task batches of `req`, in any order), in slot order; a
 * `SampleError` becomes a `Left`. Anything else thrown is a bug and rejects.
 *
 * @category utils
 */
export const collectBatches = async (
  req: RolloutRequest,
  batch$: Observable<EpisodeBatch>
): Promise<E.Either<TmamlError, ReadonlyArray<EpisodeBatch>>> => {
  let got: ReadonlyArray<EpisodeBatch>
  try {
    got = await lastValueFrom(batch$.pipe(toArray()))
  } catch (err) {
    if (err instanceof SampleError) return E.left(err.error)
    throw err
  }
  const ids = taskIdsOf(req)
  const byId = new Map(got.map((b) => [b.task, b]))
  const out = ids.map((id) => byId.get(id))
  if (got.length !== ids.length || out.some((b) => b === undefined))
    throw new Error(
      `sampler: ${got.length} batches for tasks ${got.map((b) => b.task).join(',')} of [${ids.join(',')}]`
    )
  return E.right(out as ReadonlyArray<EpisodeBatch>)
}

// -------------------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------------------

/**
 * A sampler from its streaming form: `sample` collects `sample$`.
 *
 * @category constructors
 */
export const streamSampler = (s: Omit<Sampler, 'sample'>): Sampler => ({
  workers: s.workers,
  sample$: s.sample$,
  sample: (req) => collectBatches(req, s.sample$(req)),
  close: s.close
})

/** How a chunked sampler runs one request's chunk jobs (see `chunkedSampler`). */
export interface ChunkRunner<P extends { readonly jobs: ReadonlyArray<ChunkJob> }> {
  readonly workers: number
  /** Who is speaking in errors ("sampler", "redis sampler at ..."). */
  readonly where: string
  /** The request's chunk jobs (and anything else `run` needs of the plan). */
  readonly plan: (req: ValidRequest) => P
  /**
   * Run every job of `planned`, calling `onChunk` once per job as its result arrives; resolve when all
   * did or to what failed. `signal` aborts when the subscriber unsubscribes.
   */
  readonly run: (
    req: ValidRequest,
    planned: P,
    onChunk: (job: ChunkJob, result: ChunkResult) => void,
    signal: AbortSignal
  ) => Promise<E.Either<TmamlError, unknown>>
  /** Release the runner's resources; called once, by the sampler's first `close`. */
  readonly close: () => Promise<void>
}

/**
 * A sampler whose requests are planned into chunk jobs and run by `r`: the one definition of what
 * `sample$` does around the running (refuse after close, validate the request, assemble each task's
 * batch from its chunks and emit it when the last one arrives, abort on unsubscribe). The local pool
 * and the Redis sampler differ only in their `ChunkRunner`.
 *
 * @category constructors
 */
export const chunkedSampler = <P extends { readonly jobs: ReadonlyArray<ChunkJob> }>(r: ChunkRunner<P>): Sampler => {
  let closed = false
  const closedError = resourceError(r.where, 'the sampler was closed')
  return streamSampler({
    workers: r.workers,
    sample$: (u) =>
      new Observable<EpisodeBatch>((sub) => {
        if (closed) return sub.error(new SampleError(closedError))
        const valid = validateRequest(u)
        if (E.isLeft(valid)) return sub.error(new SampleError(valid.left))
        const req = valid.right
        const planned = r.plan(req)
        const tasks = taskAssembler(req, planned.jobs)
        const cancel = new AbortController()
        void r
          .run(req, planned, (job, result) => tasks.add(job, result).forEach((b) => sub.next(b)), cancel.signal)
          .then((res) => (E.isLeft(res) ? sub.error(new SampleError(res.left)) : sub.complete()))
        return () => cancel.abort()
      }),
    close: async () => {
      if (closed) return
      closed = true
      await r.close()
    }
  })
}

/**
 * A sampler from its promise form (a wrapper, a test double): `sample$` emits every batch once the
 * promise resolves, so nothing streams, and it cannot cancel.
 *
 * @category constructors
 */
export const promiseSampler = (s: Omit<Sampler, 'sample$'>): Sampler => ({
  workers: s.workers,
  sample$: (req) =>
    defer(() => from(s.sample(req))).pipe(
      mergeMap((r) => (E.isLeft(r) ? throwError(() => new SampleError(r.left)) : from(r.right)))
    ),
  sample: s.sample,
  close: s.close
})
