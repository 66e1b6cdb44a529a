/**
 * The entry point of a sampler worker thread (`dist/pipelines/sampler/worker.js`, started by
 * `makeSampler`): serves chunks on `parentPort` (./serve.ts). `workerData` is a `SamplerWorkerData`.
 *
 * @packageDocumentation
 */
import { parentPort, workerData } from 'node:worker_threads'
import { serveChunks } from './serve.js'

const cacheEnvs = typeof workerData === 'object' && workerData !== null && 'cacheEnvs' in workerData
if (parentPort === null) {
  console.error('pipelines/sampler/worker.js runs as a worker thread: start it with makeSampler()')
  process.exitCode = 2
} else serveChunks(parentPort, { cacheEnvs: cacheEnvs ? workerData.cacheEnvs === true : true })
