/**
 * The vectorised environment: `n` independent copies of one environment, stepped together on flat
 * typed arrays. This is the interface the training pipelines use; every environment of the registry
 * (MuJoCo robots, point tasks, tabular MDPs) implements it through `makeVecEnv`, which owns all the
 * bookkeeping (input validation, clipping, horizons, termination, auto-reset, divergence recovery) over a
 * small simulator `SimCore`.
 *
 * @example
 * const env = await halfCheetahVelSpec.make({ n: 4, tasks: halfCheetahVelSpec.sampleTasks(rngAt(0, 'tasks'), 4) })
 * // (handle the Left case), then:
 * let obs = env.reset(7)                 // Right(Float32Array [4 * 17]); env i draws its noise from rngAt(7, i)
 * const res = env.step(actions)          // actions: Float32Array [4 * 6]
 * // res.right.obs [4 * 17], .reward [4], .done [4], .terminated, .truncated, .diverged, .active, .finalObs
 * env.dispose()                          // frees the MuJoCo handles; the env is unusable afterwards
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import { invalidInput, type TmamlError } from '../base/errors.js'
import { rngAt, type Rng } from '../base/rng.js'
import type { RewardFn } from './rewards.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** The identifiers of the registered environments. */
export type EnvId =
  | 'halfcheetah-dir'
  | 'halfcheetah-vel'
  | 'ant-dir'
  | 'ant-dir2d'
  | 'ant-goal'
  | 'walker-dir'
  | 'walker-vel'
  | 'swimmer-vel'
  | 'humanoid-dir'
  | 'humanoid-dir2d'
  | 'point1d'
  | 'point2d'
  | 'tabular-mdp'

/**
 * What happens to an env whose episode ended (terminated, truncated at the horizon, or diverged):
 * - `'auto'`: it is reset at once from its own random stream; `obs` holds the first observation of the
 *   new episode and `finalObs` the last observation of the old one;
 * - `'manual'`: it is frozen until `reset`/`resetEnv`; later steps leave it untouched (`active = 0`,
 *   reward 0, `done = 1`), which suits fixed-size batches of episodes.
 */
export type AutoReset = 'auto' | 'manual'

/** Options of `EnvSpec.make`. */
export interface VecEnvOptions<T> {
  /** Number of parallel envs, an integer >= 1. */
  readonly n: number
  /** One task per env; defaults to the family's default task for every env. */
  readonly tasks?: ReadonlyArray<T>
  /** Steps per episode before truncation, an integer >= 1; defaults to the spec's horizon. */
  readonly horizon?: number
  /** Default `'auto'`. */
  readonly autoReset?: AutoReset
  /**
   * Whether the robots' health rules (Ant/Humanoid height, Walker height and pitch) end episodes.
   * Default `true`; `false` runs every episode to the horizon (used by the benchmark).
   */
  readonly terminateWhenUnhealthy?: boolean
}

/** How `reset` seeds the envs: one base seed (env i uses `rngAt(seed, i)`), or one `Rng` or seed per env. */
export type ResetInit = number | ReadonlyArray<Rng | number>

/** A notable event of one env during a step. */
export interface EnvEvent {
  /** Index of the env, in `[0, n)`. */
  readonly env: number
  /** `'diverged'`: the simulation blew up and the env was reset; `'warning'`: a simulator warning. */
  readonly kind: 'diverged' | 'warning'
  /** A sentence naming the environment id, the env index and the cause. */
  readonly message: string
}

/** The result of one `step` of all envs. Arrays are fresh and owned by the caller. */
export interface StepResult {
  /** `[n * obsDim]`: observations after the step (after an auto-reset: the new episode's first); finite. */
  readonly obs: Float32Array
  /** `[n * obsDim]`: observations after the step, before any auto-reset (for bootstrapping). */
  readonly finalObs: Float32Array
  /** `[n]`: rewards, always finite (0 for a diverged step and for frozen envs). */
  readonly reward: Float64Array
  /** `[n]`: 1 iff the env's episode is over (ended at this step if `active`, earlier otherwise). */
  readonly done: Uint8Array
  /** `[n]`: 1 iff the episode ended at this step by a termination rule. */
  readonly terminated: Uint8Array
  /** `[n]`: 1 iff the episode ended at this step by reaching the horizon. */
  readonly truncated: Uint8Array
  /** `[n]`: 1 iff the simulation diverged at this step; the env was reset and its reward is 0. */
  readonly diverged: Uint8Array
  /** `[n]`: 1 iff the env was stepped by this call (0 for frozen envs in `'manual'` mode). */
  readonly active: Uint8Array
  /** Divergences and simulator warnings of this step, in env order. */
  readonly events: ReadonlyArray<EnvEvent>
}

/**
 * `n` copies of one environment. All methods are synchronous; fallible ones return `Either` and leave
 * every env untouched when they fail (inputs are validated before anything is written).
 */
export interface VecEnv<T> {
  readonly id: EnvId
  readonly n: number
  readonly obsDim: number
  readonly actDim: number
  /** Length of one env's state vector (`getState`): `nq + nv` for MuJoCo robots. */
  readonly stateDim: number
  readonly horizon: number
  readonly autoReset: AutoReset
  /** Per action component: actions are clipped to `[actionLow[k], actionHigh[k]]` before use. */
  readonly actionLow: ReadonlyArray<number>
  readonly actionHigh: ReadonlyArray<number>
  /** The current task of each env. */
  readonly tasks: () => ReadonlyArray<T>
  /** Set every env's task (exactly `n`); takes effect from the next step, the state is not reset. */
  readonly setTasks: (tasks: ReadonlyArray<T>) => E.Either<TmamlError, void>
  /** Reset all envs (their streams are kept for later auto-resets); returns the observations `[n * obsDim]`. */
  readonly reset: (init: ResetInit) => E.Either<TmamlError, Float32Array>
  /**
   * Reset env `i` alone (and un-freeze it); returns its observation `[obsDim]`. Envs that were never
   * reset are idle: `step` reports them as finished (`active = 0`, `done = 1`).
   */
  readonly resetEnv: (i: number, init: Rng | number) => E.Either<TmamlError, Float32Array>
  /** Step all envs with `actions` `[n * actDim]` (finite numbers; integers in `[0, A)` for discrete actions). */
  readonly step: (actions: ArrayLike<number>) => E.Either<TmamlError, StepResult>
  /** The current observations `[n * obsDim]`. */
  readonly observations: () => Float32Array
  /** A copy of env `i`'s simulator state. */
  readonly getState: (i: number) => E.Either<TmamlError, Float64Array>
  /** Overwrite env `i`'s simulator state (for tests and diagnostics); the episode clock is unchanged. */
  readonly setState: (i: number, state: ArrayLike<number>) => E.Either<TmamlError, void>
  /** Free the simulator resources. Idempotent; afterwards every method returns an error. */
  readonly dispose: () => void
  readonly isDisposed: () => boolean
}

/** The outcome of one simulator step: readings for the reward, or a divergence with its cause. */
export type SimStep<R> =
  { readonly _tag: 'Ok'; readonly readings: R } | { readonly _tag: 'Diverged'; readonly cause: string }

/**
 * The imperative part of an environment: `n` simulators and how to reset, observe and step them. It
 * only sees validated, clipped actions and valid indices; `makeVecEnv` does the rest.
 */
export interface SimCore<R, T> {
  readonly obsDim: number
  readonly actDim: number
  readonly stateDim: number
  readonly actionLow: ReadonlyArray<number>
  readonly actionHigh: ReadonlyArray<number>
  /** Extra check of one finite action component; a reason when it is invalid. */
  readonly checkAction?: (value: number, component: number) => string | undefined
  /** Extra check of a task that passed the codec (e.g. sizes); a reason when this core cannot run it. */
  readonly checkTask?: (task: T) => string | undefined
  /** Extra check of a finite state vector of the right length; a reason when it is invalid. */
  readonly checkState?: (state: ArrayLike<number>) => string | undefined
  /** Start a new episode of env `i` for `task`, drawing any randomness from `rng`. */
  readonly reset: (i: number, rng: Rng, task: T) => void
  readonly observe: (i: number, out: Float32Array, offset: number) => void
  readonly step: (i: number, action: Float64Array, task: T, rng: Rng) => SimStep<R>
  readonly getState: (i: number) => Float64Array
  /** Write a validated state (right length, finite) and bring derived quantities up to date. */
  readonly setState: (i: number, state: ArrayLike<number>) => void
  /** Simulator warnings of env `i` since the last call (e.g. a full MuJoCo arena), cleared by the call. */
  readonly warnings?: (i: number) => string | undefined
  readonly dispose: () => void
}

/** A task family: its tasks and its reward over readings of type `R`. */
export interface Family<R, T> {
  readonly id: EnvId
  readonly description: string
  readonly taskCodec: t.Type<T, unknown, unknown>
  readonly sampleTasks: (rng: Rng, n: number) => ReadonlyArray<T>
  readonly defaultTask: T
  readonly reward: RewardFn<R, T>
}

// -------------------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------------------

/** Settings of `makeVecEnv`, resolved from `VecEnvOptions`. */
export interface VecEnvSettings {
  readonly n: number
  readonly horizon: number
  readonly autoReset: AutoReset
  readonly terminateWhenUnhealthy: boolean
}

/** Index (relative to `from`) of the first non-finite entry of `a[from .. from + len)`, or -1. */
const firstNonFinite = (a: Float32Array, from: number, len: number): number => {
  for (let k = 0; k < len; k++) if (!Number.isFinite(a[from + k])) return k
  return -1
}

const isIndex = (i: number, n: number): boolean => Number.isInteger(i) && i >= 0 && i < n

/** A value as error messages show it (short; `null`, `undefined` and functions by name). */
const show = (u: unknown): string => {
  if (u === undefined || typeof u === 'function' || typeof u === 'symbol' || typeof u === 'bigint') return String(u)
  try {
    const s = JSON.stringify(u)
    return s.length > 60 ? `${s.slice(0, 57)}...` : s
  } catch {
    return String(u)
  }
}

const rngMethods = ['next', 'uniform', 'int', 'normal', 'fillNormal', 'categorical', 'state'] as const

/** Whether `u` can serve as an env's random stream (the callers' JavaScript is not type-checked). */
const isRng = (u: unknown): u is Rng =>
  typeof u === 'object' &&
  u !== null &&
  rngMethods.every((m) => typeof (u as Record<string, unknown>)[m] === 'function')

/** Why `u` cannot seed an env (a finite number or an `Rng`), or undefined when it can. */
const seedIssue = (u: unknown): string | undefined =>
  typeof u === 'number'
    ? Number.isFinite(u)
      ? undefined
      : `the seed must be finite, got ${u}`
    : isRng(u)
      ? undefined
      : `expected a seed (a finite number) or an Rng (src/base/rng.ts), got ${show(u)}`

const isArrayLike = (u: unknown): u is ArrayLike<unknown> =>
  typeof u === 'object' && u !== null && typeof (u as { length?: unknown }).length === 'number'

/** Check `VecEnvOptions` and fill in defaults. */
export const resolveOptions = <T>(
  id: EnvId,
  options: VecEnvOptions<T>,
  defaultHorizon: number
): E.Either<TmamlError, VecEnvSettings> => {
  const where = `${id}.make`
  if (typeof options !== 'object' || options === null)
    return E.left(invalidInput(where, `expected options { n, tasks?, horizon?, autoReset? }, got ${show(options)}`))
  const { n, horizon = defaultHorizon, autoReset = 'auto', terminateWhenUnhealthy = true } = options
  if (!Number.isInteger(n) || n < 1) return E.left(invalidInput(where, `n must be an integer >= 1, got ${n}`))
  if (!Number.isInteger(horizon) || horizon < 1)
    return E.left(invalidInput(where, `horizon must be an integer >= 1, got ${horizon}`))
  if (autoReset !== 'auto' && autoReset !== 'manual')
    return E.left(invalidInput(where, `autoReset must be 'auto' or 'manual', got ${String(autoReset)}`))
  if (options.tasks !== undefined && !Array.isArray(options.tasks))
    return E.left(invalidInput(where, `tasks must be an array of ${n} tasks, got ${show(options.tasks)}`))
  if (options.tasks !== undefined && options.tasks.length !== n)
    return E.left(invalidInput(where, `tasks must hold one task per env (${n}), got ${options.tasks.length}`))
  return E.right({ n, horizon, autoReset, terminateWhenUnhealthy })
}

/**
 * Build a `VecEnv` from a simulator core and a task family. The env owns the core: `dispose` disposes
 * it. Tasks start as `tasks` (validated) or the family's default task.
 */
export const makeVecEnv = <R, T>(
  core: SimCore<R, T>,
  family: Family<R, T>,
  settings: VecEnvSettings,
  tasks?: ReadonlyArray<T>
): E.Either<TmamlError, VecEnv<T>> => {
  const { n, horizon, autoReset, terminateWhenUnhealthy } = settings
  const { obsDim, actDim, stateDim } = core
  const id = family.id
  const low = Float64Array.from(core.actionLow)
  const high = Float64Array.from(core.actionHigh)

  const taskIssue = (task: T, i: number): TmamlError | undefined => {
    if (!family.taskCodec.is(task))
      return invalidInput(
        `${id}.setTasks`,
        `task ${i} is not a valid ${family.taskCodec.name}: ${JSON.stringify(task)}`
      )
    const reason = core.checkTask?.(task)
    return reason === undefined ? undefined : invalidInput(`${id}.setTasks`, `task ${i}: ${reason}`)
  }

  let currentTasks: T[] = Array.from({ length: n }, () => family.defaultTask)
  if (tasks !== undefined) {
    for (let i = 0; i < tasks.length; i++) {
      const issue = taskIssue(tasks[i], i)
      if (issue !== undefined) {
        core.dispose()
        return E.left(issue)
      }
    }
    currentTasks = [...tasks]
  }

  const rngs: Array<Rng | undefined> = Array.from({ length: n }, () => undefined)
  const episodeStep = new Int32Array(n)
  const running = new Uint8Array(n) // 1 while the env's episode is in progress
  const lastObs = new Float32Array(n * obsDim)
  const action = new Float64Array(actDim)
  let disposed = false
  let everReset = false

  const disposedError = (method: string): E.Either<TmamlError, never> =>
    E.left(invalidInput(`${id}.${method}`, 'the environment was disposed'))

  const resetOne = (i: number, rng: Rng): void => {
    rngs[i] = rng
    core.reset(i, rng, currentTasks[i])
    episodeStep[i] = 0
    running[i] = 1
    core.observe(i, lastObs, i * obsDim)
  }

  const toRng = (x: Rng | number): Rng => (typeof x === 'number' ? rngAt(x) : x)

  const validateActions = (actions: ArrayLike<number>): TmamlError | undefined => {
    const where = `${id}.step`
    if (actions === null || typeof actions !== 'object' || typeof actions.length !== 'number')
      return invalidInput(where, `actions must be an array of ${n * actDim} numbers`)
    if (actions.length !== n * actDim)
      return invalidInput(
        where,
        `expected ${n * actDim} action numbers (${n} envs x ${actDim}), got ${actions.length}; no env was stepped`
      )
    for (let k = 0; k < actions.length; k++) {
      const v = actions[k]
      const i = Math.floor(k / actDim)
      const c = k % actDim
      if (typeof v !== 'number' || !Number.isFinite(v))
        return invalidInput(
          where,
          `env ${i}: action component ${c} (flat index ${k}) is ${String(v)}, expected a finite number; no env was stepped`
        )
      const reason = core.checkAction?.(v, c)
      if (reason !== undefined)
        return invalidInput(
          where,
          `env ${i}: action component ${c} (flat index ${k}) is ${v}: ${reason}; no env was stepped`
        )
    }
    return undefined
  }

  const step = (actions: ArrayLike<number>): E.Either<TmamlError, StepResult> => {
    if (disposed) return disposedError('step')
    if (!everReset) return E.left(invalidInput(`${id}.step`, 'call reset() before the first step()'))
    const bad = validateActions(actions)
    if (bad !== undefined) return E.left(bad)

    const obs = new Float32Array(n * obsDim)
    const finalObs = new Float32Array(n * obsDim)
    const reward = new Float64Array(n)
    const done = new Uint8Array(n)
    const terminated = new Uint8Array(n)
    const truncated = new Uint8Array(n)
    const diverged = new Uint8Array(n)
    const active = new Uint8Array(n)
    const events: EnvEvent[] = []

    for (let i = 0; i < n; i++) {
      const off = i * obsDim
      const rng = rngs[i]
      if (running[i] === 0 || rng === undefined) {
        const frozen = lastObs.subarray(off, off + obsDim)
        obs.set(frozen, off)
        finalObs.set(frozen, off)
        done[i] = 1
        continue
      }
      active[i] = 1
      for (let c = 0; c < actDim; c++) {
        const v = actions[i * actDim + c]
        action[c] = v < low[c] ? low[c] : v > high[c] ? high[c] : v
      }
      const sim = core.step(i, action, currentTasks[i], rng)
      episodeStep[i]++
      const out = sim._tag === 'Ok' ? family.reward(sim.readings, action, currentTasks[i]) : undefined
      let cause: string | undefined
      if (sim._tag === 'Diverged') cause = sim.cause
      else if (out === undefined || !Number.isFinite(out.reward)) cause = `the reward was ${String(out?.reward)}`
      else {
        core.observe(i, finalObs, off)
        const k = firstNonFinite(finalObs, off, obsDim)
        if (k >= 0) cause = `observation component ${k} was ${finalObs[off + k]}`
      }
      if (cause !== undefined || out === undefined) {
        diverged[i] = 1
        done[i] = 1
        events.push({
          env: i,
          kind: 'diverged',
          message: `${id}: env ${i} diverged at episode step ${episodeStep[i]} (${cause ?? 'no reading'}); it was reset and its reward set to 0`
        })
        resetOne(i, rng)
        if (autoReset === 'manual') running[i] = 0
        const fresh = lastObs.subarray(off, off + obsDim)
        obs.set(fresh, off)
        finalObs.set(fresh, off)
        continue
      }
      reward[i] = out.reward
      const term = out.terminated && terminateWhenUnhealthy
      const trunc = !term && episodeStep[i] >= horizon
      terminated[i] = term ? 1 : 0
      truncated[i] = trunc ? 1 : 0
      const warning = core.warnings?.(i)
      if (warning !== undefined) events.push({ env: i, kind: 'warning', message: `${id}: env ${i}: ${warning}` })
      if (term || trunc) {
        done[i] = 1
        if (autoReset === 'auto') {
          resetOne(i, rng)
          obs.set(lastObs.subarray(off, off + obsDim), off)
          continue
        }
        running[i] = 0
      }
      const now = finalObs.subarray(off, off + obsDim)
      obs.set(now, off)
      lastObs.set(now, off)
    }
    return E.right({ obs, finalObs, reward, done, terminated, truncated, diverged, active, events })
  }

  const reset = (init: ResetInit): E.Either<TmamlError, Float32Array> => {
    if (disposed) return disposedError('reset')
    const where = `${id}.reset`
    if (typeof init === 'number') {
      if (!Number.isFinite(init)) return E.left(invalidInput(where, `the seed must be finite, got ${init}`))
      for (let i = 0; i < n; i++) resetOne(i, rngAt(init, i))
    } else {
      if (!Array.isArray(init))
        return E.left(
          invalidInput(where, `expected a seed (a finite number) or an array of ${n} Rngs or seeds, got ${show(init)}`)
        )
      if (init.length !== n)
        return E.left(invalidInput(where, `expected one Rng or seed per env (${n}), got ${init.length}`))
      for (let i = 0; i < n; i++) {
        const issue = seedIssue(init[i])
        if (issue !== undefined) return E.left(invalidInput(where, `env ${i}: ${issue}`))
      }
      for (let i = 0; i < n; i++) resetOne(i, toRng(init[i]))
    }
    everReset = true
    return E.right(Float32Array.from(lastObs))
  }

  const resetEnv = (i: number, init: Rng | number): E.Either<TmamlError, Float32Array> => {
    if (disposed) return disposedError('resetEnv')
    if (!isIndex(i, n)) return E.left(invalidInput(`${id}.resetEnv`, `env index ${show(i)} is not in [0, ${n})`))
    const issue = seedIssue(init)
    if (issue !== undefined) return E.left(invalidInput(`${id}.resetEnv`, `env ${i}: ${issue}`))
    // Envs never reset stay idle (stepped as finished: active 0, done 1) until they are reset.
    everReset = true
    resetOne(i, toRng(init))
    return E.right(lastObs.slice(i * obsDim, (i + 1) * obsDim))
  }

  const setTasks = (next: ReadonlyArray<T>): E.Either<TmamlError, void> => {
    if (disposed) return disposedError('setTasks')
    if (!Array.isArray(next))
      return E.left(invalidInput(`${id}.setTasks`, `expected an array of ${n} tasks, got ${show(next)}`))
    if (next.length !== n)
      return E.left(invalidInput(`${id}.setTasks`, `expected one task per env (${n}), got ${next.length}`))
    for (let i = 0; i < n; i++) {
      const issue = taskIssue(next[i], i)
      if (issue !== undefined) return E.left(issue)
    }
    currentTasks = [...next]
    return E.right(undefined)
  }

  const getState = (i: number): E.Either<TmamlError, Float64Array> => {
    if (disposed) return disposedError('getState')
    if (!isIndex(i, n)) return E.left(invalidInput(`${id}.getState`, `env index ${show(i)} is not in [0, ${n})`))
    return E.right(core.getState(i))
  }

  const setState = (i: number, state: ArrayLike<number>): E.Either<TmamlError, void> => {
    const where = `${id}.setState`
    if (disposed) return disposedError('setState')
    if (!isIndex(i, n)) return E.left(invalidInput(where, `env index ${show(i)} is not in [0, ${n})`))
    if (!isArrayLike(state))
      return E.left(invalidInput(where, `env ${i}: expected a state of ${stateDim} numbers, got ${show(state)}`))
    if (state.length !== stateDim)
      return E.left(invalidInput(where, `env ${i}: expected a state of ${stateDim} numbers, got ${state.length}`))
    for (let k = 0; k < state.length; k++)
      if (typeof state[k] !== 'number' || !Number.isFinite(state[k]))
        return E.left(
          invalidInput(where, `env ${i}: state entry ${k} is ${String(state[k])}, expected a finite number`)
        )
    const reason = core.checkState?.(state)
    if (reason !== undefined) return E.left(invalidInput(where, `env ${i}: ${reason}`))
    core.setState(i, state)
    core.observe(i, lastObs, i * obsDim)
    return E.right(undefined)
  }

  return E.right({
    id,
    n,
    obsDim,
    actDim,
    stateDim,
    horizon,
    autoReset,
    actionLow: Array.from(low),
    actionHigh: Array.from(high),
    tasks: () => [...currentTasks],
    setTasks,
    reset,
    resetEnv,
    step,
    observations: () => Float32Array.from(lastObs),
    getState,
    setState,
    dispose: () => {
      if (disposed) return
      disposed = true
      core.dispose()
    },
    isDisposed: () => disposed
  })
}
