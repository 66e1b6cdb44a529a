// The sampler's worker-thread pool as the distributed worker uses it: overlapping `run` calls share the
// threads, each gets its own results (equal to the chunks run in this thread), reported per chunk as
// they finish, and a failing call does not disturb the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chunkJob, makeEnvCache, planChunks, runChunk } from '../../src/pipelines/sampler/chunk.js'
import { makeChunkPool, type ChunkPool } from '../../src/pipelines/sampler/pool.js'
import { validateRequest } from '../../src/pipelines/sampler/request.js'
import { must, mustFail, sameBits, text } from '../envs/support.js'
import { cheetahRequest, requireCompiledWorker } from './samplerSupport.js'

const jobsOf = (seed: number) => {
  const req = must(validateRequest({ ...cheetahRequest(3, 2, 20, seed), stream: [seed] }))
  return planChunks(6, 3, 2).map((range, c) => chunkJob(req, c, range))
}

describe('pipelines/sampler/pool', () => {
  let pool: ChunkPool
  beforeAll(async () => {
    requireCompiledWorker()
    const opts = {
      maxRetries: 1,
      chunkTimeoutMs: { base: 30_000, perStep: 0 },
      startTimeoutMs: 30_000,
      cacheEnvs: true
    }
    pool = must(await makeChunkPool({ workers: 2, ...opts }))
  })
  afterAll(async () => {
    await pool.close()
  })

  it('serves overlapping calls: each its own results, in job order, each chunk reported once', async () => {
    const [a, b] = [jobsOf(1), jobsOf(2)]
    const seen: number[][] = [[], []]
    const [ra, rb] = await Promise.all([
      pool.run(a, (r) => seen[0].push(r.chunk)),
      pool.run(b, (r) => seen[1].push(r.chunk))
    ])
    const cache = makeEnvCache(false)
    for (const [jobs, got] of [
      [a, must(ra)],
      [b, must(rb)]
    ] as const)
      for (const [i, job] of jobs.entries()) {
        const want = must(await runChunk(job, cache))
        expect(got[i].chunk).toBe(i)
        expect(sameBits(got[i].obs, want.obs) && sameBits(got[i].rewards, want.rewards)).toBe(true)
      }
    expect(seen.map((s) => [...s].sort())).toEqual([
      [0, 1, 2],
      [0, 1, 2]
    ])
  })

  it('a call whose chunk fails returns that error; the overlapping call completes', async () => {
    const bad = jobsOf(3).map((j) => ({ ...j, envId: 'no-such-env' }))
    const [rb, rg] = await Promise.all([pool.run(bad), pool.run(jobsOf(4))])
    expect(text(mustFail(rb))).toMatch(/no-such-env/)
    expect(must(rg)).toHaveLength(3)
  })
})
