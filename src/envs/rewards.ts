/**
 * Rewards and termination rules: pure functions of (simulator readings, applied action, task).
 *
 * The simulator edge (`mujocoEnv.ts`) turns MuJoCo state into `Readings`; everything here is plain
 * arithmetic on numbers, so a test can compute the same value by hand. Coefficients are those of
 * ENVS.md (the reference benchmarks of the paper's section 5.1). The action is the one applied, i.e.
 * after clipping to the control range.
 *
 * @example
 * const r: Readings = { dt: 0.05, xBefore: 0, yBefore: 0, xAfter: 0.1, yAfter: 0, height: 0, angle: 0, contactSq: 0 }
 * halfCheetahDir(r, [0.5, 0, 0, 0, 0, 0], { direction: 1 }) // { reward: 2 - 0.05 * 0.25, terminated: false }
 *
 * @packageDocumentation
 */
import type { Direction2dTask, DirectionTask, Goal2dTask, VelocityTask } from './tasks.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/**
 * What a reward may depend on, read from the simulator after one env step (frame skip included).
 *
 * `(x, y)` is the tracked point: the torso for HalfCheetah, Walker2d, Swimmer (root slide joints) and
 * Ant (free joint), the centre of mass for Humanoid.
 */
export interface Readings {
  /** Seconds per env step: timestep x frame skip. */
  readonly dt: number
  readonly xBefore: number
  readonly yBefore: number
  readonly xAfter: number
  readonly yAfter: number
  /** Torso height after the step: `qpos[2]` for Ant/Humanoid, `qpos[1]` (rootz) for planar robots. */
  readonly height: number
  /** Torso pitch after the step, `qpos[2]` (rooty), for planar robots; 0 otherwise. */
  readonly angle: number
  /**
   * Sum of squared external contact forces `cfrc_ext` over all bodies: clipped to [-1, 1] per entry for
   * Ant, raw for Humanoid, 0 for robots whose reward has no contact term.
   */
  readonly contactSq: number
}

/** One step's reward and whether the episode terminated by rule (fell, flipped ...). */
export interface Outcome {
  readonly reward: number
  readonly terminated: boolean
}

/** A reward function of a task family. */
export type RewardFn<R, T> = (r: R, action: ArrayLike<number>, task: T) => Outcome

// -------------------------------------------------------------------------------------------------
// utils
// -------------------------------------------------------------------------------------------------

/** `||a||^2`. */
export const sumSquares = (a: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * a[i]
  return s
}

/** x-velocity of the tracked point over the step. */
export const velocityX = (r: Readings): number => (r.xAfter - r.xBefore) / r.dt

/** y-velocity of the tracked point over the step. */
export const velocityY = (r: Readings): number => (r.yAfter - r.yBefore) / r.dt

const outcome = (reward: number, terminated: boolean): Outcome => ({ reward, terminated })

// -------------------------------------------------------------------------------------------------
// health rules
// -------------------------------------------------------------------------------------------------

/** Ant is healthy while its torso height stays in [0.2, 1.0]. */
export const antHealthy = (r: Readings): boolean => r.height >= 0.2 && r.height <= 1.0

/** Walker2d is healthy while 0.8 < height < 2 and |pitch| < 1 rad. */
export const walkerHealthy = (r: Readings): boolean =>
  r.height > 0.8 && r.height < 2.0 && r.angle > -1.0 && r.angle < 1.0

/** Humanoid is healthy while its torso height stays in [1, 2]. */
export const humanoidHealthy = (r: Readings): boolean => r.height >= 1.0 && r.height <= 2.0

// -------------------------------------------------------------------------------------------------
// rewards
// -------------------------------------------------------------------------------------------------

/** HalfCheetah forward/backward: `dir * vx - 0.05 ||a||^2`; never terminates. */
export const halfCheetahDir: RewardFn<Readings, DirectionTask> = (r, a, task) =>
  outcome(task.direction * velocityX(r) - 0.05 * sumSquares(a), false)

/** HalfCheetah random velocity: `-|vx - v*| - 0.05 ||a||^2`; never terminates. */
export const halfCheetahVel: RewardFn<Readings, VelocityTask> = (r, a, task) =>
  outcome(-Math.abs(velocityX(r) - task.velocity) - 0.05 * sumSquares(a), false)

const antCosts = (r: Readings, a: ArrayLike<number>, ctrlCoef: number): number =>
  ctrlCoef * sumSquares(a) + 5e-4 * r.contactSq

/** Ant forward/backward: `dir * vx - 0.5 ||a||^2 - 5e-4 ||clip(cfrc_ext)||^2 + 1`; ends when unhealthy. */
export const antDir: RewardFn<Readings, DirectionTask> = (r, a, task) =>
  outcome(task.direction * velocityX(r) - antCosts(r, a, 0.5) + 1, !antHealthy(r))

/** Ant random direction: `<(vx, vy), d> - 0.5 ||a||^2 - 5e-4 ||clip(cfrc_ext)||^2 + 1`; ends when unhealthy. */
export const antDir2d: RewardFn<Readings, Direction2dTask> = (r, a, task) =>
  outcome(velocityX(r) * task.direction[0] + velocityY(r) * task.direction[1] - antCosts(r, a, 0.5) + 1, !antHealthy(r))

/** Ant goal: `-||(x, y) - g||_1 - 0.1 ||a||^2 - 5e-4 ||clip(cfrc_ext)||^2 + 1`; ends when unhealthy. */
export const antGoal: RewardFn<Readings, Goal2dTask> = (r, a, task) =>
  outcome(
    -(Math.abs(r.xAfter - task.goal[0]) + Math.abs(r.yAfter - task.goal[1])) - antCosts(r, a, 0.1) + 1,
    !antHealthy(r)
  )

/** Walker2d forward/backward: `dir * vx + 1 - 1e-3 ||a||^2`; ends when unhealthy. */
export const walkerDir: RewardFn<Readings, DirectionTask> = (r, a, task) =>
  outcome(task.direction * velocityX(r) + 1 - 1e-3 * sumSquares(a), !walkerHealthy(r))

/** Walker2d random velocity: `-|vx - v*| + 1 - 1e-3 ||a||^2`; ends when unhealthy. */
export const walkerVel: RewardFn<Readings, VelocityTask> = (r, a, task) =>
  outcome(-Math.abs(velocityX(r) - task.velocity) + 1 - 1e-3 * sumSquares(a), !walkerHealthy(r))

/** Swimmer random velocity: `-|vx - v*| - 1e-4 ||a||^2`; never terminates. */
export const swimmerVel: RewardFn<Readings, VelocityTask> = (r, a, task) =>
  outcome(-Math.abs(velocityX(r) - task.velocity) - 1e-4 * sumSquares(a), false)

const humanoidCosts = (r: Readings, a: ArrayLike<number>): number =>
  0.1 * sumSquares(a) + Math.min(5e-7 * r.contactSq, 10)

/**
 * Humanoid forward/backward: `0.25 dir * vx - 0.1 ||a||^2 - min(5e-7 ||cfrc_ext||^2, 10) + 5`, with vx the
 * centre-of-mass velocity; ends when unhealthy.
 */
export const humanoidDir: RewardFn<Readings, DirectionTask> = (r, a, task) =>
  outcome(0.25 * task.direction * velocityX(r) - humanoidCosts(r, a) + 5, !humanoidHealthy(r))

/** Humanoid random direction: `0.25 <(vx, vy), d> - 0.1 ||a||^2 - min(5e-7 ||cfrc_ext||^2, 10) + 5`. */
export const humanoidDir2d: RewardFn<Readings, Direction2dTask> = (r, a, task) =>
  outcome(
    0.25 * (velocityX(r) * task.direction[0] + velocityY(r) * task.direction[1]) - humanoidCosts(r, a) + 5,
    !humanoidHealthy(r)
  )
