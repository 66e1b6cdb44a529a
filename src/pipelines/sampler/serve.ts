/**
 * What a sampler worker thread does: load its own MuJoCo module once, then run the chunks it is sent
 * (`runChunk`) and post the results back, transferring their arrays. `worker.ts` is the thread's entry
 * point; a script of one's own (for instance one that wraps `port`) may call `serveChunks` the same way.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { threadId } from 'node:worker_threads'
import { decodeWith, formatError, resourceError, type TmamlError } from '../../base/errors.js'
import { loadMujoco } from '../../envs/mujoco.js'
import { makeEnvCache, runChunk } from './chunk.js'
import { type ChunkResult, type FromWorker, ToWorker } from './protocol.js'
import type { SamplerWorkerData } from './types.js'

/** The side of a message channel a worker talks through (`parentPort` in a worker thread). */
export interface WorkerPort {
  readonly on: (event: 'message', listener: (raw: unknown) => void) => unknown
  readonly postMessage: (msg: FromWorker, transfer?: ReadonlyArray<ArrayBuffer>) => void
}

const transferables = (r: ChunkResult): ArrayBuffer[] =>
  [r.obs, r.actions, r.rewards, r.mask, r.terminated, r.diverged, r.lastObs].map((a) => a.buffer as ArrayBuffer)

/**
 * Answer chunk requests on `port`, and post `ready` once this thread's MuJoCo module is loaded.
 *
 * @category constructors
 */
export const serveChunks = (port: WorkerPort, data: SamplerWorkerData): void => {
  const cache = makeEnvCache(data.cacheEnvs)
  const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer)

  port.on('message', (raw: unknown) => {
    const rawId = typeof raw === 'object' && raw !== null && 'id' in raw ? raw.id : undefined
    const id = typeof rawId === 'number' ? rawId : -1
    const msg = decodeWith(ToWorker, 'sampler worker request')(raw)
    if (E.isLeft(msg)) return post({ kind: 'result', id, result: msg })
    const { job } = msg.right
    runChunk(job, cache).then(
      (result) => post({ kind: 'result', id, result }, E.isRight(result) ? transferables(result.right) : []),
      (err: unknown) => {
        // A bug (exceptions are for bugs): report it to the request rather than dying.
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
        const left: E.Either<TmamlError, never> = E.left(
          resourceError(`sampler worker ${threadId}`, `chunk ${job.chunk} failed: ${message}`)
        )
        post({ kind: 'result', id, result: left })
      }
    )
  })

  void loadMujoco().then((mj) =>
    post({ kind: 'ready', threadId, mujoco: E.isRight(mj), message: E.isLeft(mj) ? formatError(mj.left) : '' })
  )
}
