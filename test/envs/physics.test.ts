// Physical sanity of the authored models: free fall matches the integrator's exact discrete solution,
// an unactuated robot settles without exploding, and actuation moves it.
import { afterAll, describe, expect, it } from 'vitest'
import { compileModel, getMujoco } from '../../src/envs/mujoco.js'
import { envSpecs, type EnvSpec } from '../../src/envs/registry.js'
import { robots, type RobotName } from '../../src/envs/robots.js'
import type { VecEnv } from '../../src/envs/vecEnv.js'
import { makeEnv, must, stepOk } from './support.js'

const g = 9.81

/** qpos0, except hinges whose limits exclude 0 (Ant ankles, Humanoid knees) sit mid-range. */
const restingPose = async (robot: RobotName): Promise<Float64Array> => {
  const mj = await getMujoco()
  const m = must(compileModel(mj, robot, robots[robot].xml))
  try {
    const qpos = Float64Array.from(m.qpos0 as Float64Array)
    const type = Int32Array.from(m.jnt_type as Int32Array)
    const adr = Int32Array.from(m.jnt_qposadr as Int32Array)
    const limited = Uint8Array.from(m.jnt_limited as Uint8Array)
    const range = Float64Array.from(m.jnt_range as Float64Array)
    for (let j = 0; j < m.njnt; j++) {
      const [lo, hi] = [range[2 * j], range[2 * j + 1]]
      if (type[j] === 3 && limited[j] === 1 && !(qpos[adr[j]] > lo && qpos[adr[j]] < hi)) qpos[adr[j]] = (lo + hi) / 2
    }
    return qpos
  } finally {
    m.delete()
  }
}

const made: Array<VecEnv<unknown>> = []
const open = async <T>(spec: EnvSpec<T>, n = 1, terminateWhenUnhealthy = false): Promise<VecEnv<T>> => {
  const env = await makeEnv(spec, { n, terminateWhenUnhealthy, horizon: 10_000 })
  made.push(env as VecEnv<unknown>)
  return env
}
afterAll(() => made.forEach((e) => e.dispose()))

/** Index of the torso height in qpos, and whether the model integrates with RK4 (exact for free fall). */
/** `floor`: the value of qpos[zIndex] at which the torso's origin would touch the ground. */
const cases: ReadonlyArray<{ robot: RobotName; spec: EnvSpec<unknown>; zIndex: number; rk4: boolean; floor: number }> =
  [
    { robot: 'halfcheetah', spec: envSpecs['halfcheetah-dir'] as EnvSpec<unknown>, zIndex: 1, rk4: false, floor: -0.7 },
    { robot: 'ant', spec: envSpecs['ant-dir'] as EnvSpec<unknown>, zIndex: 2, rk4: true, floor: 0 },
    { robot: 'walker2d', spec: envSpecs['walker-dir'] as EnvSpec<unknown>, zIndex: 1, rk4: true, floor: 0 },
    { robot: 'humanoid', spec: envSpecs['humanoid-dir'] as EnvSpec<unknown>, zIndex: 2, rk4: true, floor: 0 }
  ]

describe('envs/physics', () => {
  describe('free fall', () => {
    it.each(cases)('$robot lifted 5 m and released falls as the integrator predicts under g = 9.81', async (c) => {
      const env = await open(c.spec)
      const r = robots[c.robot]
      must(env.reset(1))
      // A pose with every joint spring at rest and every joint inside its limits, zero velocity, 5 m
      // up: no internal force acts, so the body falls rigidly.
      const base = new Float64Array(r.nq + r.nv)
      base.set(await restingPose(c.robot), 0)
      const z0 = 5
      base[c.zIndex] = z0
      must(env.setState(0, base))
      const steps = 3
      for (let t = 0; t < steps; t++) stepOk(env, new Float32Array(r.nu))
      const z = must(env.getState(0))[c.zIndex]
      const h = r.timestep
      const N = steps * r.frameSkip
      // RK4 is exact for constant acceleration; MuJoCo's semi-implicit Euler gives z0 - g h^2 N (N + 1) / 2.
      const expected = c.rk4 ? z0 - 0.5 * g * (N * h) ** 2 : z0 - (g * h * h * N * (N + 1)) / 2
      expect(Math.abs(z - expected)).toBeLessThan(1e-9)
    })
  })

  describe('unactuated', () => {
    it.each(cases)('$robot settles under gravity without exploding', async (c) => {
      const env = await open(c.spec)
      const r = robots[c.robot]
      must(env.reset(2))
      const z0 = must(env.getState(0))[c.zIndex]
      let minZ = Infinity
      for (let t = 0; t < 150; t++) {
        stepOk(env, new Float32Array(r.nu))
        const s = must(env.getState(0))
        expect(s.every(Number.isFinite)).toBe(true)
        minZ = Math.min(minZ, s[c.zIndex])
      }
      const s = must(env.getState(0))
      expect(minZ).toBeLessThan(z0) // it went down
      const speed = Math.max(...Array.from(s.subarray(r.nq)).map(Math.abs))
      expect(speed).toBeLessThan(20) // and it is not flying apart
      expect(s[c.zIndex]).toBeGreaterThan(c.floor) // and it is not through the floor
    })

    it('the Swimmer (no gravity in its plane) at rest stays at rest', async () => {
      const env = await open(envSpecs['swimmer-vel'])
      must(env.reset(3))
      must(env.setState(0, new Float64Array(10)))
      for (let t = 0; t < 50; t++) stepOk(env, [0, 0])
      expect(Math.max(...Array.from(must(env.getState(0))).map(Math.abs))).toBeLessThan(1e-9)
    })
  })

  describe('actuated', () => {
    it.each([
      ...cases.map((c) => ({ robot: c.robot, spec: c.spec })),
      { robot: 'swimmer' as const, spec: envSpecs['swimmer-vel'] as EnvSpec<unknown> }
    ])('$robot: a constant control moves its joints away from the unactuated motion', async ({ robot, spec }) => {
      const r = robots[robot]
      const env = await open(spec, 2)
      must(env.reset([5, 5])) // two identical starts
      const actions = new Float32Array(2 * r.nu)
      actions.fill(r.ctrlRange[1] * 0.8, r.nu) // env 1 pushes, env 0 does not
      for (let t = 0; t < 10; t++) stepOk(env, actions)
      const still = must(env.getState(0))
      const pushed = must(env.getState(1))
      const firstJoint = r.freeJoint ? 7 : 3
      let moved = 0
      for (let k = firstJoint; k < r.nq; k++) moved = Math.max(moved, Math.abs(pushed[k] - still[k]))
      expect(moved).toBeGreaterThan(0.1) // radians
    })

    it('HalfCheetah: a periodic gait (back leg against front leg) moves the torso along x', async () => {
      const env = await open(envSpecs['halfcheetah-dir'])
      must(env.reset(4))
      const x0 = must(env.getState(0))[0]
      for (let t = 0; t < 100; t++) {
        const u = Math.sin((2 * Math.PI * t) / 8)
        stepOk(env, [u, u, u, -u, -u, -u])
      }
      expect(Math.abs(must(env.getState(0))[0] - x0)).toBeGreaterThan(1)
    })
  })
})
