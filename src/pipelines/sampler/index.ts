/**
 * The parallel rollout sampler: Gaussian MLP policies (plain arrays) on registered environments,
 * across worker threads, bit-identical whatever the worker count. See ../README.md.
 *
 * @packageDocumentation
 */
export * from './types.js'
export * from './jsPolicy.js'
export * from './request.js'
export * from './makeSampler.js'
export * from './stream.js'
export { samplerWorkerPath } from './samplerWorker.js'
