// Sampler workers that die: crashed (process.exit, uncaught exception), killed from outside
// (worker.terminate()) or hung (chunk timeout). The worker is replaced, its chunk re-run, and the result
// equals the undisturbed one: no episode lost or duplicated, and no hang. Faults are injected from
// outside the sampler, by the threads test/support/faultyWorkers.ts starts for it.
import { beforeAll, describe, expect, it } from 'vitest'
import type { EpisodeBatch, SamplerEvent } from '../../src/pipelines/sampler/index.js'
import { must, mustFail, text } from '../envs/support.js'
import { type FaultPlan, faultyWorkers } from '../support/faultyWorkers.js'
import { cheetahRequest, requireCompiledWorker, sameBatches, startSampler } from './samplerSupport.js'

const req = cheetahRequest(4, 4, 40)
let undisturbed: ReadonlyArray<EpisodeBatch> = []

const tags = (events: ReadonlyArray<SamplerEvent>): string[] => events.map((e) => e._tag)
const episodesDone = (events: ReadonlyArray<SamplerEvent>): number =>
  events.reduce((a, e) => a + (e._tag === 'ChunkDone' ? e.episodes : 0), 0)

describe('pipelines/sampler robustness', () => {
  beforeAll(async () => {
    requireCompiledWorker()
    const { sampler } = await startSampler({ workers: 0 })
    undisturbed = must(await sampler.sample(req))
    await sampler.close()
  })

  const deaths: ReadonlyArray<readonly [string, FaultPlan, number, RegExp]> = [
    ['calls process.exit while running a chunk', { fault: 'exit', threads: [1] }, 1, /exited with code 3/],
    ['throws an uncaught exception while running a chunk', { fault: 'throw', threads: [0] }, 0, /uncaught exception/],
    [
      'is terminated from outside (worker.terminate())',
      { fault: 'terminate', threads: [0], afterMs: 5 },
      0,
      /exited with code 1/
    ]
  ]
  it.each(deaths)(
    'a worker that %s is replaced, its chunk re-run, and the result is unchanged',
    async (_, plan, slot, why) => {
      const { sampler, events } = await startSampler({ workers: 2, spawnWorker: faultyWorkers(plan).spawnWorker })
      try {
        events.length = 0
        const got = must(await sampler.sample(req))
        expect(sameBatches(got, undisturbed)).toBe(true)
        expect(tags(events)).toEqual(
          expect.arrayContaining(['WorkerDied', 'WorkerStarted', 'WorkerReplaced', 'ChunkRetried'])
        )
        const died = events.find((e) => e._tag === 'WorkerDied')
        expect(died?._tag === 'WorkerDied' && died.worker).toBe(slot)
        expect(died?._tag === 'WorkerDied' && died.reason).toMatch(why)
        expect(episodesDone(events)).toBe(4 * 4) // every episode exactly once
        // The replacement serves the next request as well.
        expect(sameBatches(must(await sampler.sample(req)), undisturbed)).toBe(true)
      } finally {
        await sampler.close()
      }
    }
  )

  it('a hung worker is terminated at the chunk timeout, replaced, and the chunk re-run', async () => {
    const { sampler, events } = await startSampler({
      workers: 2,
      chunkTimeoutMs: { base: 1500, perStep: 0 },
      spawnWorker: faultyWorkers({ fault: 'hang', threads: [0] }).spawnWorker
    })
    try {
      const t0 = performance.now()
      const got = must(await sampler.sample(req))
      expect(performance.now() - t0).toBeLessThan(30_000)
      expect(sameBatches(got, undisturbed)).toBe(true)
      const retried = events.find((e) => e._tag === 'ChunkRetried')
      expect(retried?._tag === 'ChunkRetried' && retried.reason).toMatch(/timed out after 1500 ms/)
      expect(tags(events)).toContain('WorkerReplaced')
    } finally {
      await sampler.close()
    }
  })

  it('the only worker (workers: 1) dying twice in one request is survived', async () => {
    const { sampler, events } = await startSampler({
      workers: 1,
      spawnWorker: faultyWorkers({ fault: 'exit', threads: [0, 1] }).spawnWorker
    })
    try {
      const got = must(await sampler.sample(req))
      expect(sameBatches(got, undisturbed)).toBe(true)
      expect(events.filter((e) => e._tag === 'WorkerReplaced')).toHaveLength(2)
    } finally {
      await sampler.close()
    }
  })

  it('a chunk that keeps killing its workers fails the request after maxRetries, naming the chunk; the sampler recovers', async () => {
    const faults = faultyWorkers({ fault: 'exit', threads: Array.from({ length: 10 }, (_, k) => k) })
    const { sampler, events } = await startSampler({ workers: 1, maxRetries: 2, spawnWorker: faults.spawnWorker })
    try {
      const e = mustFail(await sampler.sample(req))
      expect(e._tag).toBe('ResourceError')
      expect(text(e)).toMatch(/chunk 0 \(\d+ episodes: task 0 episode 0 to task \d+ episode \d+\) was lost 3 times/)
      expect(text(e)).toMatch(/giving up after 2 retries/)
      expect(events.filter((x) => x._tag === 'ChunkRetried')).toHaveLength(2)
      expect(faults.started()).toBe(3)
      faults.disarm()
      expect(sameBatches(must(await sampler.sample(req)), undisturbed)).toBe(true)
    } finally {
      await sampler.close()
    }
  })

  it('close() while a request runs resolves it with an error instead of hanging', async () => {
    const { sampler } = await startSampler({
      workers: 2,
      spawnWorker: faultyWorkers({ fault: 'hang', threads: [0] }).spawnWorker
    })
    const pending = sampler.sample(req)
    await new Promise((r) => setTimeout(r, 300))
    await sampler.close()
    expect(text(mustFail(await pending))).toMatch(/closed/)
  })
})
