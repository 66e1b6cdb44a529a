/**
 * Start and talk to environment worker threads (`worker.ts`): each has its own MuJoCo module, so work
 * split across workers runs in parallel (one worker per core; more gives nothing).
 *
 * The worker runs compiled JavaScript: `dist/envs/worker.js`, built by `npx tsc -p .` (`npm run build`).
 * When this module itself runs from TypeScript sources (tests), the compiled worker is looked up in
 * `dist/` next to `src/`.
 *
 * @example
 * const w = startEnvWorker()                       // Either<TmamlError, EnvWorker>
 * const traj = await w.right.trajectory({ envId: 'halfcheetah-vel', n: 1, tasks: [{ velocity: 1 }], seed: 3, steps, actions })
 * await w.right.terminate()
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type * as t from 'io-ts'
import { decodeWith, resourceError, type TmamlError } from '../base/errors.js'
import type { Timing, TimingRequest, Trajectory, TrajectoryRequest } from './rollout.js'
import { TimingResult, TrajectoryResult, WorkerResponse, type WorkerRequest } from './workerProtocol.js'

/** A running worker thread. */
export interface EnvWorker {
  /** Record a trajectory in the worker (same result as `recordTrajectory` on this thread). */
  readonly trajectory: (req: TrajectoryRequest) => Promise<E.Either<TmamlError, Trajectory>>
  /**
   * Time random steps in the worker. With `sync`, the worker waits after its warm-up until `parties`
   * workers sharing `barrier` (a `SharedArrayBuffer` of at least 4 bytes, zeroed) have arrived.
   */
  readonly time: (
    req: TimingRequest,
    sync?: { readonly barrier: SharedArrayBuffer; readonly parties: number }
  ) => Promise<E.Either<TmamlError, Timing>>
  /** Stop the thread; pending requests resolve to an error. */
  readonly terminate: () => Promise<void>
}

/**
 * The compiled worker script: `worker.js` next to this module when it runs from `dist/`, otherwise
 * `dist/envs/worker.js` of the package. An error says how to build it when neither exists.
 */
export const envWorkerPath = (): E.Either<TmamlError, string> => {
  const candidates = [new URL('./worker.js', import.meta.url), new URL('../../dist/envs/worker.js', import.meta.url)]
  for (const c of candidates) {
    const p = fileURLToPath(c)
    if (existsSync(p)) return E.right(p)
  }
  return E.left(
    resourceError(
      'envs worker',
      `compiled worker not found (looked for ${candidates.map((c) => fileURLToPath(c)).join(' and ')}); ` +
        'build it with `npx tsc -p .` (npm run build)'
    )
  )
}

type Pending = (response: E.Either<TmamlError, unknown>) => void

/** Start a worker thread running `scriptPath` (default: `envWorkerPath()`). */
export const startEnvWorker = (scriptPath?: string): E.Either<TmamlError, EnvWorker> => {
  const path = scriptPath === undefined ? envWorkerPath() : E.right(scriptPath)
  if (E.isLeft(path)) return path
  let worker: Worker
  try {
    worker = new Worker(path.right)
  } catch (e) {
    return E.left(
      resourceError('envs worker', `cannot start ${path.right}: ${e instanceof Error ? e.message : String(e)}`)
    )
  }
  const pending = new Map<number, Pending>()
  let nextId = 0
  let dead: TmamlError | undefined

  const failAll = (error: TmamlError): void => {
    dead = error
    for (const resolve of pending.values()) resolve(E.left(error))
    pending.clear()
  }
  worker.on('message', (msg: unknown) => {
    const res = decodeWith(WorkerResponse, 'envs worker response')(msg)
    if (E.isLeft(res)) return failAll(res.left)
    const resolve = pending.get(res.right.id)
    if (resolve === undefined) return
    pending.delete(res.right.id)
    resolve(E.right(res.right.result))
  })
  worker.on('error', (err) => failAll(resourceError('envs worker', `the worker thread failed: ${err.message}`)))
  worker.on('exit', (code) => failAll(resourceError('envs worker', `the worker thread exited (code ${code})`)))

  const send = <A>(
    body: (id: number) => WorkerRequest,
    codec: t.Type<E.Either<TmamlError, A>, unknown, unknown>
  ): Promise<E.Either<TmamlError, A>> => {
    if (dead !== undefined) return Promise.resolve(E.left(dead))
    const id = nextId++
    return new Promise((resolve) => {
      pending.set(id, (raw) => resolve(E.flatMap(raw, (u) => E.flatten(decodeWith(codec, 'envs worker result')(u)))))
      worker.postMessage(body(id))
    })
  }

  return E.right({
    trajectory: (req) => send((id) => ({ kind: 'trajectory', id, ...req, tasks: [...req.tasks] }), TrajectoryResult),
    time: (req, sync) =>
      send((id) => ({ kind: 'time', id, ...req, barrier: sync?.barrier, parties: sync?.parties ?? 1 }), TimingResult),
    terminate: async () => {
      await worker.terminate()
    }
  })
}
