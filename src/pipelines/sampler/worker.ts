/**
 * A sampler worker thread: loads its own MuJoCo module once, then runs chunks (`runChunk`) on request
 * and posts the results back, transferring their arrays. Started by `makeSampler` from the compiled
 * `dist/pipelines/sampler/worker.js`; `workerData` is `{ cacheEnvs: boolean }`.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { parentPort, threadId, workerData } from 'node:worker_threads'
import { decodeWith, formatError, resourceError, type TmamlError } from '../../base/errors.js'
import { loadMujoco } from '../../envs/mujoco.js'
import { makeEnvCache, runChunk, type ChunkResult } from './chunk.js'
import { ToWorker, type Crash, type FromWorker } from './protocol.js'

/** Thrown by the `'throw'` test hook; rethrown outside any promise so that the thread dies. */
class TestCrash extends Error {}

const crashHook =
  (crash: Crash | undefined) =>
  (t: number): void => {
    if (crash === undefined || t !== crash.afterSteps) return
    if (crash.mode === 'exit') process.exit(3)
    if (crash.mode === 'throw') throw new TestCrash('sampler worker: crash requested by a test hook')
    for (;;) {
      // 'hang': spin until the sampler's chunk timeout terminates this thread.
    }
  }

const transferables = (r: ChunkResult): ArrayBuffer[] =>
  [r.obs, r.actions, r.rewards, r.mask, r.terminated, r.diverged, r.lastObs].map((a) => a.buffer as ArrayBuffer)

const start = (port: NonNullable<typeof parentPort>): void => {
  const keep = typeof workerData === 'object' && workerData !== null && 'cacheEnvs' in workerData
  const cache = makeEnvCache(keep ? workerData.cacheEnvs === true : true)
  const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer)

  port.on('message', (raw: unknown) => {
    const rawId = typeof raw === 'object' && raw !== null && 'id' in raw ? raw.id : undefined
    const id = typeof rawId === 'number' ? rawId : -1
    const msg = decodeWith(ToWorker, 'sampler worker request')(raw)
    if (E.isLeft(msg)) return post({ kind: 'result', id, result: msg })
    const m = msg.right
    runChunk(m.job, cache, crashHook(m.crash)).then(
      (result) => post({ kind: 'result', id, result }, E.isRight(result) ? transferables(result.right) : []),
      (err: unknown) => {
        if (err instanceof TestCrash)
          setTimeout(() => {
            throw err
          })
        else {
          // A bug (exceptions are for bugs): report it to the request rather than dying.
          const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
          const left: E.Either<TmamlError, never> = E.left(
            resourceError(`sampler worker ${threadId}`, `chunk ${m.job.chunk} failed: ${message}`)
          )
          post({ kind: 'result', id, result: left })
        }
      }
    )
  })

  void loadMujoco().then((mj) =>
    post({
      kind: 'ready',
      threadId,
      mujoco: E.isRight(mj),
      message: E.isLeft(mj) ? formatError(mj.left) : ''
    })
  )
}

if (parentPort === null) {
  console.error('pipelines/sampler/worker.js runs as a worker thread: start it with makeSampler()')
  process.exitCode = 2
} else start(parentPort)
