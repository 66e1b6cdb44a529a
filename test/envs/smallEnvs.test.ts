// The exact small environments: point1d (paper 5.3), point2d (MAML navigation), random tabular MDPs.
import { describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { point1dReward, point2dReward } from '../../src/envs/pointEnvs.js'
import { envSpecs, tabularMdpSpec } from '../../src/envs/registry.js'
import { tabularExpectedReturn } from '../../src/envs/tabularMdp.js'
import type { TabularMdpTask } from '../../src/envs/tasks.js'
import { makeEnv, must, stepOk } from './support.js'

describe('envs/small', () => {
  describe('point1d', () => {
    it("starts uniformly in [-2, 2], moves to s' = a and pays exp(-0.1 (s' - g)^2) over 5 steps", async () => {
      const env = await makeEnv(envSpecs.point1d, { n: 1000, tasks: Array(1000).fill({ goal: 0.5 }) })
      const s0 = Array.from(must(env.reset(3)))
      expect(Math.min(...s0)).toBeGreaterThanOrEqual(-2)
      expect(Math.max(...s0)).toBeLessThan(2)
      const mean = s0.reduce((a, b) => a + b, 0) / s0.length
      expect(Math.abs(mean)).toBeLessThan(4 * Math.sqrt(16 / 12 / 1000)) // U[-2,2]: sd 1.155/sqrt(n)
      const actions = Float32Array.from({ length: 1000 }, (_, i) => -1 + (2 * i) / 1000)
      for (let t = 0; t < 5; t++) {
        const res = stepOk(env, actions)
        for (const i of [0, 250, 999]) {
          expect(res.reward[i]).toBeCloseTo(Math.exp(-0.1 * (actions[i] - 0.5) ** 2), 12)
          if (t < 4) expect(res.obs[i]).toBe(actions[i])
        }
        expect(res.truncated[0]).toBe(t === 4 ? 1 : 0)
      }
      expect(point1dReward({ x: 0.5, y: 0 }, [0.5], { goal: 0.5 }).reward).toBe(1)
    })
  })

  describe('point2d', () => {
    it('starts at the origin, clips each move to [-0.1, 0.1] and pays minus the distance to the goal', async () => {
      const env = await makeEnv(envSpecs.point2d, { n: 1, tasks: [{ goal: [0.3, -0.2] }] })
      expect(Array.from(must(env.reset(1)))).toEqual([0, 0])
      const res = stepOk(env, [0.5, -0.05])
      expect(Array.from(must(env.getState(0)))).toEqual([0.1, -0.05])
      expect(res.reward[0]).toBeCloseTo(-Math.hypot(0.1 - 0.3, -0.05 + 0.2), 12)
      expect(point2dReward({ x: 0.295, y: -0.205 }, [0, 0], { goal: [0.3, -0.2] }).terminated).toBe(true)
      expect(point2dReward({ x: 0.28, y: -0.2 }, [0, 0], { goal: [0.3, -0.2] }).terminated).toBe(false)
    })
  })

  describe('tabular-mdp', () => {
    const task: TabularMdpTask = {
      nStates: 3,
      nActions: 2,
      initial: [0.2, 0.5, 0.3],
      transition: [0.1, 0.6, 0.3, 1, 0, 0, 0, 0.5, 0.5, 0.2, 0.2, 0.6, 0.3, 0.3, 0.4, 0, 1, 0],
      reward: [1, -1, 0.5, 2, 0, 3]
    }

    it('observes a one-hot state, pays R[s, a], and moves as P(. | s, a) says (z-tests, 20000 steps)', async () => {
      const n = 2000
      const env = await makeEnv(envSpecs['tabular-mdp'], { n, tasks: Array(n).fill(task), horizon: 1000 })
      let obs = must(env.reset(5))
      const counts = new Map<string, number[]>()
      for (let t = 0; t < 10; t++) {
        const actions = Float32Array.from({ length: n }, (_, i) => (i + t) % 2)
        const res = stepOk(env, actions)
        for (let i = 0; i < n; i++) {
          const hot = Array.from(obs.subarray(3 * i, 3 * i + 3))
          expect(hot.reduce((a, b) => a + b, 0)).toBe(1)
          const s = hot.indexOf(1)
          const a = actions[i]
          expect(res.reward[i]).toBe(task.reward[s * 2 + a])
          const next = Array.from(res.obs.subarray(3 * i, 3 * i + 3)).indexOf(1)
          const key = `${s},${a}`
          const c = counts.get(key) ?? [0, 0, 0]
          c[next]++
          counts.set(key, c)
        }
        obs = res.obs
      }
      for (const [key, c] of counts) {
        const [s, a] = key.split(',').map(Number)
        const total = c.reduce((x, y) => x + y, 0)
        c.forEach((k, s2) => {
          const p = task.transition[(s * 2 + a) * 3 + s2]
          const sd = Math.sqrt((p * (1 - p)) / total)
          expect(Math.abs(k / total - p)).toBeLessThanOrEqual(4 * sd + 1e-12)
        })
      }
    })

    it('tabularExpectedReturn equals the Monte-Carlo mean return of the env (z-test, 20000 episodes)', async () => {
      const horizon = 4
      const policy = (t: number, s: number): number[] =>
        [0.3 + 0.1 * s, 0.7 - 0.1 * s].map((p) => (t % 2 === 0 ? p : 1 - p))
      const exact = tabularExpectedReturn(task, horizon, policy)
      const n = 20000
      const spec = tabularMdpSpec({ nStates: 3, nActions: 2, horizon })
      const env = await makeEnv(spec, { n, tasks: Array(n).fill(task), autoReset: 'manual' })
      let obs = must(env.reset(11))
      const rng = rngAt(12)
      const ret = new Float64Array(n)
      for (let t = 0; t < horizon; t++) {
        const actions = Float32Array.from({ length: n }, (_, i) => {
          const s = Array.from(obs.subarray(3 * i, 3 * i + 3)).indexOf(1)
          return rng.next() < policy(t, s)[0] ? 0 : 1
        })
        const res = stepOk(env, actions)
        for (let i = 0; i < n; i++) ret[i] += res.reward[i]
        obs = res.obs
      }
      const mean = ret.reduce((a, b) => a + b, 0) / n
      const sd = Math.sqrt(ret.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) / n)
      expect(Math.abs(mean - exact)).toBeLessThan(4 * sd)
    })

    it('sampleTasks draws valid MDPs of the spec size; tasks of another size are refused', async () => {
      const spec = tabularMdpSpec({ nStates: 4, nActions: 3, horizon: 2 })
      const tasks = spec.sampleTasks(rngAt(1), 5)
      tasks.forEach((m) => expect(spec.taskCodec.is(m)).toBe(true))
      expect(tasks[0].transition).toHaveLength(4 * 3 * 4)
      const env = await makeEnv(spec, { n: 1 })
      expect(env.obsDim).toBe(4)
      expect(env.setTasks([task])._tag).toBe('Left')
      expect(() => tabularMdpSpec({ nStates: 0, nActions: 1, horizon: 1 })).toThrow(RangeError)
    })
  })
})
