/**
 * The environment worker thread: a MuJoCo module of its own, answering `WorkerRequest`s (record a
 * trajectory, time random steps) with `WorkerResponse`s. Start it with `startEnvWorker`
 * (`workerClient.ts`); it runs from the compiled `dist/envs/worker.js`.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { parentPort } from 'node:worker_threads'
import { decodeWith, resourceError, type TmamlError } from '../base/errors.js'
import { recordTrajectory, timeRandomSteps } from './rollout.js'
import { WorkerRequest, type WorkerResponse } from './workerProtocol.js'

/** Increment the shared counter and wait (blocking this worker only) until `parties` have arrived. */
const arriveAndWait = (barrier: SharedArrayBuffer, parties: number): void => {
  const counter = new Int32Array(barrier)
  Atomics.add(counter, 0, 1)
  Atomics.notify(counter, 0)
  for (;;) {
    const arrived = Atomics.load(counter, 0)
    if (arrived >= parties) return
    Atomics.wait(counter, 0, arrived, 100)
  }
}

const handle = async (msg: unknown): Promise<WorkerResponse> => {
  const rawId = typeof msg === 'object' && msg !== null && 'id' in msg ? msg.id : undefined
  const id = typeof rawId === 'number' ? rawId : -1
  const req = decodeWith(WorkerRequest, 'envs worker request')(msg)
  if (E.isLeft(req)) return { id, result: req }
  const r = req.right
  try {
    const result: E.Either<TmamlError, unknown> =
      r.kind === 'trajectory'
        ? await recordTrajectory(r)
        : await timeRandomSteps(r, () => {
            if (r.barrier !== undefined) arriveAndWait(r.barrier, r.parties)
          })
    return { id, result }
  } catch (err) {
    // A bug (exceptions are for bugs): report it to the caller of this request rather than dying.
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
    return { id, result: E.left(resourceError('envs worker', `request ${id} failed: ${message}`)) }
  }
}

if (parentPort === null) {
  console.error('envs/worker.js runs as a worker thread: start it with startEnvWorker() from envs/workerClient.js')
  process.exitCode = 2
} else {
  const port = parentPort
  port.on('message', (msg: unknown) => {
    void handle(msg).then((res) => port.postMessage(res))
  })
}
