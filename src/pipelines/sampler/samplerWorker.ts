/**
 * One sampler worker thread seen from the main thread: start it (and wait until its MuJoCo module is
 * loaded), run a chunk on it with a time limit, and notice when it dies. A chunk whose worker dies
 * (crash, `process.exit`, `terminate()`) or runs past its time limit comes back as `Lost` (a timed-out
 * worker is terminated first), never as a hang.
 *
 * The worker runs compiled JavaScript: `dist/pipelines/sampler/worker.js`, built by `npx tsc -p .`.
 * When this module runs from TypeScript sources (tests), the compiled worker is looked up in `dist/`.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { decodeWith, resourceError, type TmamlError } from '../../base/errors.js'
import { type ChunkJob, type ChunkResult, FromWorker, type ToWorker } from './protocol.js'
import type { SamplerWorkerData } from './types.js'

/** The outcome of running a chunk on a worker. */
export type RunOutcome =
  | { readonly _tag: 'Done'; readonly result: E.Either<TmamlError, ChunkResult> }
  | { readonly _tag: 'Lost'; readonly reason: string }

/** A started worker thread. */
export interface SamplerWorker {
  readonly threadId: number
  /** Run `job`; `Lost` if the worker dies or `timeoutMs` passes (the worker is then terminated). */
  readonly run: (job: ChunkJob, timeoutMs: number) => Promise<RunOutcome>
  readonly isDead: () => boolean
  /** Stop the thread on purpose (no death is reported). */
  readonly terminate: () => Promise<void>
}

/**
 * The compiled worker script: `worker.js` next to this module when it runs from `dist/`, otherwise
 * `dist/pipelines/sampler/worker.js` of the package.
 */
export const samplerWorkerPath = (): E.Either<TmamlError, string> => {
  const candidates = [
    new URL('./worker.js', import.meta.url),
    new URL('../../../dist/pipelines/sampler/worker.js', import.meta.url)
  ]
  for (const c of candidates) {
    const p = fileURLToPath(c)
    if (existsSync(p)) return E.right(p)
  }
  return E.left(
    resourceError(
      'sampler worker',
      `compiled worker not found (looked for ${candidates.map((c) => fileURLToPath(c)).join(' and ')}); ` +
        'build it with `npx tsc -p .` (npm run build)'
    )
  )
}

/** Options of `startSamplerWorker`. */
export interface StartOptions {
  readonly scriptPath: string
  readonly cacheEnvs: boolean
  /** How the thread is created (`SamplerOptions.spawnWorker`); default `new Worker(script, { workerData })`. */
  readonly spawn?: (script: string, workerData: SamplerWorkerData) => Worker
  readonly startTimeoutMs: number
  /** Called once when the thread dies other than by `terminate()` (crash, exit, kill, timeout). */
  readonly onDeath: (reason: string, threadId: number) => void
}

/** Start a worker thread and wait for it to report ready. */
export const startSamplerWorker = (opts: StartOptions): Promise<E.Either<TmamlError, SamplerWorker>> =>
  new Promise((resolveStart) => {
    const where = 'sampler worker'
    let worker: Worker
    try {
      const workerData: SamplerWorkerData = { cacheEnvs: opts.cacheEnvs }
      worker =
        opts.spawn === undefined ? new Worker(opts.scriptPath, { workerData }) : opts.spawn(opts.scriptPath, workerData)
    } catch (e) {
      resolveStart(
        E.left(resourceError(where, `cannot start ${opts.scriptPath}: ${e instanceof Error ? e.message : String(e)}`))
      )
      return
    }
    const threadId = worker.threadId
    const pending = new Map<number, (o: RunOutcome) => void>()
    let nextId = 0
    let ready = false
    let dead = false
    let intentional = false
    let crashReason: string | undefined

    const startTimer = setTimeout(() => {
      if (ready) return
      intentional = true
      void worker.terminate()
      resolveStart(E.left(resourceError(where, `thread ${threadId} did not start within ${opts.startTimeoutMs} ms`)))
    }, opts.startTimeoutMs)

    const die = (reason: string): void => {
      if (dead) return
      dead = true
      clearTimeout(startTimer)
      for (const resolve of pending.values()) resolve({ _tag: 'Lost', reason })
      pending.clear()
      if (!ready) {
        resolveStart(E.left(resourceError(where, `thread ${threadId} died while starting: ${reason}`)))
        return
      }
      if (!intentional) opts.onDeath(reason, threadId)
    }

    worker.on('message', (raw: unknown) => {
      const msg = decodeWith(FromWorker, 'sampler worker response')(raw)
      if (E.isLeft(msg)) {
        // A malformed message is a bug; fail whatever is pending with the decode error.
        for (const resolve of pending.values()) resolve({ _tag: 'Done', result: msg })
        pending.clear()
        return
      }
      const m = msg.right
      if (m.kind === 'ready') {
        ready = true
        clearTimeout(startTimer)
        resolveStart(E.right(handle))
        return
      }
      const resolve = pending.get(m.id)
      if (resolve === undefined) return
      pending.delete(m.id)
      resolve({ _tag: 'Done', result: m.result._tag === 'Left' ? E.left(m.result.left) : E.right(m.result.right) })
    })
    worker.on('error', (err) => {
      crashReason = `uncaught exception in the worker: ${err.message}`
    })
    worker.on('exit', (code) => die(crashReason ?? `thread ${threadId} exited with code ${code}`))

    const handle: SamplerWorker = {
      threadId,
      run: (job, timeoutMs) => {
        if (dead) return Promise.resolve({ _tag: 'Lost', reason: `thread ${threadId} is dead` })
        const id = nextId++
        return new Promise<RunOutcome>((resolve) => {
          const timer = setTimeout(() => {
            if (!pending.has(id)) return
            // The thread counts as dead from now on (its chunk is Lost); then it is terminated.
            die(`chunk ${job.chunk} timed out after ${timeoutMs} ms on thread ${threadId}; the thread was terminated`)
            void worker.terminate()
          }, timeoutMs)
          pending.set(id, (o) => {
            clearTimeout(timer)
            resolve(o)
          })
          const msg: ToWorker = { kind: 'chunk', id, job }
          try {
            worker.postMessage(msg)
          } catch (e) {
            pending.delete(id)
            clearTimeout(timer)
            resolve({
              _tag: 'Done',
              result: E.left(resourceError(where, `cannot post chunk ${job.chunk}: ${String(e)}`))
            })
          }
        })
      },
      isDead: () => dead,
      terminate: async () => {
        intentional = true
        await worker.terminate()
      }
    }
  })
