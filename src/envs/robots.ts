/**
 * The five MuJoCo robots as data: model, frame skip, expected sizes, reset noise, what is observed and
 * where the reward's readings come from. `mujocoEnv.ts` runs them; nothing here touches a MuJoCo
 * handle, only typed-array views handed in.
 *
 * @packageDocumentation
 */
import { antXml } from './models/ant.js'
import { halfCheetahXml } from './models/halfCheetah.js'
import { humanoidXml } from './models/humanoid.js'
import { swimmerXml } from './models/swimmer.js'
import { walker2dXml } from './models/walker2d.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** The MuJoCo robots. */
export type RobotName = 'halfcheetah' | 'ant' | 'walker2d' | 'swimmer' | 'humanoid'

/** The MjData arrays a robot reads, as views on the wasm heap (valid until the heap grows). */
export interface Views {
  readonly qpos: Float64Array
  readonly qvel: Float64Array
  readonly ctrl: Float64Array
  readonly xipos: Float64Array
  readonly cinert: Float64Array
  readonly cvel: Float64Array
  readonly qfrcActuator: Float64Array
  readonly cfrcExt: Float64Array
}

/** Where the robot is after a step: the tracked point and the torso's height and pitch. */
export interface Pose {
  readonly x: number
  readonly y: number
  readonly height: number
  readonly angle: number
}

/** Reset noise added to `qpos0` (resp. zero velocity): uniform on `[-scale, scale]` or `scale * N(0, 1)`. */
export interface Noise {
  readonly kind: 'uniform' | 'normal'
  readonly scale: number
}

/** A MuJoCo robot. */
export interface Robot {
  readonly name: RobotName
  readonly xml: string
  readonly nq: number
  readonly nv: number
  readonly nu: number
  readonly nbody: number
  /** Physics timestep in seconds (the model's `opt.timestep`). */
  readonly timestep: number
  readonly frameSkip: number
  /** Every actuator's control range `[lo, hi]` (the same for all actuators of these robots). */
  readonly ctrlRange: readonly [number, number]
  readonly obsDim: number
  readonly defaultHorizon: number
  readonly qposNoise: Noise
  readonly qvelNoise: Noise
  /** `qpos[3..7]` is a free joint's quaternion, renormalised after the reset noise. */
  readonly freeJoint: boolean
  /**
   * Whether the observation or reward reads quantities derived from the state (`xipos`, `cinert`,
   * `cvel`, `qfrc_actuator`, `cfrc_ext`). If so, each env step ends with `mj_forward` and
   * `mj_rnePostConstraint`, so that those quantities belong to the state after the step.
   */
  readonly derived: boolean
  /** Write the observation (`obsDim` numbers) at `out[offset ..]`. */
  readonly observe: (v: Views, out: Float32Array, offset: number) => void
  /** The pose; `bodyMass` is the model's `body_mass` (for the centre of mass). */
  readonly pose: (v: Views, bodyMass: Float64Array) => Pose
  /** The contact term's sum of squares (see `Readings.contactSq`). */
  readonly contactSq: (v: Views) => number
}

// -------------------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------------------

const copy = (src: Float64Array, from: number, to: number, out: Float32Array, at: number): number => {
  for (let k = from; k < to; k++) out[at++] = src[k]
  return at
}

const copyClipped = (src: Float64Array, lo: number, hi: number, out: Float32Array, at: number): number => {
  for (let k = 0; k < src.length; k++) {
    const v = src[k]
    out[at++] = v < lo ? lo : v > hi ? hi : v
  }
  return at
}

const sumSq = (a: Float64Array): number => {
  let s = 0
  for (let k = 0; k < a.length; k++) s += a[k] * a[k]
  return s
}

const sumSqClipped = (a: Float64Array, lo: number, hi: number): number => {
  let s = 0
  for (let k = 0; k < a.length; k++) {
    const v = a[k] < lo ? lo : a[k] > hi ? hi : a[k]
    s += v * v
  }
  return s
}

const noContact = (): number => 0

/** Centre of mass in x and y: sum_b m_b xipos_b / sum_b m_b. */
export const centreOfMassXY = (xipos: ArrayLike<number>, bodyMass: ArrayLike<number>): readonly [number, number] => {
  let m = 0
  let x = 0
  let y = 0
  for (let b = 0; b < bodyMass.length; b++) {
    m += bodyMass[b]
    x += bodyMass[b] * xipos[3 * b]
    y += bodyMass[b] * xipos[3 * b + 1]
  }
  return [x / m, y / m]
}

// -------------------------------------------------------------------------------------------------
// robots
// -------------------------------------------------------------------------------------------------

/** HalfCheetah: obs = qpos[1:] (8), qvel (9). */
export const halfCheetah: Robot = {
  name: 'halfcheetah',
  xml: halfCheetahXml,
  nq: 9,
  nv: 9,
  nu: 6,
  nbody: 8,
  timestep: 0.01,
  frameSkip: 5,
  ctrlRange: [-1, 1],
  obsDim: 17,
  defaultHorizon: 100,
  qposNoise: { kind: 'uniform', scale: 0.1 },
  qvelNoise: { kind: 'normal', scale: 0.1 },
  freeJoint: false,
  derived: false,
  observe: (v, out, offset) => {
    const at = copy(v.qpos, 1, 9, out, offset)
    copy(v.qvel, 0, 9, out, at)
  },
  pose: (v) => ({ x: v.qpos[0], y: 0, height: v.qpos[1], angle: v.qpos[2] }),
  contactSq: noContact
}

/** Ant: obs = qpos[2:] (13), qvel (14), clip(cfrc_ext, -1, 1) (14 bodies x 6 = 84). */
export const ant: Robot = {
  name: 'ant',
  xml: antXml,
  nq: 15,
  nv: 14,
  nu: 8,
  nbody: 14,
  timestep: 0.01,
  frameSkip: 5,
  ctrlRange: [-1, 1],
  obsDim: 111,
  defaultHorizon: 200,
  qposNoise: { kind: 'uniform', scale: 0.1 },
  qvelNoise: { kind: 'normal', scale: 0.1 },
  freeJoint: true,
  derived: true,
  observe: (v, out, offset) => {
    let at = copy(v.qpos, 2, 15, out, offset)
    at = copy(v.qvel, 0, 14, out, at)
    copyClipped(v.cfrcExt, -1, 1, out, at)
  },
  pose: (v) => ({ x: v.qpos[0], y: v.qpos[1], height: v.qpos[2], angle: 0 }),
  contactSq: (v) => sumSqClipped(v.cfrcExt, -1, 1)
}

/** Walker2d: obs = qpos[1:] (8), clip(qvel, -10, 10) (9). */
export const walker2d: Robot = {
  name: 'walker2d',
  xml: walker2dXml,
  nq: 9,
  nv: 9,
  nu: 6,
  nbody: 8,
  timestep: 0.002,
  frameSkip: 4,
  ctrlRange: [-1, 1],
  obsDim: 17,
  defaultHorizon: 200,
  qposNoise: { kind: 'uniform', scale: 0.005 },
  qvelNoise: { kind: 'uniform', scale: 0.005 },
  freeJoint: false,
  derived: false,
  observe: (v, out, offset) => {
    const at = copy(v.qpos, 1, 9, out, offset)
    copyClipped(v.qvel, -10, 10, out, at)
  },
  pose: (v) => ({ x: v.qpos[0], y: 0, height: v.qpos[1], angle: v.qpos[2] }),
  contactSq: noContact
}

/** Swimmer: obs = qpos[2:] (3), qvel (5). */
export const swimmer: Robot = {
  name: 'swimmer',
  xml: swimmerXml,
  nq: 5,
  nv: 5,
  nu: 2,
  nbody: 4,
  timestep: 0.01,
  frameSkip: 4,
  ctrlRange: [-1, 1],
  obsDim: 8,
  defaultHorizon: 200,
  qposNoise: { kind: 'uniform', scale: 0.1 },
  qvelNoise: { kind: 'uniform', scale: 0.1 },
  freeJoint: false,
  derived: false,
  observe: (v, out, offset) => {
    const at = copy(v.qpos, 2, 5, out, offset)
    copy(v.qvel, 0, 5, out, at)
  },
  pose: (v) => ({ x: v.qpos[0], y: v.qpos[1], height: 0, angle: 0 }),
  contactSq: noContact
}

/**
 * Humanoid: obs = qpos[2:] (22), qvel (23), cinert (14 x 10), cvel (14 x 6), qfrc_actuator (23),
 * cfrc_ext (14 x 6) = 376. The tracked point is the centre of mass.
 */
export const humanoid: Robot = {
  name: 'humanoid',
  xml: humanoidXml,
  nq: 24,
  nv: 23,
  nu: 17,
  nbody: 14,
  timestep: 0.003,
  frameSkip: 5,
  ctrlRange: [-0.4, 0.4],
  obsDim: 376,
  defaultHorizon: 200,
  qposNoise: { kind: 'uniform', scale: 0.01 },
  qvelNoise: { kind: 'uniform', scale: 0.01 },
  freeJoint: true,
  derived: true,
  observe: (v, out, offset) => {
    let at = copy(v.qpos, 2, 24, out, offset)
    at = copy(v.qvel, 0, 23, out, at)
    at = copy(v.cinert, 0, 140, out, at)
    at = copy(v.cvel, 0, 84, out, at)
    at = copy(v.qfrcActuator, 0, 23, out, at)
    copy(v.cfrcExt, 0, 84, out, at)
  },
  pose: (v, bodyMass) => {
    const [x, y] = centreOfMassXY(v.xipos, bodyMass)
    return { x, y, height: v.qpos[2], angle: 0 }
  },
  contactSq: (v) => sumSq(v.cfrcExt)
}

/** All robots by name. */
export const robots: Readonly<Record<RobotName, Robot>> = {
  halfcheetah: halfCheetah,
  ant,
  walker2d,
  swimmer,
  humanoid
}
