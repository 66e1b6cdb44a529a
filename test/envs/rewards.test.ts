// Every family's reward, recomputed by hand from the simulator state around one step; how the task
// changes it; and the termination rules.
import type { MjData, MjModel } from 'mujoco-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileModel, getMujoco, type Mujoco } from '../../src/envs/mujoco.js'
import { envSpecs, type EnvSpec } from '../../src/envs/registry.js'
import * as R from '../../src/envs/rewards.js'
import { robots, type RobotName } from '../../src/envs/robots.js'
import { makeEnv, must, stepOk } from './support.js'

// -------------------------------------------------------------------------------------------------
// An independent reading of the simulator: a fresh MjData set to a state, then mj_forward and
// mj_rnePostConstraint, so that contact forces and centres of mass do not come from the env's code.
// -------------------------------------------------------------------------------------------------

let mj: Mujoco
const sims = new Map<RobotName, { m: MjModel; d: MjData }>()
beforeAll(async () => {
  mj = await getMujoco()
})
afterAll(() => {
  for (const { m, d } of sims.values()) {
    d.delete()
    m.delete()
  }
})

interface SimReading {
  readonly cfrcExt: Float64Array
  readonly comX: number
  readonly comY: number
}

const readSim = (robot: RobotName, state: Float64Array): SimReading => {
  let sim = sims.get(robot)
  if (sim === undefined) {
    const m = must(compileModel(mj, robot, robots[robot].xml))
    sim = { m, d: new mj.MjData(m) }
    sims.set(robot, sim)
  }
  const { m, d } = sim
  const r = robots[robot]
  ;(d.qpos as Float64Array).set(state.subarray(0, r.nq))
  ;(d.qvel as Float64Array).set(state.subarray(r.nq))
  mj.mj_forward(m, d)
  mj.mj_rnePostConstraint(m, d)
  const mass = m.body_mass as Float64Array
  const xipos = d.xipos as Float64Array
  let total = 0
  let x = 0
  let y = 0
  for (let b = 0; b < m.nbody; b++) {
    total += mass[b]
    x += mass[b] * xipos[3 * b]
    y += mass[b] * xipos[3 * b + 1]
  }
  return { cfrcExt: Float64Array.from(d.cfrc_ext as Float64Array), comX: x / total, comY: y / total }
}

const zero: R.Readings = { dt: 1, xBefore: 0, yBefore: 0, xAfter: 0, yAfter: 0, height: 0, angle: 0, contactSq: 0 }

const sq = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v * v, 0)
const clip = (a: ArrayLike<number>, lo: number, hi: number): number[] =>
  Array.from(a, (v) => Math.min(hi, Math.max(lo, v)))

// -------------------------------------------------------------------------------------------------
// One step around which the test reads the state.
// -------------------------------------------------------------------------------------------------

interface Observed {
  readonly s0: Float64Array
  readonly s1: Float64Array
  readonly obs: Float32Array
  readonly reward: number
  readonly terminated: boolean
}

/**
 * Reset with `seed`, take `warm` steps of a fixed gait (of zero controls with `still`: robots that must
 * land first), then the measured step with `action`.
 */
const observeStep = async <T>(
  spec: EnvSpec<T>,
  task: NoInfer<T>,
  action: ReadonlyArray<number>,
  warm: number,
  still = false,
  seed = 11
): Promise<Observed> => {
  const env = await makeEnv(spec, { n: 1, tasks: [task], autoReset: 'manual' })
  try {
    must(env.reset(seed))
    for (let t = 0; t < warm; t++) {
      const res = stepOk(
        env,
        Array.from({ length: env.actDim }, (_, k) => (still ? 0 : 0.5 * Math.sin(t + k)))
      )
      if (res.done[0] === 1) throw new Error(`the warm-up ended the episode at step ${t}`)
    }
    const s0 = must(env.getState(0))
    const res = stepOk(env, action)
    return { s0, s1: must(env.getState(0)), obs: res.obs, reward: res.reward[0], terminated: res.terminated[0] === 1 }
  } finally {
    env.dispose()
  }
}

// Actions with components outside the control range: the control cost uses the clipped action.
const a6 = [0.3, -1.7, 0.9, 2.5, -0.2, 0.6]
const a8 = [0.3, -1.7, 0.9, 2.5, -0.2, 0.6, -0.4, 1.1]
const a2 = [1.4, -0.3]
const a17 = Array.from({ length: 17 }, (_, k) => 0.5 * Math.sin(3 * k + 1)) // some beyond +-0.4

describe('envs/rewards', () => {
  describe('one step equals the hand computation from the simulator state', () => {
    it('halfcheetah-dir: dir * vx - 0.05 ||a||^2', async () => {
      const o = await observeStep(envSpecs['halfcheetah-dir'], { direction: -1 }, a6, 5)
      const vx = (o.s1[0] - o.s0[0]) / (0.01 * 5)
      expect(o.reward).toBeCloseTo(-1 * vx - 0.05 * sq(clip(a6, -1, 1)), 9)
      expect(o.terminated).toBe(false)
    })

    it('halfcheetah-vel: -|vx - v*| - 0.05 ||a||^2', async () => {
      const o = await observeStep(envSpecs['halfcheetah-vel'], { velocity: 1.3 }, a6, 5)
      const vx = (o.s1[0] - o.s0[0]) / 0.05
      expect(o.reward).toBeCloseTo(-Math.abs(vx - 1.3) - 0.05 * sq(clip(a6, -1, 1)), 9)
    })

    const antContact = (s1: Float64Array): number => sq(clip(readSim('ant', s1).cfrcExt, -1, 1))

    it('ant-dir: dir * vx - 0.5 ||a||^2 - 5e-4 ||clip(cfrc_ext, -1, 1)||^2 + 1 (feet on the ground)', async () => {
      const o = await observeStep(envSpecs['ant-dir'], { direction: 1 }, a8, 25, true)
      const vx = (o.s1[0] - o.s0[0]) / 0.05
      const contact = antContact(o.s1)
      expect(contact).toBeGreaterThan(0.1) // the contact term is really exercised
      expect(o.reward).toBeCloseTo(vx - 0.5 * sq(clip(a8, -1, 1)) - 5e-4 * contact + 1, 6)
    })

    it('ant-dir2d: <(vx, vy), d> - 0.5 ||a||^2 - contact + 1', async () => {
      const d = [Math.cos(2), Math.sin(2)] as const
      const o = await observeStep(envSpecs['ant-dir2d'], { direction: d }, a8, 25, true)
      const vx = (o.s1[0] - o.s0[0]) / 0.05
      const vy = (o.s1[1] - o.s0[1]) / 0.05
      const expected = vx * d[0] + vy * d[1] - 0.5 * sq(clip(a8, -1, 1)) - 5e-4 * antContact(o.s1) + 1
      expect(o.reward).toBeCloseTo(expected, 6)
    })

    it('ant-goal: -||xy - g||_1 - 0.1 ||a||^2 - contact + 1', async () => {
      const g = [1.5, -2] as const
      const o = await observeStep(envSpecs['ant-goal'], { goal: g }, a8, 25, true)
      const dist = Math.abs(o.s1[0] - g[0]) + Math.abs(o.s1[1] - g[1])
      expect(o.reward).toBeCloseTo(-dist - 0.1 * sq(clip(a8, -1, 1)) - 5e-4 * antContact(o.s1) + 1, 6)
    })

    it('walker-dir: dir * vx + 1 - 1e-3 ||a||^2', async () => {
      const o = await observeStep(envSpecs['walker-dir'], { direction: 1 }, a6, 5)
      const vx = (o.s1[0] - o.s0[0]) / (0.002 * 4)
      expect(o.reward).toBeCloseTo(vx + 1 - 1e-3 * sq(clip(a6, -1, 1)), 9)
    })

    it('walker-vel: -|vx - v*| + 1 - 1e-3 ||a||^2', async () => {
      const o = await observeStep(envSpecs['walker-vel'], { velocity: 0.4 }, a6, 5)
      const vx = (o.s1[0] - o.s0[0]) / 0.008
      expect(o.reward).toBeCloseTo(-Math.abs(vx - 0.4) + 1 - 1e-3 * sq(clip(a6, -1, 1)), 9)
    })

    it('swimmer-vel: -|vx - v*| - 1e-4 ||a||^2', async () => {
      const o = await observeStep(envSpecs['swimmer-vel'], { velocity: 0.2 }, a2, 10)
      const vx = (o.s1[0] - o.s0[0]) / (0.01 * 4)
      expect(o.reward).toBeCloseTo(-Math.abs(vx - 0.2) - 1e-4 * sq(clip(a2, -1, 1)), 9)
    })

    // Humanoid's PGS solver (50 iterations) does not fully converge, so its contact forces depend on the
    // solver's warm start, which is part of MuJoCo's state but not of (qpos, qvel): a fresh MjData would
    // give other forces. The impact term is therefore recomputed from the observation, whose last 84
    // entries are the raw cfrc_ext (float32); the centre of mass comes from an independent MjData.
    const humanoidTerms = (o: Observed) => {
      const before = readSim('humanoid', o.s0)
      const after = readSim('humanoid', o.s1)
      const dt = 0.003 * 5
      return {
        vx: (after.comX - before.comX) / dt,
        vy: (after.comY - before.comY) / dt,
        impact: Math.min(5e-7 * sq(o.obs.subarray(376 - 84)), 10),
        ctrl: 0.1 * sq(clip(a17, -0.4, 0.4))
      }
    }

    it('humanoid-dir: 0.25 dir * com vx - 0.1 ||a||^2 - min(5e-7 ||cfrc_ext||^2, 10) + 5', async () => {
      const o = await observeStep(envSpecs['humanoid-dir'], { direction: -1 }, a17, 15, true)
      const h = humanoidTerms(o)
      expect(h.impact).toBeGreaterThan(0) // standing on its feet: contact forces are non-zero
      expect(o.reward).toBeCloseTo(0.25 * -1 * h.vx - h.ctrl - h.impact + 5, 4)
    })

    it('humanoid-dir2d: 0.25 <com v_xy, d> - 0.1 ||a||^2 - impact + 5', async () => {
      const d = [Math.cos(-0.7), Math.sin(-0.7)] as const
      const o = await observeStep(envSpecs['humanoid-dir2d'], { direction: d }, a17, 15, true)
      const h = humanoidTerms(o)
      expect(o.reward).toBeCloseTo(0.25 * (h.vx * d[0] + h.vy * d[1]) - h.ctrl - h.impact + 5, 4)
    })
  })

  describe('the task changes the reward as specified (same physics, two tasks)', () => {
    /** Two envs with identical starts and actions, different tasks: rewards per env after `steps` steps. */
    const twin = async <T>(
      spec: EnvSpec<T>,
      tasks: readonly [NoInfer<T>, NoInfer<T>],
      action: ReadonlyArray<number>,
      steps = 4
    ) => {
      const env = await makeEnv(spec, { n: 2, tasks, autoReset: 'manual' })
      try {
        must(env.reset([21, 21]))
        let s0 = must(env.getState(0))
        let last = stepOk(env, [...action, ...action])
        for (let t = 1; t < steps; t++) {
          s0 = must(env.getState(0))
          last = stepOk(env, [...action, ...action])
        }
        const s1 = must(env.getState(0))
        expect(Array.from(must(env.getState(1)))).toEqual(Array.from(s1)) // tasks do not touch the physics
        return { r: [last.reward[0], last.reward[1]] as const, s0, s1 }
      } finally {
        env.dispose()
      }
    }

    it('direction families: r(+1) - r(-1) = 2 x the velocity term', async () => {
      for (const [id, scale] of [
        ['halfcheetah-dir', 1],
        ['walker-dir', 1]
      ] as const) {
        const spec = envSpecs[id]
        const dt = spec.dt ?? NaN
        const { r, s0, s1 } = await twin(spec, [{ direction: 1 }, { direction: -1 }], [0.4, -0.4, 0.2, 0.1, 0, -0.3])
        expect(r[0] - r[1]).toBeCloseTo((2 * scale * (s1[0] - s0[0])) / dt, 9)
      }
      const ant = await twin(envSpecs['ant-dir'], [{ direction: 1 }, { direction: -1 }], a8)
      expect(ant.r[0] - ant.r[1]).toBeCloseTo((2 * (ant.s1[0] - ant.s0[0])) / 0.05, 9)
      const hum = await twin(envSpecs['humanoid-dir'], [{ direction: 1 }, { direction: -1 }], a17, 2)
      const vx = (readSim('humanoid', hum.s1).comX - readSim('humanoid', hum.s0).comX) / 0.015
      expect(hum.r[0] - hum.r[1]).toBeCloseTo(2 * 0.25 * vx, 6)
    })

    it('velocity families: r(v1) - r(v2) = |vx - v2| - |vx - v1|', async () => {
      for (const id of ['halfcheetah-vel', 'walker-vel', 'swimmer-vel'] as const) {
        const spec = envSpecs[id]
        const action = id === 'swimmer-vel' ? a2 : a6
        const { r, s0, s1 } = await twin(spec, [{ velocity: 0.3 }, { velocity: 1.8 }], action)
        const vx = (s1[0] - s0[0]) / (spec.dt ?? NaN)
        expect(r[0] - r[1]).toBeCloseTo(Math.abs(vx - 1.8) - Math.abs(vx - 0.3), 9)
      }
    })

    it('2-D direction families: r(d1) - r(d2) = <v, d1 - d2> (x 0.25 for Humanoid)', async () => {
      const ant = await twin(envSpecs['ant-dir2d'], [{ direction: [1, 0] }, { direction: [0, 1] }], a8)
      const v = [(ant.s1[0] - ant.s0[0]) / 0.05, (ant.s1[1] - ant.s0[1]) / 0.05]
      expect(ant.r[0] - ant.r[1]).toBeCloseTo(v[0] - v[1], 9)
      const hum = await twin(envSpecs['humanoid-dir2d'], [{ direction: [0, 1] }, { direction: [0, -1] }], a17, 2)
      const vy = (readSim('humanoid', hum.s1).comY - readSim('humanoid', hum.s0).comY) / 0.015
      expect(hum.r[0] - hum.r[1]).toBeCloseTo(0.25 * 2 * vy, 6)
    })

    it('ant-goal: r(g1) - r(g2) = ||xy - g2||_1 - ||xy - g1||_1', async () => {
      const g1 = [2, 1] as const
      const g2 = [-1, -3] as const
      const { r, s1 } = await twin(envSpecs['ant-goal'], [{ goal: g1 }, { goal: g2 }], a8)
      const l1 = (g: readonly [number, number]) => Math.abs(s1[0] - g[0]) + Math.abs(s1[1] - g[1])
      expect(r[0] - r[1]).toBeCloseTo(l1(g2) - l1(g1), 9)
    })
  })

  describe('termination rules', () => {
    /** Set env 0's state, take one zero-action step and report termination. */
    const afterState = async <T>(spec: EnvSpec<T>, edit: (s: Float64Array) => void, terminateWhenUnhealthy = true) => {
      const env = await makeEnv(spec, { n: 1, terminateWhenUnhealthy, autoReset: 'manual' })
      try {
        must(env.reset(5))
        const s = must(env.getState(0))
        edit(s)
        must(env.setState(0, s))
        const res = stepOk(env, new Float32Array(env.actDim))
        return { terminated: res.terminated[0] === 1, done: res.done[0] === 1, state: must(env.getState(0)) }
      } finally {
        env.dispose()
      }
    }

    it('Walker2d: fallen (height 0.5) or pitched over (1.2 rad) ends the episode; upright does not', async () => {
      const walker = envSpecs['walker-dir']
      expect((await afterState(walker, (s) => (s[1] = 0.5))).terminated).toBe(true)
      expect((await afterState(walker, (s) => (s[2] = 1.2))).terminated).toBe(true)
      expect((await afterState(walker, (s) => (s[2] = -1.2))).terminated).toBe(true)
      expect((await afterState(walker, () => undefined)).terminated).toBe(false)
      expect((await afterState(walker, (s) => (s[1] = 0.5), false)).done).toBe(false) // rules off
    })

    it('Walker2d falls by itself without control, and the episode ends by rule', async () => {
      const env = await makeEnv(envSpecs['walker-vel'], { n: 1 })
      try {
        must(env.reset(6))
        let ended = -1
        for (let t = 0; t < 200 && ended < 0; t++) {
          const res = stepOk(env, new Float32Array(6))
          if (res.done[0] === 1) {
            expect(res.terminated[0]).toBe(1)
            const [height, pitch] = [res.finalObs[0], res.finalObs[1]]
            expect(height <= 0.8 || Math.abs(pitch) >= 1).toBe(true)
            ended = t
          }
        }
        expect(ended).toBeGreaterThan(0)
      } finally {
        env.dispose()
      }
    })

    it('Ant: the torso leaving [0.2, 1] ends the episode (thrown up to 1.5 m; the bounds of the rule)', async () => {
      const ant = envSpecs['ant-dir']
      expect((await afterState(ant, (s) => (s[2] = 1.5))).terminated).toBe(true)
      expect(R.antHealthy({ ...zero, height: 0.19 })).toBe(false)
      expect(R.antHealthy({ ...zero, height: 1.01 })).toBe(false)
      expect(R.antHealthy({ ...zero, height: 0.2 })).toBe(true)
      expect((await afterState(ant, () => undefined)).terminated).toBe(false)
    })

    it('Ant flipped over: lying on its back (torso ~0.26 m) does NOT end the episode under the height rule', async () => {
      // ENVS.md's rule (the Gym one) looks at the height only. An Ant on its back rests on its torso
      // sphere (radius 0.25), inside [0.2, 1]: the episode goes on. This test pins that fact.
      const env = await makeEnv(envSpecs['ant-dir'], { n: 1, autoReset: 'manual', horizon: 1000 })
      try {
        must(env.reset(7))
        const s = must(env.getState(0))
        s.set([0, 0, 0.75, 0, 1, 0, 0], 0) // rotated 180 degrees about x
        s.fill(0, 15)
        must(env.setState(0, s))
        let terminated = false
        for (let t = 0; t < 60; t++) terminated ||= stepOk(env, new Float32Array(8)).terminated[0] === 1
        const end = must(env.getState(0))
        const upZ = 1 - 2 * (end[4] ** 2 + end[5] ** 2) // z component of the torso's z axis
        expect(upZ).toBeLessThan(-0.9) // it is on its back
        expect(end[2]).toBeGreaterThan(0.2)
        expect(terminated).toBe(false)
      } finally {
        env.dispose()
      }
    })

    it('Humanoid: falling below 1 m (no control) or lifted above 2 m ends the episode', async () => {
      const env = await makeEnv(envSpecs['humanoid-dir'], { n: 1 })
      try {
        must(env.reset(8))
        let ended = false
        for (let t = 0; t < 100 && !ended; t++) {
          const res = stepOk(env, new Float32Array(17))
          if (res.done[0] === 1) {
            expect(res.terminated[0]).toBe(1)
            expect(res.finalObs[0]).toBeLessThan(1) // obs[0] = qpos[2], the torso height
            ended = true
          }
        }
        expect(ended).toBe(true)
      } finally {
        env.dispose()
      }
      expect((await afterState(envSpecs['humanoid-dir'], (s) => (s[2] = 2.5))).terminated).toBe(true)
    })

    it('HalfCheetah and Swimmer never terminate: their episodes end at the horizon', async () => {
      const env = await makeEnv(envSpecs['halfcheetah-vel'], { n: 1, horizon: 7 })
      try {
        must(env.reset(9))
        const ends: number[] = []
        for (let t = 0; t < 21; t++) {
          const res = stepOk(env, [1, -1, 1, -1, 1, -1])
          expect(res.terminated[0]).toBe(0)
          if (res.truncated[0] === 1) ends.push(t)
        }
        expect(ends).toEqual([6, 13, 20])
      } finally {
        env.dispose()
      }
      expect(R.swimmerVel({ ...zero, height: -100 }, [0, 0], { velocity: 1 }).terminated).toBe(false)
    })
  })

  describe('pure reward functions (hand-computed numbers)', () => {
    const r: R.Readings = {
      dt: 0.05,
      xBefore: 1,
      yBefore: 2,
      xAfter: 1.1,
      yAfter: 1.95,
      height: 0.5,
      angle: 0.2,
      contactSq: 40
    }
    it.each([
      ['halfCheetahDir', R.halfCheetahDir(r, [1, 1], { direction: -1 }).reward, -2 - 0.1],
      ['halfCheetahVel', R.halfCheetahVel(r, [1, 1], { velocity: 0.5 }).reward, -1.5 - 0.1],
      ['antDir', R.antDir(r, [1, 1], { direction: 1 }).reward, 2 - 1 - 0.02 + 1],
      ['antDir2d', R.antDir2d(r, [1, 1], { direction: [0, 1] }).reward, -1 - 1 - 0.02 + 1],
      ['antGoal', R.antGoal(r, [1, 1], { goal: [0, 0] }).reward, -3.05 - 0.2 - 0.02 + 1],
      ['walkerDir', R.walkerDir(r, [1, 1], { direction: 1 }).reward, 2 + 1 - 0.002],
      ['walkerVel', R.walkerVel(r, [1, 1], { velocity: 2.5 }).reward, -0.5 + 1 - 0.002],
      ['swimmerVel', R.swimmerVel(r, [1, 1], { velocity: 0 }).reward, -2 - 0.0002],
      ['humanoidDir', R.humanoidDir(r, [1, 1], { direction: 1 }).reward, 0.5 - 0.2 - 2e-5 + 5],
      ['humanoidDir2d', R.humanoidDir2d(r, [1, 1], { direction: [0, -1] }).reward, 0.25 - 0.2 - 2e-5 + 5],
      [
        'humanoid impact is capped at 10',
        R.humanoidDir({ ...r, contactSq: 1e9 }, [], { direction: 1 }).reward,
        0.5 - 10 + 5
      ]
    ])('%s', (_name, got, expected) => {
      expect(got).toBeCloseTo(expected, 12)
    })
  })
})
