/**
 * Point environments without MuJoCo: the paper's 1-D goal-reaching toy (section 5.3) and the classic
 * 2-D point navigation of MAML. Both are exact, cheap and seeded, and implement `SimCore` so that they
 * share the `VecEnv` interface with the robots.
 *
 * point1d (facts of the ProMP code for the paper's toy, task distribution of ENVS.md):
 *   s0 ~ U[-2, 2]; the action sets the next position, s' = a; r = exp(-0.1 (s' - g)^2); horizon 5;
 *   goal g ~ U[-1, 1] per task (the ProMP code used g in {-1, +1}; such tasks can be set explicitly).
 * point2d (MAML's point navigation):
 *   s0 = (0, 0); s' = s + clip(a, -0.1, 0.1); r = -||s' - g||_2; done when |s'_x - g_x| < 0.01 and
 *   |s'_y - g_y| < 0.01; horizon 100; goal g ~ U[-0.5, 0.5]^2.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import type { TmamlError } from '../base/errors.js'
import type { Rng } from '../base/rng.js'
import type { Outcome, RewardFn } from './rewards.js'
import type { Goal1dTask, Goal2dTask } from './tasks.js'
import type { SimCore } from './vecEnv.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** Readings of a point env: the position after the step. */
export interface PointReadings {
  readonly x: number
  readonly y: number
}

// -------------------------------------------------------------------------------------------------
// rewards
// -------------------------------------------------------------------------------------------------

/** point1d: `exp(-0.1 (x - g)^2)` with x = s' = a; never terminates. */
export const point1dReward: RewardFn<PointReadings, Goal1dTask> = (r, _a, task): Outcome => ({
  reward: Math.exp(-0.1 * (r.x - task.goal) ** 2),
  terminated: false
})

/** point2d: `-||(x, y) - g||`; terminates within 0.01 of the goal in both coordinates. */
export const point2dReward: RewardFn<PointReadings, Goal2dTask> = (r, _a, task): Outcome => {
  const dx = r.x - task.goal[0]
  const dy = r.y - task.goal[1]
  return { reward: -Math.hypot(dx, dy), terminated: Math.abs(dx) < 0.01 && Math.abs(dy) < 0.01 }
}

// -------------------------------------------------------------------------------------------------
// cores
// -------------------------------------------------------------------------------------------------

/** Action bounds of point1d: wide enough never to bind for the toy's policies. */
export const point1dActionBound = 10

/** A core of `n` point1d envs. */
export const makePoint1dCore = (n: number): E.Either<TmamlError, SimCore<PointReadings, Goal1dTask>> => {
  const s = new Float64Array(n)
  return E.right({
    obsDim: 1,
    actDim: 1,
    stateDim: 1,
    actionLow: [-point1dActionBound],
    actionHigh: [point1dActionBound],
    reset: (i: number, rng: Rng) => {
      s[i] = rng.uniform(-2, 2)
    },
    observe: (i, out, offset) => {
      out[offset] = s[i]
    },
    step: (i, a) => {
      s[i] = a[0]
      return { _tag: 'Ok', readings: { x: s[i], y: 0 } }
    },
    getState: (i) => Float64Array.of(s[i]),
    setState: (i, state) => {
      s[i] = state[0]
    },
    dispose: () => undefined
  })
}

/** A core of `n` point2d envs. */
export const makePoint2dCore = (n: number): E.Either<TmamlError, SimCore<PointReadings, Goal2dTask>> => {
  const s = new Float64Array(2 * n)
  return E.right({
    obsDim: 2,
    actDim: 2,
    stateDim: 2,
    actionLow: [-0.1, -0.1],
    actionHigh: [0.1, 0.1],
    reset: (i: number) => {
      s[2 * i] = 0
      s[2 * i + 1] = 0
    },
    observe: (i, out, offset) => {
      out[offset] = s[2 * i]
      out[offset + 1] = s[2 * i + 1]
    },
    step: (i, a) => {
      s[2 * i] += a[0]
      s[2 * i + 1] += a[1]
      return { _tag: 'Ok', readings: { x: s[2 * i], y: s[2 * i + 1] } }
    },
    getState: (i) => s.slice(2 * i, 2 * i + 2),
    setState: (i, state) => {
      s[2 * i] = state[0]
      s[2 * i + 1] = state[1]
    },
    dispose: () => undefined
  })
}
