/**
 * The names this project uses in Redis: BullMQ queues under the prefix `tmaml`, and plain keys under
 * `tmaml:`. A request's keys are named by its run and content digest, a chunk's job id by (run,
 * stream, task, chunk) and the digest, so a chunk enqueued or run twice is one job and one result.
 *
 * @packageDocumentation
 */

/** The BullMQ key prefix of every queue. */
export const queuePrefix = 'tmaml'

/** The queue of rollout chunks and the queue of whole training runs (sweeps). */
export const queueNames = { chunks: 'chunks', runs: 'runs' } as const

/** Sorted set of live chunk workers (score: the time of their last heartbeat, ms). */
export const workersKey = 'tmaml:workers'

/** The keys of one request. */
export interface RequestKeys {
  readonly meta: string
  readonly params: (index: number) => string
  readonly result: (chunk: number) => string
  /** A list of `DoneNote`s, pushed by workers, popped by the learner. */
  readonly done: string
}

export const requestKeys = (run: string, digest: string): RequestKeys => {
  const base = `tmaml:req:${run}:${digest}`
  return {
    meta: `${base}:meta`,
    params: (i) => `${base}:params:${i}`,
    result: (c) => `${base}:result:${c}`,
    done: `${base}:done`
  }
}

const safe = (s: string | number): string => String(s).replace(/[^A-Za-z0-9._-]/g, '_')

/**
 * The BullMQ job id of a chunk: `<run>/<stream...>/t<task>/c<chunk>/<digest>` (BullMQ ids may not
 * contain `:`).
 */
export const chunkJobId = (
  run: string,
  stream: ReadonlyArray<string | number>,
  task: number,
  chunk: number,
  digest: string
): string => [run, ...stream.map(safe), `t${task}`, `c${chunk}`, digest].join('/')
