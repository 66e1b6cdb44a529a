// A sampler worker thread that fails on purpose (test/support/faultyWorkers.ts starts it): it serves
// chunks with the real `serveChunks`, except that when `workerData.fault` is set, the first chunk it
// is sent makes it fail instead: 'exit' calls process.exit(3), 'throw' throws an uncaught exception,
// 'hang' spins forever (until the sampler's chunk timeout terminates the thread), and 'terminate'
// spins too, so that the test's spawn wrapper terminates the thread from outside mid-chunk.
import { parentPort, workerData } from 'node:worker_threads'
import { serveChunks } from '../../dist/pipelines/sampler/serve.js'

const fault = workerData.fault
const port = {
  on: (event, listener) =>
    parentPort.on(event, (raw) => {
      if (fault === 'exit') process.exit(3)
      if (fault === 'throw') throw new Error('sampler worker: crash requested by a test')
      if (fault === 'hang' || fault === 'terminate') for (;;);
      listener(raw)
    }),
  postMessage: (msg, transfer) => parentPort.postMessage(msg, transfer)
}
serveChunks(port, { cacheEnvs: workerData.cacheEnvs })
