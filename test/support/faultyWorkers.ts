/**
 * Fault injection for the sampler's robustness tests, outside the sampler: a `spawnWorker` for
 * `makeSampler` that starts the threads it is asked for from `faultyWorker.mjs` (the real chunk
 * server with a failure in front), making the threads the plan names fail on their first chunk.
 *
 * @example
 * const faults = faultyWorkers({ fault: 'exit', threads: [1] })   // the second thread started exits
 * const sampler = await makeSampler({ workers: 2, spawnWorker: faults.spawnWorker })
 */
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { SamplerWorkerData } from '../../src/pipelines/sampler/types.js'

export type Fault = 'exit' | 'throw' | 'hang' | 'terminate'

export interface FaultPlan {
  readonly fault: Fault
  /**
   * The threads that fail, by the order they are started in: at start-up thread k fills worker slot k,
   * replacements are numbered after them.
   */
  readonly threads: ReadonlyArray<number>
  /** 'terminate': how long after its first chunk is posted the thread is terminated (default 10 ms). */
  readonly afterMs?: number
}

export interface FaultyWorkers {
  readonly spawnWorker: (script: string, data: SamplerWorkerData) => Worker
  /** Threads started from now on are healthy. */
  readonly disarm: () => void
  /** How many threads were started. */
  readonly started: () => number
}

const script = fileURLToPath(new URL('./faultyWorker.mjs', import.meta.url))

export const faultyWorkers = (plan: FaultPlan): FaultyWorkers => {
  let started = 0
  let armed = true
  return {
    spawnWorker: (_script, data) => {
      const fault = armed && plan.threads.includes(started) ? plan.fault : null
      started += 1
      const worker = new Worker(script, { workerData: { ...data, fault } })
      if (fault === 'terminate') {
        const post = worker.postMessage.bind(worker)
        let posted = false
        worker.postMessage = (msg: unknown, transfer?: ReadonlyArray<ArrayBuffer>) => {
          post(msg, transfer as ArrayBuffer[] | undefined)
          if (!posted) setTimeout(() => void worker.terminate(), plan.afterMs ?? 10)
          posted = true
        }
      }
      return worker
    },
    disarm: () => {
      armed = false
    },
    started: () => started
  }
}
