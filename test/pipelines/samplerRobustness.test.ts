// Sampler workers that die: crashed (process.exit, uncaught exception), killed from outside
// (worker.terminate()) or hung (chunk timeout). The worker is replaced, its chunk re-run, and the result
// equals the undisturbed one: no episode lost or duplicated, and no hang. Faults are injected with the
// request's test hooks, honoured only under TMAML_TEST_HOOKS=1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EpisodeBatch, SamplerEvent, SamplerTestHooks } from '../../src/pipelines/sampler/index.js'
import { must, mustFail, text } from '../envs/support.js'
import { cheetahRequest, requireCompiledWorker, sameBatches, startSampler } from './samplerSupport.js'

const req = cheetahRequest(4, 4, 40)
let undisturbed: ReadonlyArray<EpisodeBatch> = []

const tags = (events: ReadonlyArray<SamplerEvent>): string[] => events.map((e) => e._tag)
const episodesDone = (events: ReadonlyArray<SamplerEvent>): number =>
  events.reduce((a, e) => a + (e._tag === 'ChunkDone' ? e.episodes : 0), 0)

describe('pipelines/sampler robustness', () => {
  const previous = process.env.TMAML_TEST_HOOKS
  beforeAll(async () => {
    requireCompiledWorker()
    const { sampler } = await startSampler({ workers: 0 })
    undisturbed = must(await sampler.sample(req))
    await sampler.close()
    process.env.TMAML_TEST_HOOKS = '1'
  })
  afterAll(() => {
    if (previous === undefined) delete process.env.TMAML_TEST_HOOKS
    else process.env.TMAML_TEST_HOOKS = previous
  })

  const deaths: ReadonlyArray<readonly [string, SamplerTestHooks, RegExp]> = [
    ['calls process.exit mid-chunk', { crash: 'exit', worker: 1, afterSteps: 7 }, /exited with code 3/],
    ['throws an uncaught exception mid-chunk', { crash: 'throw', worker: 0, afterSteps: 3 }, /uncaught exception/],
    ['is terminated from outside (worker.terminate())', { crash: 'terminate', worker: 0, afterMs: 5 }, /exited/]
  ]
  it.each(deaths)(
    'a worker that %s is replaced, its chunk re-run, and the result is unchanged',
    async (_, hooks, why) => {
      const { sampler, events } = await startSampler({ workers: 2 })
      try {
        events.length = 0
        const got = must(await sampler.sample({ ...req, testHooks: hooks }))
        expect(sameBatches(got, undisturbed)).toBe(true)
        expect(tags(events)).toEqual(
          expect.arrayContaining(['WorkerDied', 'WorkerStarted', 'WorkerReplaced', 'ChunkRetried'])
        )
        const died = events.find((e) => e._tag === 'WorkerDied')
        expect(died?._tag === 'WorkerDied' && died.worker).toBe(hooks.worker)
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
    const { sampler, events } = await startSampler({ workers: 2, chunkTimeoutMs: { base: 1500, perStep: 0 } })
    try {
      const t0 = performance.now()
      const got = must(await sampler.sample({ ...req, testHooks: { crash: 'hang', worker: 0, afterSteps: 2 } }))
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
    const { sampler, events } = await startSampler({ workers: 1 })
    try {
      const got = must(await sampler.sample({ ...req, testHooks: { crash: 'exit', times: 2, afterSteps: 1 } }))
      expect(sameBatches(got, undisturbed)).toBe(true)
      expect(events.filter((e) => e._tag === 'WorkerReplaced')).toHaveLength(2)
    } finally {
      await sampler.close()
    }
  })

  it('a chunk that keeps killing its workers fails the request after maxRetries, naming the chunk; the sampler recovers', async () => {
    const { sampler, events } = await startSampler({ workers: 1, maxRetries: 2 })
    try {
      const e = mustFail(await sampler.sample({ ...req, testHooks: { crash: 'exit', times: 10 } }))
      expect(e._tag).toBe('ResourceError')
      expect(text(e)).toMatch(/chunk 0 \(\d+ episodes: task 0 episode 0 to task \d+ episode \d+\) was lost 3 times/)
      expect(text(e)).toMatch(/giving up after 2 retries/)
      expect(events.filter((x) => x._tag === 'ChunkRetried')).toHaveLength(2)
      expect(sameBatches(must(await sampler.sample(req)), undisturbed)).toBe(true)
    } finally {
      await sampler.close()
    }
  })

  it('close() while a request runs resolves it with an error instead of hanging', async () => {
    const { sampler } = await startSampler({ workers: 2 })
    const pending = sampler.sample({ ...req, testHooks: { crash: 'hang', worker: 0 } })
    await new Promise((r) => setTimeout(r, 300))
    await sampler.close()
    expect(text(mustFail(await pending))).toMatch(/closed/)
  })

  it('without TMAML_TEST_HOOKS=1 the hooks are ignored', async () => {
    const { sampler, events } = await startSampler({ workers: 2 })
    try {
      delete process.env.TMAML_TEST_HOOKS
      const got = must(await sampler.sample({ ...req, testHooks: { crash: 'exit' } }))
      expect(sameBatches(got, undisturbed)).toBe(true)
      expect(tags(events)).not.toContain('WorkerDied')
    } finally {
      process.env.TMAML_TEST_HOOKS = '1'
      await sampler.close()
    }
  })
})
