/**
 * Recorded trajectories under given actions, and timed random-action runs: the two jobs that run the
 * same way on the main thread and in a worker thread (`worker.ts`), so their results can be compared
 * bit for bit (determinism) or added up (throughput).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { invalidInput, type TmamlError } from '../base/errors.js'
import { rngAt } from '../base/rng.js'
import { getEnvSpec } from './registry.js'

// -------------------------------------------------------------------------------------------------
// trajectories
// -------------------------------------------------------------------------------------------------

/** What to record: `steps` steps of `n` envs of `envId` with tasks `tasks`, reset with `seed`. */
export interface TrajectoryRequest {
  readonly envId: string
  readonly n: number
  readonly tasks: ReadonlyArray<unknown>
  readonly seed: number
  readonly steps: number
  /** `[steps * n * actDim]`: the actions of step t start at `t * n * actDim`. */
  readonly actions: Float32Array
}

/** A recorded run. Auto-reset is on, so an episode that ends continues with a fresh one. */
export interface Trajectory {
  /** `[(steps + 1) * n * obsDim]`: the reset observations, then the observations after each step. */
  readonly obs: Float32Array
  /** `[steps * n]` */
  readonly reward: Float64Array
  /** `[steps * n]` */
  readonly done: Uint8Array
  /** `[(steps + 1) * n * stateDim]`: each env's simulator state after the reset and after each step. */
  readonly state: Float64Array
}

/** Run a `TrajectoryRequest` in this thread. */
export const recordTrajectory = async (req: TrajectoryRequest): Promise<E.Either<TmamlError, Trajectory>> => {
  const spec = getEnvSpec(req.envId)
  if (E.isLeft(spec)) return spec
  const { n, steps } = req
  const actDim = spec.right.actDim
  if (!Number.isInteger(steps) || steps < 0 || req.actions.length !== steps * n * actDim)
    return E.left(
      invalidInput('recordTrajectory', `expected ${steps} x ${n} x ${actDim} actions, got ${req.actions.length}`)
    )
  const made = await spec.right.make({ n, tasks: req.tasks })
  if (E.isLeft(made)) return made
  const env = made.right
  try {
    const { obsDim, stateDim } = env
    const obs = new Float32Array((steps + 1) * n * obsDim)
    const state = new Float64Array((steps + 1) * n * stateDim)
    const reward = new Float64Array(steps * n)
    const done = new Uint8Array(steps * n)
    const recordState = (t: number): void => {
      for (let i = 0; i < n; i++) {
        const s = env.getState(i)
        if (E.isRight(s)) state.set(s.right, (t * n + i) * stateDim)
      }
    }
    const first = env.reset(req.seed)
    if (E.isLeft(first)) return first
    obs.set(first.right, 0)
    recordState(0)
    for (let t = 0; t < steps; t++) {
      const res = env.step(req.actions.subarray(t * n * actDim, (t + 1) * n * actDim))
      if (E.isLeft(res)) return res
      obs.set(res.right.obs, (t + 1) * n * obsDim)
      reward.set(res.right.reward, t * n)
      done.set(res.right.done, t * n)
      recordState(t + 1)
    }
    return E.right({ obs, reward, done, state })
  } finally {
    env.dispose()
  }
}

// -------------------------------------------------------------------------------------------------
// timing
// -------------------------------------------------------------------------------------------------

/** A timed run of random actions. */
export interface TimingRequest {
  readonly envId: string
  /** Envs stepped together in this thread. */
  readonly nEnvs: number
  /** Env steps to time (counted over all envs; rounded up to a multiple of `nEnvs`). */
  readonly steps: number
  readonly seed: number
}

/** `steps` env steps took `seconds` (wall clock, after a warm-up). */
export interface Timing {
  readonly steps: number
  readonly seconds: number
}

/**
 * Step `nEnvs` envs of `envId` with uniformly random actions within the bounds, every episode running to
 * the horizon (health rules off), and time it. `beforeTiming` runs after the warm-up (worker threads
 * use it to start together).
 */
export const timeRandomSteps = async (
  req: TimingRequest,
  beforeTiming: () => void = () => undefined
): Promise<E.Either<TmamlError, Timing>> => {
  const spec = getEnvSpec(req.envId)
  if (E.isLeft(spec)) return spec
  const { nEnvs, seed } = req
  const made = await spec.right.make({ n: nEnvs, terminateWhenUnhealthy: false })
  if (E.isLeft(made)) return made
  const env = made.right
  try {
    const { actDim, actionLow, actionHigh } = env
    const discrete = spec.right.discreteActions
    const rng = rngAt(seed, 'bench-actions')
    const pool = 256
    const actions = new Float32Array(pool * nEnvs * actDim)
    for (let k = 0; k < actions.length; k++) {
      const c = k % actDim
      actions[k] = discrete !== undefined ? rng.int(discrete) : rng.uniform(actionLow[c], actionHigh[c])
    }
    const stepAt = (t: number): E.Either<TmamlError, unknown> => {
      const p = t % pool
      return env.step(actions.subarray(p * nEnvs * actDim, (p + 1) * nEnvs * actDim))
    }
    const started = env.reset(seed)
    if (E.isLeft(started)) return started
    // Warm-up: let the JIT settle (up to 200 calls or 0.2 s).
    const warm0 = performance.now()
    for (let t = 0; t < 200 && performance.now() - warm0 < 200; t++) {
      const r = stepAt(t)
      if (E.isLeft(r)) return r
    }
    const calls = Math.max(1, Math.ceil(req.steps / nEnvs))
    beforeTiming()
    const t0 = performance.now()
    for (let t = 0; t < calls; t++) {
      const r = stepAt(t)
      if (E.isLeft(r)) return r
    }
    const seconds = (performance.now() - t0) / 1000
    return E.right({ steps: calls * nEnvs, seconds })
  } finally {
    env.dispose()
  }
}
