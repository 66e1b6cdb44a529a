// The VecEnv contract: clipping, horizons, auto-reset versus manual freezing, per-env resets and tasks.
import { describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import * as E from 'fp-ts/lib/Either.js'
import { envSpecs } from '../../src/envs/registry.js'
import { Goal1dTask } from '../../src/envs/tasks.js'
import { makeVecEnv, type SimCore } from '../../src/envs/vecEnv.js'
import { makeEnv, must, sameBits, stepOk } from './support.js'

describe('envs/VecEnv', () => {
  describe('step', () => {
    it('clips actions to the control range: an action of 5 acts as 1', async () => {
      const env = await makeEnv(envSpecs['halfcheetah-dir'], { n: 2 })
      try {
        must(env.reset([3, 3]))
        const res = stepOk(env, [5, -7, 0.5, 1, 2, -1, 1, -1, 0.5, 1, 1, -1])
        expect(sameBits(must(env.getState(0)), must(env.getState(1)))).toBe(true)
        expect(res.reward[0]).toBe(res.reward[1]) // the control cost uses the clipped action too
      } finally {
        env.dispose()
      }
      expect(envSpecs['humanoid-dir'].actionLow[0]).toBe(-0.4)
    })

    it('returns fresh arrays of the documented shapes', async () => {
      const env = await makeEnv(envSpecs['ant-dir'], { n: 3 })
      try {
        const obs0 = must(env.reset(1))
        expect(obs0).toHaveLength(3 * 111)
        const res = stepOk(env, new Float32Array(24))
        expect(res.obs).toHaveLength(333)
        expect(res.finalObs).toHaveLength(333)
        for (const a of [res.reward, res.done, res.terminated, res.truncated, res.diverged, res.active])
          expect(a).toHaveLength(3)
        // The task is not in the observation, nor is the torso's x and y: obs[0] is the height qpos[2].
        expect(res.obs[0]).toBeCloseTo(must(env.getState(0))[2], 6)
        res.obs[0] = 1234 // the caller owns it
        expect(env.observations()[0]).not.toBe(1234)
      } finally {
        env.dispose()
      }
    })
  })

  describe('auto-reset', () => {
    it("'auto': an env reaching the horizon reports truncated, finalObs holds its last obs, obs the new start", async () => {
      const env = await makeEnv(envSpecs.point2d, {
        n: 2,
        horizon: 3,
        tasks: [{ goal: [0.4, 0.4] }, { goal: [0.4, 0.4] }]
      })
      must(env.reset(0))
      let res = stepOk(env, [0.1, 0.1, 0.05, 0])
      res = stepOk(env, [0.1, 0.1, 0.05, 0])
      expect(Array.from(res.done)).toEqual([0, 0])
      res = stepOk(env, [0.1, 0.1, 0.05, 0])
      expect(Array.from(res.truncated)).toEqual([1, 1])
      expect(Array.from(res.terminated)).toEqual([0, 0])
      expect(Array.from(res.finalObs)).toEqual([0.30000001192092896, 0.30000001192092896, 0.15000000596046448, 0])
      expect(Array.from(res.obs)).toEqual([0, 0, 0, 0])
      expect(Array.from(stepOk(env, [0, 0, 0, 0]).active)).toEqual([1, 1])
    })

    it("'manual': a finished env is frozen (active 0, reward 0, done 1, obs unchanged) until reset", async () => {
      const env = await makeEnv(envSpecs.point2d, { n: 2, horizon: 2, autoReset: 'manual' })
      must(env.reset(0))
      stepOk(env, [0.1, 0, 0, 0.1])
      const end = stepOk(env, [0.1, 0, 0, 0.1])
      expect(Array.from(end.done)).toEqual([1, 1])
      const frozen = stepOk(env, [0.1, 0.1, 0.1, 0.1])
      expect(Array.from(frozen.active)).toEqual([0, 0])
      expect(Array.from(frozen.done)).toEqual([1, 1])
      expect(Array.from(frozen.reward)).toEqual([0, 0])
      expect(sameBits(frozen.obs, end.obs)).toBe(true)
      expect(Array.from(must(env.resetEnv(1, 4)))).toEqual([0, 0])
      const partly = stepOk(env, [0.1, 0.1, 0.1, 0.1])
      expect(Array.from(partly.active)).toEqual([0, 1])
    })

    it('termination ends an episode before the horizon (point2d reaching its goal)', async () => {
      const env = await makeEnv(envSpecs.point2d, { n: 1, tasks: [{ goal: [0.2, -0.1] }] })
      must(env.reset(0))
      stepOk(env, [0.1, -0.1])
      const res = stepOk(env, [0.1, 0])
      expect(res.terminated[0]).toBe(1)
      expect(res.reward[0]).toBeCloseTo(-0, 6)
    })
  })

  describe('reset and tasks', () => {
    it('reset(seed) seeds env i with rngAt(seed, i); a per-env seed list uses rngAt(seed_i)', async () => {
      const env = await makeEnv(envSpecs.point1d, { n: 3 })
      const a = must(env.reset(42))
      const b = must(env.reset([rngAt(42, 0), rngAt(42, 1), rngAt(42, 2)]))
      expect(sameBits(a, b)).toBe(true)
      const c = must(env.reset([7, 8, 9]))
      expect(c[0]).toBe(must(env.reset([rngAt(7), rngAt(8), rngAt(9)]))[0])
      expect(new Set(Array.from(a)).size).toBe(3)
    })

    it('resetEnv alone starts one env; envs never reset stay idle (active 0, done 1)', async () => {
      const env = await makeEnv(envSpecs.point2d, { n: 3 })
      must(env.resetEnv(1, 5))
      const res = stepOk(env, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
      expect(Array.from(res.active)).toEqual([0, 1, 0])
      expect(Array.from(res.done)).toEqual([1, 0, 1])
      expect(Array.from(res.obs)).toEqual([0, 0, 0.10000000149011612, 0.10000000149011612, 0, 0])
    })

    it('setTasks changes the reward from the next step on, without resetting the state', async () => {
      const env = await makeEnv(envSpecs.point1d, { n: 1, tasks: [{ goal: 1 }] })
      must(env.reset(1))
      const s = must(env.getState(0))
      must(env.setTasks([{ goal: -1 }]))
      expect(sameBits(must(env.getState(0)), s)).toBe(true)
      expect(env.tasks()).toEqual([{ goal: -1 }])
      expect(stepOk(env, [0.5]).reward[0]).toBeCloseTo(Math.exp(-0.1 * 1.5 * 1.5), 12)
    })
  })

  describe('makeVecEnv', () => {
    // A fake core: its "reading" is the action, the reward and the observation echo it, so a test can
    // feed NaN or Infinity past the action checks of a real core.
    const fake = (): SimCore<{ readonly v: number }, Goal1dTask> => {
      const s = new Float64Array(2)
      return {
        obsDim: 1,
        actDim: 1,
        stateDim: 1,
        actionLow: [-1e300],
        actionHigh: [1e300],
        reset: (i) => {
          s[i] = 0
        },
        observe: (i, out, offset) => {
          out[offset] = s[i]
        },
        step: (i, a) => {
          s[i] = a[0] * 1e300 // 1e300 overflows float32: an infinite observation
          return { _tag: 'Ok', readings: { v: a[0] === 7 ? NaN : a[0] } }
        },
        getState: (i) => Float64Array.of(s[i]),
        setState: (i, st) => {
          s[i] = st[0]
        },
        dispose: () => undefined
      }
    }
    const family = {
      id: 'point1d' as const,
      description: 'fake',
      taskCodec: Goal1dTask,
      sampleTasks: () => [],
      defaultTask: { goal: 0 },
      reward: (r: { readonly v: number }) => ({ reward: r.v, terminated: false })
    }

    it('treats a NaN reward or a non-finite observation from the core as a divergence, never returning them', () => {
      const env = makeVecEnv(fake(), family, { n: 2, horizon: 10, autoReset: 'auto', terminateWhenUnhealthy: true })
      if (E.isLeft(env)) throw new Error('make failed')
      must(env.right.reset(0))
      const res = stepOk(env.right, [7, 0]) // env 0: NaN reward
      expect(Array.from(res.diverged)).toEqual([1, 0])
      expect(res.events[0].message).toContain('the reward was NaN')
      const res2 = stepOk(env.right, [0, 1]) // env 1: reward 1 but observation 1e300 -> Infinity in float32
      expect(Array.from(res2.diverged)).toEqual([0, 1])
      expect(res2.events[0].message).toContain('observation component 0 was Infinity')
      for (const r of [res, res2]) {
        expect(r.reward.every(Number.isFinite)).toBe(true)
        expect(r.obs.every(Number.isFinite)).toBe(true)
        expect(r.finalObs.every(Number.isFinite)).toBe(true)
      }
    })
  })
})
