// The parallel rollout sampler: shapes and masks, determinism across worker counts and chunkings, the
// policy it runs (mean, noise, per-task parameters), request validation, and flat memory.
import { beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import * as E from 'fp-ts/lib/Either.js'
import { getMujoco, heapBytes, heapInUse } from '../../src/envs/mujoco.js'
import type { StepResult } from '../../src/envs/vecEnv.js'
import { makeEnvCache, runChunk, type EnvCache } from '../../src/pipelines/sampler/chunk.js'
import {
  gaussianMlpMean,
  makeSampler,
  type EpisodeBatch,
  type PolicySpec,
  type RolloutRequest
} from '../../src/pipelines/sampler/index.js'
import { must, mustFail, sameBits, text } from '../envs/support.js'
import {
  cheetahPolicy,
  cheetahRequest,
  randomPolicy,
  requireCompiledWorker,
  sameBatches,
  startSampler
} from './samplerSupport.js'

const antPolicy: PolicySpec = { obsDim: 111, actDim: 8, hidden: [16], activation: 'tanh' }

/** Ant-dir with one parameter set per task and wide action noise: many episodes end by the height rule. */
const antRequest = (tasks: number, episodes: number, horizon: number): RolloutRequest => ({
  envId: 'ant-dir',
  tasks: Array.from({ length: tasks }, (_, k) => ({ direction: k % 2 === 0 ? 1 : -1 })),
  episodesPerTask: episodes,
  horizon,
  policy: antPolicy,
  params: Array.from({ length: tasks }, (_, k) => randomPolicy(antPolicy, 100 + k, 0.7)),
  seed: 3,
  stream: [7, 'pre']
})

const lengths = (b: EpisodeBatch): number[] =>
  Array.from({ length: b.episodes }, (_, e) =>
    b.mask.subarray(e * b.horizon, (e + 1) * b.horizon).reduce((a, x) => a + x, 0)
  )

const isZero = (a: ArrayLike<number>): boolean => Array.prototype.every.call(a, (x: number) => x === 0)

describe('pipelines/sampler', () => {
  beforeAll(() => {
    requireCompiledWorker()
  })

  describe('makeSampler', () => {
    it('rejects a worker count that is not an integer >= 0', async () => {
      expect(text(mustFail(await makeSampler({ workers: -1 })))).toContain('workers must be an integer >= 0')
      expect(text(mustFail(await makeSampler({ workers: 1.5 })))).toContain('workers')
      expect(text(mustFail(await makeSampler({ workers: 1, maxRetries: -1 })))).toContain('maxRetries')
    })

    it('reports each worker it starts, and close() is idempotent; sampling after close is an error', async () => {
      const { sampler, events } = await startSampler({ workers: 2 })
      expect(sampler.workers).toBe(2)
      expect(
        events.filter((e) => e._tag === 'WorkerStarted').map((e) => e._tag === 'WorkerStarted' && e.worker)
      ).toEqual(expect.arrayContaining([0, 1]))
      await sampler.close()
      await sampler.close()
      expect(text(mustFail(await sampler.sample(cheetahRequest(1, 1, 5))))).toContain('the sampler was closed')
    })
  })

  describe('shapes and masks', () => {
    it('returns one [E, T, ...] batch per task, in task order; HalfCheetah episodes run to the horizon', async () => {
      const { sampler, events } = await startSampler({ workers: 0 })
      try {
        const batches = must(await sampler.sample(cheetahRequest(3, 2, 25)))
        expect(batches.map((b) => b.task)).toEqual([0, 1, 2])
        for (const b of batches) {
          expect([b.episodes, b.horizon, b.obsDim, b.actDim]).toEqual([2, 25, 17, 6])
          expect([b.obs.length, b.actions.length, b.rewards.length, b.mask.length]).toEqual([
            2 * 25 * 17,
            2 * 25 * 6,
            50,
            50
          ])
          expect([b.terminated.length, b.lastObs.length, b.diverged]).toEqual([2, 34, 0])
          expect(lengths(b)).toEqual([25, 25])
          expect(Array.from(b.terminated)).toEqual([0, 0])
          expect([b.obs, b.actions, b.rewards, b.lastObs].every((a) => a.every(Number.isFinite))).toBe(true)
          expect(sameBits(b.lastObs.subarray(0, 17), b.obs.subarray(24 * 17, 25 * 17))).toBe(false)
        }
        const done = events.filter((e) => e._tag === 'ChunkDone')
        expect(done.reduce((a, e) => a + (e._tag === 'ChunkDone' ? e.steps : 0), 0)).toBe(3 * 2 * 25)
      } finally {
        await sampler.close()
      }
    })

    it('an Ant episode that terminates has mask 1 up to its last step and zeros (obs, actions, rewards) after it', async () => {
      const { sampler } = await startSampler({ workers: 0 })
      try {
        const T = 120
        const batches = must(await sampler.sample(antRequest(2, 4, T)))
        let checked = 0
        for (const b of batches)
          lengths(b).forEach((len, e) => {
            const row = (a: Float32Array, width: number, from: number, to: number) =>
              a.subarray((e * T + from) * width, (e * T + to) * width)
            expect(isZero(row(b.mask, 1, len, T))).toBe(true)
            expect(row(b.mask, 1, 0, len).every((m) => m === 1)).toBe(true)
            if (b.terminated[e] === 0) {
              expect(len).toBe(T)
              return
            }
            checked++
            expect(len).toBeLessThan(T)
            expect(isZero(row(b.rewards, 1, len, T))).toBe(true)
            expect(isZero(row(b.actions, 8, len, T))).toBe(true)
            expect(isZero(row(b.obs, 111, len, T))).toBe(true)
            // The observation after the final step is outside the healthy height range (obs[0] = torso z).
            const z = b.lastObs[e * 111]
            expect(z < 0.2 || z > 1).toBe(true)
          })
        expect(checked).toBeGreaterThan(0)
      } finally {
        await sampler.close()
      }
    })
  })

  describe('divergences', () => {
    it('a diverged step is dropped: the episode ends at its last valid observation and is counted', async () => {
      // A real point2d env whose step reports env 1 as diverged at step 3 (as the env layer would).
      const cache: EnvCache = {
        acquire: async (s, n, horizon, tasks) => {
          const env = must(await s.make({ n, horizon, tasks, autoReset: 'manual' }))
          let t = 0
          return E.right({
            ...env,
            step: (a) =>
              E.map((r: StepResult): StepResult => {
                if (t++ !== 3) return r
                const flag = (x: Uint8Array) => Uint8Array.from(x, (v, i) => (i === 1 ? 1 : v))
                return {
                  ...r,
                  diverged: flag(r.diverged),
                  done: flag(r.done),
                  reward: Float64Array.from(r.reward, (v, i) => (i === 1 ? 0 : v)),
                  events: [{ env: 1, kind: 'diverged', message: 'point2d: env 1 diverged (test)' }]
                }
              })(env.step(a))
          })
        },
        release: (env) => env.dispose(),
        clear: () => undefined,
        size: () => 0
      }
      const policy: PolicySpec = { obsDim: 2, actDim: 2, hidden: [4], activation: 'tanh' }
      const job = {
        chunk: 0,
        envId: 'point2d',
        horizon: 8,
        policy,
        params: [randomPolicy(policy, 1)],
        paramOf: [0, 0, 0],
        tasks: [{ goal: [0.4, 0.4] }, { goal: [0.4, 0.4] }, { goal: [0.4, 0.4] }],
        taskIds: [0, 0, 0],
        episodeIds: [0, 1, 2],
        seed: 1,
        stream: [],
        deterministic: false,
        actionScale: 1
      }
      const r = must(await runChunk(job, cache))
      expect(Array.from(r.diverged)).toEqual([0, 1, 0])
      expect(Array.from(r.mask.subarray(8, 16))).toEqual([1, 1, 1, 0, 0, 0, 0, 0])
      expect(isZero(r.obs.subarray((8 + 3) * 2, 16 * 2))).toBe(true)
      expect(isZero(r.actions.subarray((8 + 3) * 2, 16 * 2))).toBe(true)
      // Everything before the divergence is as in an undisturbed run; lastObs is the observation before step 3.
      const clean = must(await runChunk(job, makeEnvCache(false)))
      expect(sameBits(r.obs.subarray(8 * 2, (8 + 3) * 2), clean.obs.subarray(8 * 2, (8 + 3) * 2))).toBe(true)
      expect(sameBits(r.lastObs.subarray(2, 4), clean.obs.subarray((8 + 3) * 2, (8 + 4) * 2))).toBe(true)
      expect(sameBits(r.obs.subarray(0, 8 * 2), clean.obs.subarray(0, 8 * 2))).toBe(true)
      expect(r.terminated[1]).toBe(0)
      expect(r.events).toEqual([{ kind: 'diverged', env: 1, message: 'point2d: env 1 diverged (test)' }])
      expect(Array.from(r.mask.subarray(0, 8))).toEqual([1, 1, 1, 1, 1, 1, 1, 1])
      expect(r.steps).toBe(8 + 3 + 8)
    })
  })

  describe('determinism', () => {
    it('workers 0, 1, 2 and 3 (and other chunk sizes) give bit-identical batches', async () => {
      const req = antRequest(3, 3, 60)
      const results: Array<ReadonlyArray<EpisodeBatch>> = []
      for (const opts of [
        { workers: 0 },
        { workers: 1 },
        { workers: 2 },
        { workers: 3 },
        { workers: 2, maxChunkEpisodes: 2 },
        { workers: 0, maxChunkEpisodes: 1 }
      ]) {
        const { sampler } = await startSampler(opts)
        try {
          results.push(must(await sampler.sample(req)))
        } finally {
          await sampler.close()
        }
      }
      expect(results[0].some((b) => b.terminated.some((x) => x === 1))).toBe(true)
      for (const r of results.slice(1)) expect(sameBatches(r, results[0])).toBe(true)
    })

    it('a repeated request on reused envs equals the first and the result of a sampler that does not cache envs', async () => {
      const req = cheetahRequest(2, 3, 30)
      const cached = await startSampler({ workers: 1 })
      const fresh = await startSampler({ workers: 0, cacheEnvs: false })
      try {
        const a = must(await cached.sampler.sample(req))
        must(await cached.sampler.sample({ ...req, seed: 99 })) // the envs now hold other states
        const b = must(await cached.sampler.sample(req))
        const c = must(await fresh.sampler.sample(req))
        expect(sameBatches(a, b)).toBe(true)
        expect(sameBatches(a, c)).toBe(true)
      } finally {
        await cached.sampler.close()
        await fresh.sampler.close()
      }
    })

    it('episode (k, e) does not depend on the rest of the request; a different stream or seed changes it', async () => {
      const { sampler } = await startSampler({ workers: 0 })
      try {
        const small = must(await sampler.sample(cheetahRequest(2, 2, 20)))
        const big = must(await sampler.sample(cheetahRequest(4, 5, 20)))
        for (const k of [0, 1]) {
          expect(sameBits(big[k].obs.subarray(0, 2 * 20 * 17), small[k].obs)).toBe(true)
          expect(sameBits(big[k].actions.subarray(0, 2 * 20 * 6), small[k].actions)).toBe(true)
        }
        const other = must(await sampler.sample({ ...cheetahRequest(2, 2, 20), stream: [0, 'post'] }))
        const reseeded = must(await sampler.sample({ ...cheetahRequest(2, 2, 20), seed: 12 }))
        expect(sameBits(other[0].actions, small[0].actions)).toBe(false)
        expect(sameBits(other[0].obs.subarray(0, 17), small[0].obs.subarray(0, 17))).toBe(false) // reset noise too
        expect(sameBits(reseeded[0].actions, small[0].actions)).toBe(false)
      } finally {
        await sampler.close()
      }
    })
  })

  describe('the policy', () => {
    it('deterministic mode: every action equals gaussianMlpMean of its observation, bit for bit', async () => {
      const { sampler } = await startSampler({ workers: 1 })
      try {
        const req = { ...antRequest(2, 2, 40), deterministic: true }
        const batches = must(await sampler.sample(req))
        let steps = 0
        for (const b of batches) {
          const mean = gaussianMlpMean(antPolicy, req.params[b.task], b.obs)
          for (let i = 0; i < b.episodes * b.horizon; i++) {
            if (b.mask[i] === 0) continue
            steps++
            expect(sameBits(b.actions.subarray(i * 8, (i + 1) * 8), mean.subarray(i * 8, (i + 1) * 8))).toBe(true)
          }
        }
        expect(steps).toBeGreaterThan(40)
      } finally {
        await sampler.close()
      }
    })

    it('stochastic mode: action = mean + exp(logStd) z, z drawn from the episode stream (seed, rollout, ...stream, k, e, action)', async () => {
      const { sampler } = await startSampler({ workers: 0 })
      try {
        const req = cheetahRequest(2, 2, 15)
        const logStd = req.params[0].logStd.values
        const batches = must(await sampler.sample(req))
        for (const b of batches)
          for (let e = 0; e < b.episodes; e++) {
            const rng = rngAt(req.seed, 'rollout', ...req.stream, b.task, e, 'action')
            const obs = b.obs.subarray(e * 15 * 17, (e + 1) * 15 * 17)
            const mean = gaussianMlpMean(cheetahPolicy, req.params[0], obs)
            const expected = new Float32Array(15 * 6)
            for (let i = 0; i < expected.length; i++)
              expected[i] = mean[i] + Math.fround(Math.exp(logStd[i % 6])) * rng.normal()
            expect(sameBits(b.actions.subarray(e * 15 * 6, (e + 1) * 15 * 6), expected)).toBe(true)
          }
      } finally {
        await sampler.close()
      }
    })

    it('uses the parameters of each task: two parameter sets give each task its own actions', async () => {
      const { sampler } = await startSampler({ workers: 2 })
      try {
        const base = cheetahRequest(2, 2, 10)
        const p0 = randomPolicy(cheetahPolicy, 1)
        const p1 = randomPolicy(cheetahPolicy, 2)
        const req = { ...base, params: [p0, p1], deterministic: true, tasks: [{ direction: 1 }, { direction: 1 }] }
        const [b0, b1] = must(await sampler.sample(req))
        expect(sameBits(b0.obs.subarray(0, 17), b1.obs.subarray(0, 17))).toBe(false) // other reset streams
        expect(sameBits(b0.actions, gaussianMlpMean(cheetahPolicy, p0, b0.obs))).toBe(true)
        expect(sameBits(b1.actions, gaussianMlpMean(cheetahPolicy, p1, b1.obs))).toBe(true)
        expect(sameBits(b1.actions, gaussianMlpMean(cheetahPolicy, p0, b1.obs))).toBe(false)
        // With one shared set, task 1 runs p0.
        const [, shared1] = must(await sampler.sample({ ...req, params: [p0] }))
        expect(sameBits(shared1.actions, gaussianMlpMean(cheetahPolicy, p0, shared1.obs))).toBe(true)
      } finally {
        await sampler.close()
      }
    })
  })

  describe('bad requests', () => {
    const good = cheetahRequest(2, 1, 5)
    const nan = { ...good.params[0], b1: { shape: [32], values: new Float32Array(32).fill(Number.NaN) } }
    const cases: ReadonlyArray<readonly [string, unknown, RegExp]> = [
      ['an unknown env id', { ...good, envId: 'cheetah' }, /envId: got "cheetah", expected one of halfcheetah-dir/],
      ['a discrete-action env', { ...good, envId: 'tabular-mdp' }, /envId: .*continuous actions/],
      [
        'a policy of the wrong input size',
        { ...good, policy: { ...cheetahPolicy, obsDim: 16 } },
        /policy\.obsDim: got 16, expected 17/
      ],
      ['an unknown activation', { ...good, policy: { ...cheetahPolicy, activation: 'gelu' } }, /policy\.activation/],
      [
        'a task the codec rejects',
        { ...good, tasks: [{ direction: 1 }, { direction: 'left' }] },
        /tasks\.1\.direction/
      ],
      ['no tasks', { ...good, tasks: [] }, /tasks: .*at least one task/],
      ['0 episodes per task', { ...good, episodesPerTask: 0 }, /episodesPerTask: got 0, expected an integer >= 1/],
      ['a fractional horizon', { ...good, horizon: 2.5 }, /horizon: got 2.5/],
      ['a NaN seed', { ...good, seed: Number.NaN }, /seed/],
      // Seeds hash their two 32-bit halves: 2^64 would silently equal seed 0, 2.5 equal 2.
      ['a seed of 2^64', { ...good, seed: 2 ** 64 }, /seed: got 18446744073709552000, expected an integer/],
      ['a fractional seed', { ...good, seed: 2.5 }, /seed: got 2.5/],
      ['a fractional stream index', { ...good, stream: [0.5, 'pre'] }, /stream\.0/],
      [
        'a goal at 1e300 (rewards would be -Infinity in float32)',
        {
          ...good,
          envId: 'point2d',
          tasks: [{ goal: [1e300, 0] }],
          policy: { ...cheetahPolicy, obsDim: 2, actDim: 2 },
          params: [randomPolicy({ ...cheetahPolicy, obsDim: 2, actDim: 2 }, 1)]
        },
        /tasks\.0\.goal\.0: got 1e\+300, expected a number from -1000000 to 1000000/
      ],
      [
        'params for 3 tasks of 2',
        { ...good, params: [good.params[0], good.params[0], good.params[0]] },
        /params: .*1 \(shared\) or 2/
      ],
      [
        'a weight of the wrong shape',
        { ...good, params: [{ ...good.params[0], W1: { shape: [32, 31], values: new Float32Array(32 * 31) } }] },
        /params\.0\.W1\.shape: got \[32,31\], expected \[32, 32\]/
      ],
      [
        'a NaN parameter',
        { ...good, params: [good.params[0], nan] },
        /params\.1\.b1\.values\.0: got "NaN", expected a finite number/
      ],
      ['a missing parameter', { ...good, params: [{ W0: good.params[0].W0 }] }, /params\.0\.b0/]
    ]
    it.each(cases)('%s is refused with an error naming the field', async (_, req, pattern) => {
      const { sampler } = await startSampler({ workers: 0 })
      try {
        const e = mustFail(await sampler.sample(req as RolloutRequest))
        expect(e._tag).toBe('DecodeError')
        expect(text(e)).toMatch(pattern)
      } finally {
        await sampler.close()
      }
    })
  })

  describe('resources', () => {
    it('in-thread: the MuJoCo heap stays flat over repeated requests, with and without cached envs', async () => {
      const mj = await getMujoco()
      for (const cacheEnvs of [false, true]) {
        const { sampler } = await startSampler({ workers: 0, cacheEnvs })
        try {
          const req = cheetahRequest(4, 5, 30)
          must(await sampler.sample(req)) // warm-up: the cache fills
          // (The probe itself grows the heap by one block: heap sizes are compared after it.)
          const before = heapInUse(mj)
          const heapAfterProbe = heapBytes(mj)
          for (let i = 0; i < 8; i++) must(await sampler.sample({ ...req, seed: i }))
          const heapBeforeProbe = heapBytes(mj)
          const after = heapInUse(mj)
          expect(Math.abs(after.liveBytes - before.liveBytes)).toBeLessThanOrEqual(64 * 1024)
          expect(heapBeforeProbe).toBe(heapAfterProbe)
        } finally {
          await sampler.close()
        }
      }
      // close() released the cached envs too.
      const settled = heapInUse(mj)
      const { sampler } = await startSampler({ workers: 0 })
      must(await sampler.sample(cheetahRequest(4, 5, 30)))
      await sampler.close()
      expect(Math.abs(heapInUse(mj).liveBytes - settled.liveBytes)).toBeLessThanOrEqual(64 * 1024)
    })

    it('workers: their MuJoCo heaps stay flat and this process does not grow over repeated requests', async () => {
      const { sampler, events } = await startSampler({ workers: 2 })
      try {
        const req = cheetahRequest(8, 5, 50)
        must(await sampler.sample(req))
        must(await sampler.sample(req))
        const heaps = (): number[] => events.flatMap((e) => (e._tag === 'ChunkDone' ? [e.heapBytes] : [])).slice(-8)
        const heapBefore = Math.max(...heaps())
        const rssBefore = process.memoryUsage().rss
        for (let i = 0; i < 10; i++) must(await sampler.sample({ ...req, seed: i }))
        expect(Math.max(...heaps())).toBe(heapBefore)
        expect(heapBefore).toBeGreaterThan(0)
        // Rough bound: 10 requests produce ~20 MB of results in total; a leak of them would show.
        expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024)
      } finally {
        await sampler.close()
      }
    })
  })
})
