// The sampler as a stream: `sample$` emits each task's batch once, as soon as its last chunk is in,
// with the bits `sample` returns; a request for some of the tasks (`taskIds`) samples exactly their
// episodes of the full request; requests overlap; unsubscribing cancels the chunks not yet started.
import { lastValueFrom, take, tap, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { EpisodeBatch, RolloutRequest, SamplerEvent } from '../../src/pipelines/sampler/index.js'
import { must, mustFail, text } from '../envs/support.js'
import {
  cheetahPolicy,
  cheetahRequest,
  randomPolicy,
  requireCompiledWorker,
  sameBatches,
  startSampler
} from './samplerSupport.js'

const byTask = (bs: ReadonlyArray<EpisodeBatch>): ReadonlyArray<EpisodeBatch> => [...bs].sort((a, b) => a.task - b.task)
const chunksDone = (events: ReadonlyArray<SamplerEvent>): number => events.filter((e) => e._tag === 'ChunkDone').length

/** Five tasks with a parameter set each, so that a subset request must pick the right ones. */
const req: RolloutRequest = {
  ...cheetahRequest(5, 4, 30, 9),
  params: [0, 1, 2, 3, 4].map((k) => randomPolicy(cheetahPolicy, 60 + k)),
  stream: [3, 'post']
}

describe('pipelines/sampler sample$', () => {
  let full: ReadonlyArray<EpisodeBatch>
  beforeAll(async () => {
    requireCompiledWorker()
    const { sampler } = await startSampler({ workers: 0 })
    full = must(await sampler.sample(req))
    await sampler.close()
  })

  it('emits each task once, as its last chunk arrives, with the bits of sample', async () => {
    const { sampler, events } = await startSampler({ workers: 2, chunksPerWorker: 5 })
    try {
      const seen: number[] = []
      const got = await lastValueFrom(
        sampler.sample$(req).pipe(
          tap(() => seen.push(chunksDone(events))),
          toArray()
        )
      )
      expect(got.map((b) => b.task).sort()).toEqual([0, 1, 2, 3, 4])
      expect(sameBatches(byTask(got), full)).toBe(true)
      // 20 episodes in 10 chunks of 2: a task is complete after 2 chunks, so the first is emitted early.
      expect(chunksDone(events)).toBe(10)
      expect(seen[0]).toBeLessThan(10)
      expect(seen).toEqual([...seen].sort((a, b) => a - b))
    } finally {
      await sampler.close()
    }
  })

  it('a request for some of the tasks (taskIds) samples exactly their episodes of the full request', async () => {
    const { sampler } = await startSampler({ workers: 2 })
    try {
      const some: RolloutRequest = {
        ...req,
        tasks: [req.tasks[3], req.tasks[1]],
        params: [req.params[3], req.params[1]],
        taskIds: [3, 1]
      }
      const got = must(await sampler.sample(some))
      expect(got.map((b) => b.task)).toEqual([3, 1])
      expect(sameBatches(got, [full[3], full[1]])).toBe(true)
      const bad = mustFail(await sampler.sample({ ...some, taskIds: [3, 3] }))
      expect(text(bad)).toMatch(/taskIds[\s\S]*distinct task ids/)
      expect(text(mustFail(await sampler.sample({ ...some, taskIds: [3] })))).toMatch(
        /taskIds[\s\S]*one id per task \(2\)/
      )
    } finally {
      await sampler.close()
    }
  })

  it('serves overlapping requests, each with its own results', async () => {
    const { sampler } = await startSampler({ workers: 2 })
    try {
      const other = cheetahRequest(3, 3, 20, 4)
      const alone = must(await sampler.sample(other))
      const [a, b] = await Promise.all([sampler.sample(req), sampler.sample(other)])
      expect(sameBatches(must(a), full)).toBe(true)
      expect(sameBatches(must(b), alone)).toBe(true)
    } finally {
      await sampler.close()
    }
  })

  it('unsubscribing cancels the chunks not yet started; the sampler serves the next request', async () => {
    const { sampler, events } = await startSampler({ workers: 1, chunksPerWorker: 10 })
    try {
      await lastValueFrom(sampler.sample$(req).pipe(take(1)))
      await new Promise((r) => setTimeout(r, 300))
      // One task done (2 chunks), the chunk running when it was emitted: the other 7 never ran.
      expect(chunksDone(events)).toBeLessThanOrEqual(3)
      expect(sameBatches(must(await sampler.sample(req)), full)).toBe(true)
    } finally {
      await sampler.close()
    }
  })

  it('an invalid request or a closed sampler errors the stream with a SampleError naming the cause', async () => {
    const { sampler } = await startSampler({ workers: 0 })
    await expect(lastValueFrom(sampler.sample$({ ...req, horizon: 0 }))).rejects.toThrow(/horizon/)
    await sampler.close()
    await expect(lastValueFrom(sampler.sample$(req))).rejects.toThrow(/the sampler was closed/)
  })
})
