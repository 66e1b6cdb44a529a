/**
 * The MuJoCo simulator core: many MjData on one MjModel in this thread's MuJoCo module, stepped with
 * the robot's frame skip. This is the imperative edge; `makeVecEnv` wraps it into a `VecEnv`.
 *
 * Invariants:
 * - the core owns one MjModel and `n` MjData and deletes them in `dispose` (they are never garbage
 *   collected);
 * - typed-array views on MjData are re-fetched whenever the wasm heap has grown (a detached view has
 *   length 0 and silently drops writes);
 * - MuJoCo's own auto-reset is disabled so that a blow-up stays visible: after every env step the state
 *   is scanned for NaN/Inf/huge values and MuJoCo's warning counters are read whenever MuJoCo printed
 *   something; either one reports a divergence, and `makeVecEnv` then resets the env from its stream. A
 *   MuJoCo error thrown mid-step (an arena too small for the contacts) is reported the same way; other
 *   warnings (e.g. "too many contacts") become `warning` events;
 * - for robots whose observation or reward reads derived quantities (Ant, Humanoid), an env step ends
 *   with `mj_forward` + `mj_rnePostConstraint`, so `xipos`, `cinert`, `cvel`, `qfrc_actuator` and
 *   `cfrc_ext` describe the state after the step (without `mj_rnePostConstraint`, `cfrc_ext` stays 0).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import type { MjData, MjModel } from 'mujoco-js'
import { invalidInput, resourceError, type TmamlError } from '../base/errors.js'
import type { Rng } from '../base/rng.js'
import { compileModel, mujocoMessageCount, mujocoMessages, type Mujoco } from './mujoco.js'
import type { Readings } from './rewards.js'
import type { Noise, Robot, Views } from './robots.js'
import type { SimCore, SimStep } from './vecEnv.js'

/** MuJoCo's threshold for a "huge" state value (mjMAXVAL). */
const maxVal = 1e10

const asF64 = (x: unknown, field: string): Float64Array => {
  if (x instanceof Float64Array) return x
  throw new TypeError(`mujoco-js returned a non-Float64Array for MjData.${field}`)
}

const fetchViews = (d: MjData): Views => ({
  qpos: asF64(d.qpos, 'qpos'),
  qvel: asF64(d.qvel, 'qvel'),
  ctrl: asF64(d.ctrl, 'ctrl'),
  xipos: asF64(d.xipos, 'xipos'),
  cinert: asF64(d.cinert, 'cinert'),
  cvel: asF64(d.cvel, 'cvel'),
  qfrcActuator: asF64(d.qfrc_actuator, 'qfrc_actuator'),
  cfrcExt: asF64(d.cfrc_ext, 'cfrc_ext')
})

const draw = (rng: Rng, noise: Noise): number =>
  noise.kind === 'uniform' ? rng.uniform(-noise.scale, noise.scale) : noise.scale * rng.normal()

const firstBad = (a: Float64Array, name: string): string | undefined => {
  for (let k = 0; k < a.length; k++) {
    const v = a[k]
    if (!(v > -maxVal && v < maxVal)) return `${name}[${k}] = ${v}`
  }
  return undefined
}

/** MuJoCo's warning indices for a bad position, velocity and acceleration (mjtWarning). */
const divergenceWarnings = [4, 5, 6] as const

/** Read MjData's warning counters: how many divergence warnings (bad qpos/qvel/qacc) it holds. */
const divergenceCount = (d: MjData): number => {
  const vec = d.warning // a copy: fetch it fresh, delete it after use
  try {
    let count = 0
    for (const k of divergenceWarnings) {
      const stat = vec.get(k)
      if (stat !== undefined) {
        count += stat.number
        stat.delete()
      }
    }
    return count
  } finally {
    vec.delete()
  }
}

const printedSince = (before: number): string => {
  const lines = mujocoMessages()
  const fresh = Math.min(lines.length, mujocoMessageCount() - before)
  return lines
    .slice(lines.length - fresh)
    .map((l) => l.replace(/^WARNING:\s*/, ''))
    .join('; ')
}

/**
 * A MuJoCo core of `n` envs of `robot` in module `mj`. The model is compiled from the robot's MJCF and
 * its sizes checked against the robot's; an allocation failure (heap cap) is a `ResourceError`.
 */
export const makeMujocoCore = <T>(mj: Mujoco, robot: Robot, n: number): E.Either<TmamlError, SimCore<Readings, T>> => {
  const where = `envs: model '${robot.name}'`
  const compiled = compileModel(mj, robot.name, robot.xml)
  if (E.isLeft(compiled)) return compiled
  const m: MjModel = compiled.right
  const datas: MjData[] = []
  const release = (): void => {
    for (const d of datas) d.delete()
    datas.length = 0
    m.delete()
  }

  const sizes = `nq=${m.nq} nv=${m.nv} nu=${m.nu} nbody=${m.nbody}`
  if (m.nq !== robot.nq || m.nv !== robot.nv || m.nu !== robot.nu || m.nbody !== robot.nbody) {
    release()
    return E.left(
      invalidInput(
        where,
        `compiled to ${sizes}, expected nq=${robot.nq} nv=${robot.nv} nu=${robot.nu} nbody=${robot.nbody}`
      )
    )
  }

  // m.opt is a handle onto the model's options: read and write, then let go of the handle.
  const opt = m.opt
  const timestep = opt.timestep
  opt.disableflags = opt.disableflags | mj.mjtDisableBit.mjDSBL_AUTORESET.value
  opt.delete()
  const dt = timestep * robot.frameSkip

  try {
    for (let i = 0; i < n; i++) datas.push(new mj.MjData(m))
  } catch (e) {
    const made = datas.length
    release()
    return E.left(
      resourceError(
        where,
        `could not allocate MjData ${made + 1} of ${n} (${e instanceof Error ? e.message : String(e)}); ` +
          'each MuJoCo module has a 2 GiB heap: use fewer envs per thread or more worker threads'
      )
    )
  }

  // Model arrays are read after all allocations: views taken earlier may have been detached.
  const bodyMass = Float64Array.from(asF64(m.body_mass, 'body_mass'))
  const ctrlRange = Float64Array.from(asF64(m.actuator_ctrlrange, 'actuator_ctrlrange'))
  const actionLow = Array.from({ length: robot.nu }, (_, k) => ctrlRange[2 * k])
  const actionHigh = Array.from({ length: robot.nu }, (_, k) => ctrlRange[2 * k + 1])

  const views: Array<Views | undefined> = Array.from({ length: n }, () => undefined)
  const viewsOf = (i: number): Views => {
    const v = views[i]
    if (v !== undefined && v.qpos.length !== 0) return v
    const fresh = fetchViews(datas[i])
    views[i] = fresh
    return fresh
  }

  const lastX = new Float64Array(n)
  const lastY = new Float64Array(n)
  const pending: Array<string | undefined> = Array.from({ length: n }, () => undefined)

  /** Bring derived quantities up to date with qpos/qvel and remember the pose. */
  const settle = (i: number): void => {
    const d = datas[i]
    const printed = mujocoMessageCount()
    mj.mj_forward(m, d)
    if (robot.derived) mj.mj_rnePostConstraint(m, d)
    // A warning printed here (e.g. too many contacts at the start state) is reported with the next step:
    // MuJoCo prints each kind only once per episode.
    if (mujocoMessageCount() !== printed) pending[i] = `MuJoCo: ${printedSince(printed)}`
    const p = robot.pose(viewsOf(i), bodyMass)
    lastX[i] = p.x
    lastY[i] = p.y
  }

  const reset = (i: number, rng: Rng, _task: T): void => {
    mj.mj_resetData(m, datas[i])
    const v = viewsOf(i)
    for (let k = 0; k < robot.nq; k++) v.qpos[k] += draw(rng, robot.qposNoise)
    for (let k = 0; k < robot.nv; k++) v.qvel[k] += draw(rng, robot.qvelNoise)
    if (robot.freeJoint) {
      const norm = Math.hypot(v.qpos[3], v.qpos[4], v.qpos[5], v.qpos[6])
      for (let k = 3; k < 7; k++) v.qpos[k] /= norm
    }
    pending[i] = undefined
    settle(i)
  }

  const step = (i: number, action: Float64Array, _task: T, _rng: Rng): SimStep<Readings> => {
    const d = datas[i]
    viewsOf(i).ctrl.set(action)
    const printed = mujocoMessageCount()
    try {
      for (let k = 0; k < robot.frameSkip; k++) mj.mj_step(m, d)
      if (robot.derived) {
        mj.mj_forward(m, d)
        mj.mj_rnePostConstraint(m, d)
      }
    } catch (e) {
      // mju_error (e.g. "mj_stackAlloc: out of memory" when the arena is too small) throws a JS Error;
      // the MjData is then mid-step, so the env is reported and reset like a divergence.
      const message = e instanceof Error ? e.message.replace(/\s+/g, ' ').trim() : String(e)
      return {
        _tag: 'Diverged',
        cause: `${message}${/out of memory/.test(message) ? ' (raise <size memory> in the MJCF)' : ''}`
      }
    }
    const v = viewsOf(i)
    let cause: string | undefined
    if (mujocoMessageCount() !== printed) {
      const text = `MuJoCo: ${printedSince(printed)}`
      if (divergenceCount(d) > 0) cause = text
      else pending[i] = text
    }
    cause ??= firstBad(v.qpos, 'qpos') ?? firstBad(v.qvel, 'qvel')
    if (cause !== undefined) return { _tag: 'Diverged', cause }
    const p = robot.pose(v, bodyMass)
    const readings: Readings = {
      dt,
      xBefore: lastX[i],
      yBefore: lastY[i],
      xAfter: p.x,
      yAfter: p.y,
      height: p.height,
      angle: p.angle,
      contactSq: robot.contactSq(v)
    }
    lastX[i] = p.x
    lastY[i] = p.y
    return { _tag: 'Ok', readings }
  }

  return E.right({
    obsDim: robot.obsDim,
    actDim: robot.nu,
    stateDim: robot.nq + robot.nv,
    actionLow,
    actionHigh,
    reset,
    observe: (i, out, offset) => robot.observe(viewsOf(i), out, offset),
    step,
    getState: (i) => {
      const v = viewsOf(i)
      const s = new Float64Array(robot.nq + robot.nv)
      s.set(v.qpos, 0)
      s.set(v.qvel, robot.nq)
      return s
    },
    setState: (i, state) => {
      const v = viewsOf(i)
      for (let k = 0; k < robot.nq; k++) v.qpos[k] = state[k]
      for (let k = 0; k < robot.nv; k++) v.qvel[k] = state[robot.nq + k]
      settle(i)
    },
    warnings: (i) => {
      const w = pending[i]
      pending[i] = undefined
      return w
    },
    dispose: release
  })
}
