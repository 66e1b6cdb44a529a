// Helpers shared by the environment tests.
import * as E from 'fp-ts/lib/Either.js'
import { formatError, invalidInput, type TmamlError } from '../../src/base/errors.js'
import { type EnvSpec, getEnvSpec } from '../../src/envs/registry.js'
import type { StepResult, VecEnv, VecEnvOptions } from '../../src/envs/vecEnv.js'

/** The right value, or a test failure quoting the error. */
export const must = <A>(e: E.Either<TmamlError, A>): A => {
  if (E.isLeft(e)) throw new Error(`unexpected error: ${formatError(e.left)}`)
  return e.right
}

/** The error, or a test failure when the result was a success. */
export const mustFail = <A>(e: E.Either<TmamlError, A>): TmamlError => {
  if (E.isRight(e)) throw new Error('expected an error, got a success')
  return e.left
}

/** The error's human message (`where` + `message`, or the decode issues). */
export const text = (e: TmamlError): string => formatError(e)

/** Create an env or fail the test. */
export const makeEnv = async <T>(spec: EnvSpec<T>, options: VecEnvOptions<NoInfer<T>>): Promise<VecEnv<T>> =>
  must(await spec.make(options))

/** One step or fail. */
export const stepOk = <T>(env: VecEnv<T>, actions: ArrayLike<number>): StepResult => must(env.step(actions))

/** Byte-wise equality of two typed arrays (NaN-safe, -0 vs 0 distinguished): "bit-identical". */
export const sameBits = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  a.byteLength === b.byteLength &&
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  ) === 0

// Recorded trajectories under given actions (the determinism tests compare them bit for bit).

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
