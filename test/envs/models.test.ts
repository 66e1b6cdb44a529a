import * as E from 'fp-ts/lib/Either.js'
import type { MjModel } from 'mujoco-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileModel, getMujoco, type Mujoco } from '../../src/envs/mujoco.js'
import { legacyCapsuleMass } from '../../src/envs/models/legacyMass.js'
import { nativeXml } from '../../benchmarks/envs/nativeBench.js'
import { envSpecs } from '../../src/envs/registry.js'
import { robots, type RobotName } from '../../src/envs/robots.js'
import { must, mustFail, text } from './support.js'

// ENVS.md's table: observation and action sizes, frame skip; timesteps of the Gym v2/v3-era models.
const table: ReadonlyArray<{
  robot: RobotName
  env: keyof typeof envSpecs
  obs: number
  act: number
  frameSkip: number
  timestep: number
}> = [
  { robot: 'halfcheetah', env: 'halfcheetah-dir', obs: 17, act: 6, frameSkip: 5, timestep: 0.01 },
  { robot: 'ant', env: 'ant-dir', obs: 111, act: 8, frameSkip: 5, timestep: 0.01 },
  { robot: 'walker2d', env: 'walker-dir', obs: 17, act: 6, frameSkip: 4, timestep: 0.002 },
  { robot: 'swimmer', env: 'swimmer-vel', obs: 8, act: 2, frameSkip: 4, timestep: 0.01 },
  { robot: 'humanoid', env: 'humanoid-dir', obs: 376, act: 17, frameSkip: 5, timestep: 0.003 }
]

// Body masses of the published robots (kg, world body first), as compiled by MuJoCo 1.5 for Gym v2.
const publishedMasses: Partial<Record<RobotName, ReadonlyArray<number>>> = {
  halfcheetah: [0, 6.36031332, 1.53524804, 1.58093995, 1.0691906, 1.42558747, 1.17885117, 0.84986945],
  humanoid: [
    0, 8.32207894, 2.03575204, 5.85278711, 4.52555626, 2.63249442, 1.76714587, 4.52555626, 2.63249442, 1.76714587,
    1.59405984, 1.19834313, 1.59405984, 1.19834313
  ]
}

let mj: Mujoco
const models = new Map<RobotName, MjModel>()

beforeAll(async () => {
  mj = await getMujoco()
  for (const r of Object.values(robots)) models.set(r.name, must(compileModel(mj, r.name, r.xml)))
})
afterAll(() => {
  for (const m of models.values()) m.delete()
})

const model = (name: RobotName): MjModel => {
  const m = models.get(name)
  if (m === undefined) throw new Error(`model ${name} not compiled`)
  return m
}

describe('envs/models', () => {
  describe('compileModel', () => {
    it.each(table)('compiles $robot with the sizes the robot declares', ({ robot }) => {
      const r = robots[robot]
      const m = model(robot)
      expect([m.nq, m.nv, m.nu, m.nbody]).toEqual([r.nq, r.nv, r.nu, r.nbody])
    })

    it('names the model and says what failed when the MJCF does not compile', () => {
      const e = mustFail(compileModel(mj, 'broken-robot', '<mujoco><worldbody><geom size="x"/></worldbody></mujoco>'))
      expect(e._tag).toBe('InvalidInput')
      expect(text(e)).toContain("model 'broken-robot'")
      expect(text(e)).toContain('failed to compile')
    })

    it('rejects XML that is not MJCF at all', () => {
      expect(E.isLeft(compileModel(mj, 'not-xml', 'hello'))).toBe(true)
    })
  })

  describe('sizes (ENVS.md)', () => {
    it.each(table)('$env: obs $obs, act $act, frame skip $frameSkip, timestep $timestep', (row) => {
      const r = robots[row.robot]
      const spec = envSpecs[row.env]
      const m = model(row.robot)
      const opt = m.opt
      const timestep = opt.timestep
      opt.delete()
      expect(spec.obsDim).toBe(row.obs)
      expect(spec.actDim).toBe(row.act)
      expect(r.frameSkip).toBe(row.frameSkip)
      expect(timestep).toBeCloseTo(row.timestep, 12)
      expect(r.timestep).toBeCloseTo(row.timestep, 12)
      expect(spec.dt).toBeCloseTo(row.timestep * row.frameSkip, 12)
    })

    it.each(table)('$robot: every actuator has the control range the spec advertises', ({ robot, env }) => {
      const m = model(robot)
      const range = Array.from(m.actuator_ctrlrange as Float64Array)
      const spec = envSpecs[env]
      for (let k = 0; k < m.nu; k++) {
        expect(range[2 * k]).toBe(spec.actionLow[k])
        expect(range[2 * k + 1]).toBe(spec.actionHigh[k])
      }
    })

    it('the observation of each robot has the advertised length (17, 111, 17, 8, 376)', () => {
      const lengths = table.map(({ robot }) => {
        const r = robots[robot]
        const out = new Float32Array(r.obsDim + 5).fill(-7)
        const v = {
          qpos: new Float64Array(r.nq),
          qvel: new Float64Array(r.nv),
          ctrl: new Float64Array(r.nu),
          xipos: new Float64Array(3 * r.nbody),
          cinert: new Float64Array(10 * r.nbody),
          cvel: new Float64Array(6 * r.nbody),
          qfrcActuator: new Float64Array(r.nv),
          cfrcExt: new Float64Array(6 * r.nbody)
        }
        r.observe(v, out, 0)
        return out.findIndex((x) => x === -7)
      })
      expect(lengths).toEqual([17, 111, 17, 8, 376])
    })
  })

  describe('masses', () => {
    it.each(['halfcheetah', 'humanoid'] as const)('%s has the published body masses to 1e-6', (robot) => {
      const masses = Array.from(model(robot).body_mass as Float64Array)
      const published = publishedMasses[robot] ?? []
      expect(masses.length).toBe(published.length)
      masses.forEach((m, b) => expect(Math.abs(m - published[b])).toBeLessThan(1e-6))
    })

    it('Swimmer segments weigh 34.5575 kg, the Walker torso/thigh/leg 3.5343/3.9270/2.7143 kg (MuJoCo 1.5 volumes)', () => {
      const swimmer = Array.from(model('swimmer').body_mass as Float64Array)
      expect(swimmer.slice(1).map((m) => m.toFixed(4))).toEqual(['34.5575', '34.5575', '34.5575'])
      // Walker2d's torso, thigh and leg are the Hopper's capsules: 3.53429174, 3.92699082, 2.71433605 kg.
      const walker = Array.from(model('walker2d').body_mass as Float64Array)
      expect(walker.slice(1, 4).map((m) => m.toFixed(6))).toEqual(['3.534292', '3.926991', '2.714336'])
    })

    it('legacyCapsuleMass is density * pi r^2 (L + r)', () => {
      expect(legacyCapsuleMass(0.1, 1, 1000)).toBeCloseTo(1000 * Math.PI * 0.01 * 1.1, 10)
    })
  })

  describe('nativeXml', () => {
    it('removes the <size memory> element (unknown to MuJoCo 2.2) and nothing else', () => {
      const xml = robots.ant.xml
      const stripped = nativeXml(xml)
      expect(xml).toContain('<size memory=')
      expect(stripped).not.toContain('<size')
      expect(xml.length - stripped.length).toBeLessThan(40)
    })
  })
})
