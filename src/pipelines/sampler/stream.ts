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
import { type Observable, defer, from, lastValueFrom, mergeMap, throwError, toArray } from 'rxjs'
import { type TmamlError, formatError } from '../../base/errors.js'
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
