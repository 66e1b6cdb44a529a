/**
 * The environment registry: every task distribution of ENVS.md by id, with its sizes, default horizon,
 * action bounds, task description, task codec, seeded task sampler and a factory for a `VecEnv`.
 *
 * @example
 * import { rngAt } from '../base/rng.js'
 * const spec = envSpecs['ant-goal']                        // EnvSpec<Goal2dTask>, fully typed
 * const tasks = spec.sampleTasks(rngAt(0, 'tasks'), 8)     // goals ~ U[-3, 3]^2
 * const env = await spec.make({ n: 8, tasks })             // Either<TmamlError, VecEnv<Goal2dTask>>
 *
 * const dynamic = getEnvSpec(process.argv[2])              // Either<TmamlError, EnvSpec<unknown>>: tasks are
 *                                                          // checked with the codec where they come back in
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { invalidInput, type TmamlError } from '../base/errors.js'
import type { Rng } from '../base/rng.js'
import { loadMujoco } from './mujoco.js'
import { makeMujocoCore } from './mujocoEnv.js'
import {
  makePoint1dCore,
  makePoint2dCore,
  point1dActionBound,
  point1dReward,
  point2dReward,
  type PointReadings
} from './pointEnvs.js'
import * as rewards from './rewards.js'
import type { Readings } from './rewards.js'
import { ant, halfCheetah, humanoid, swimmer, walker2d, type Robot } from './robots.js'
import { makeTabularCore, tabularReward, type TabularReadings } from './tabularMdp.js'
import {
  Direction2dTask,
  DirectionTask,
  Goal1dTask,
  Goal2dTask,
  sampleDirections,
  sampleDirections2d,
  sampleGoals1d,
  sampleGoals2d,
  sampleTabularMdps,
  sampleVelocities,
  TabularMdpTask,
  VelocityTask
} from './tasks.js'
import {
  makeVecEnv,
  resolveOptions,
  type EnvId,
  type Family,
  type SimCore,
  type VecEnv,
  type VecEnvOptions
} from './vecEnv.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** A registered environment: everything needed to list it, sample its tasks and create it. */
export interface EnvSpec<T> {
  readonly id: EnvId
  /** The simulated system: a MuJoCo robot, or `'point1d'`, `'point2d'`, `'tabular'`. */
  readonly system: string
  /** `'mujoco'` for the robots (needs the wasm module), `'js'` for the exact small environments. */
  readonly simulator: 'mujoco' | 'js'
  readonly obsDim: number
  readonly actDim: number
  /** Default steps per episode (settable per env with `VecEnvOptions.horizon`). */
  readonly horizon: number
  readonly actionLow: ReadonlyArray<number>
  readonly actionHigh: ReadonlyArray<number>
  /** For discrete-action envs, the number of actions (the action is its index); otherwise undefined. */
  readonly discreteActions: number | undefined
  /** Seconds of simulated time per env step (timestep x frame skip), for MuJoCo robots. */
  readonly dt: number | undefined
  /**
   * The policy's initial log standard deviation that the task distribution's reference code uses
   * (config `initLogStd: null`, the default). The inner step moves the mean by an amount proportional
   * to 1 / std^2 in noise widths, so one rule (say, a tenth of the control range) does not fit every
   * control scale: measured in docs/EXPERIMENTS.md, "Learning speed".
   */
  readonly initLogStd: number
  /** One line: the task distribution and the reward. */
  readonly description: string
  readonly taskCodec: t.Type<T, unknown, unknown>
  /** `n` tasks drawn from the task distribution, a pure function of the stream's state. */
  readonly sampleTasks: (rng: Rng, n: number) => ReadonlyArray<T>
  /** The task an env has until `setTasks`. */
  readonly defaultTask: T
  /** Create `options.n` envs (loads this thread's MuJoCo module on first use). */
  readonly make: (options: VecEnvOptions<T>) => Promise<E.Either<TmamlError, VecEnv<T>>>
}

/** The task type of each registered environment. */
export interface EnvTasks {
  readonly 'halfcheetah-dir': DirectionTask
  readonly 'halfcheetah-vel': VelocityTask
  readonly 'ant-dir': DirectionTask
  readonly 'ant-dir2d': Direction2dTask
  readonly 'ant-goal': Goal2dTask
  readonly 'walker-dir': DirectionTask
  readonly 'walker-vel': VelocityTask
  readonly 'swimmer-vel': VelocityTask
  readonly 'humanoid-dir': DirectionTask
  readonly 'humanoid-dir2d': Direction2dTask
  readonly point1d: Goal1dTask
  readonly point2d: Goal2dTask
  readonly 'tabular-mdp': TabularMdpTask
}

// -------------------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------------------

type Core<R, T> = (n: number) => Promise<E.Either<TmamlError, SimCore<R, T>>>

const specOf = <R, T>(
  family: Family<R, T>,
  fields: Omit<EnvSpec<T>, 'id' | 'description' | 'taskCodec' | 'sampleTasks' | 'defaultTask' | 'make'>,
  core: Core<R, T>
): EnvSpec<T> => ({
  id: family.id,
  ...fields,
  description: family.description,
  taskCodec: family.taskCodec,
  sampleTasks: family.sampleTasks,
  defaultTask: family.defaultTask,
  make: async (options) => {
    const settings = resolveOptions(family.id, options, fields.horizon)
    if (E.isLeft(settings)) return settings
    const made = await core(settings.right.n)
    if (E.isLeft(made)) return made
    return makeVecEnv(made.right, family, settings.right, options.tasks)
  }
})

/** The spec of a MuJoCo task family on `robot`. */
export const mujocoSpec = <T>(robot: Robot, family: Family<Readings, T>): EnvSpec<T> =>
  specOf(
    family,
    {
      system: robot.name,
      simulator: 'mujoco',
      obsDim: robot.obsDim,
      actDim: robot.nu,
      horizon: robot.defaultHorizon,
      actionLow: Array.from({ length: robot.nu }, () => robot.ctrlRange[0]),
      actionHigh: Array.from({ length: robot.nu }, () => robot.ctrlRange[1]),
      discreteActions: undefined,
      dt: robot.timestep * robot.frameSkip,
      // ProMP's exploration level: std 1 on its normalize(env, 10)-scaled actions, controls in [-1, 1]
      initLogStd: Math.log(0.1)
    },
    async (n) => {
      const mj = await loadMujoco()
      return E.isLeft(mj) ? mj : makeMujocoCore<T>(mj.right, robot, n)
    }
  )

const family = <R, T>(
  id: EnvId,
  description: string,
  taskCodec: t.Type<T, unknown, unknown>,
  sampleTasks: (rng: Rng, n: number) => ReadonlyArray<T>,
  defaultTask: T,
  reward: rewards.RewardFn<R, T>
): Family<R, T> => ({ id, description, taskCodec, sampleTasks, defaultTask, reward })

const velocities = (rng: Rng, n: number): ReadonlyArray<VelocityTask> => sampleVelocities(rng, n, 0, 2)

// -------------------------------------------------------------------------------------------------
// MuJoCo families
// -------------------------------------------------------------------------------------------------

/** `halfcheetah-dir` (see the description). */
export const halfCheetahDirSpec: EnvSpec<DirectionTask> = mujocoSpec(
  halfCheetah,
  family(
    'halfcheetah-dir',
    'HalfCheetah forward/backward: dir in {-1, +1} (p = 1/2); r = dir * vx - 0.05 ||a||^2',
    DirectionTask,
    sampleDirections,
    { direction: 1 },
    rewards.halfCheetahDir
  )
)

/** `halfcheetah-vel` (see the description). */
export const halfCheetahVelSpec: EnvSpec<VelocityTask> = mujocoSpec(
  halfCheetah,
  family(
    'halfcheetah-vel',
    'HalfCheetah random velocity: v* ~ U[0, 2]; r = -|vx - v*| - 0.05 ||a||^2',
    VelocityTask,
    velocities,
    { velocity: 1 },
    rewards.halfCheetahVel
  )
)

/** `ant-dir` (see the description). */
export const antDirSpec: EnvSpec<DirectionTask> = mujocoSpec(
  ant,
  family(
    'ant-dir',
    'Ant forward/backward: dir in {-1, +1}; r = dir * vx - 0.5 ||a||^2 - 5e-4 ||clip(cfrc_ext)||^2 + 1; done if z not in [0.2, 1]',
    DirectionTask,
    sampleDirections,
    { direction: 1 },
    rewards.antDir
  )
)

/** `ant-dir2d` (see the description). */
export const antDir2dSpec: EnvSpec<Direction2dTask> = mujocoSpec(
  ant,
  family(
    'ant-dir2d',
    'Ant random XY direction: d = (cos θ, sin θ), θ ~ U[0, 2π); r = <v_xy, d> - 0.5 ||a||^2 - contact + 1; done if z not in [0.2, 1]',
    Direction2dTask,
    sampleDirections2d,
    { direction: [1, 0] },
    rewards.antDir2d
  )
)

/** `ant-goal` (see the description). */
export const antGoalSpec: EnvSpec<Goal2dTask> = mujocoSpec(
  ant,
  family(
    'ant-goal',
    'Ant goal position: g ~ U[-3, 3]^2; r = -||xy - g||_1 - 0.1 ||a||^2 - contact + 1; done if z not in [0.2, 1]',
    Goal2dTask,
    (rng, n) => sampleGoals2d(rng, n, -3, 3),
    { goal: [0, 0] },
    rewards.antGoal
  )
)

/** `walker-dir` (see the description). */
export const walkerDirSpec: EnvSpec<DirectionTask> = mujocoSpec(
  walker2d,
  family(
    'walker-dir',
    'Walker2d forward/backward: dir in {-1, +1}; r = dir * vx + 1 - 1e-3 ||a||^2; done unless 0.8 < z < 2 and |pitch| < 1',
    DirectionTask,
    sampleDirections,
    { direction: 1 },
    rewards.walkerDir
  )
)

/** `walker-vel` (see the description). */
export const walkerVelSpec: EnvSpec<VelocityTask> = mujocoSpec(
  walker2d,
  family(
    'walker-vel',
    'Walker2d random velocity: v* ~ U[0, 2]; r = -|vx - v*| + 1 - 1e-3 ||a||^2; done unless 0.8 < z < 2 and |pitch| < 1',
    VelocityTask,
    velocities,
    { velocity: 1 },
    rewards.walkerVel
  )
)

/** `swimmer-vel` (see the description). */
export const swimmerVelSpec: EnvSpec<VelocityTask> = mujocoSpec(
  swimmer,
  family(
    'swimmer-vel',
    'Swimmer random velocity: v* ~ U[0, 2]; r = -|vx - v*| - 1e-4 ||a||^2',
    VelocityTask,
    velocities,
    { velocity: 1 },
    rewards.swimmerVel
  )
)

/** `humanoid-dir` (see the description). */
export const humanoidDirSpec: EnvSpec<DirectionTask> = mujocoSpec(
  humanoid,
  family(
    'humanoid-dir',
    'Humanoid forward/backward: dir in {-1, +1}; r = 0.25 dir * com vx - 0.1 ||a||^2 - min(5e-7 ||cfrc_ext||^2, 10) + 5; done if z not in [1, 2]',
    DirectionTask,
    sampleDirections,
    { direction: 1 },
    rewards.humanoidDir
  )
)

/** `humanoid-dir2d` (see the description). */
export const humanoidDir2dSpec: EnvSpec<Direction2dTask> = mujocoSpec(
  humanoid,
  family(
    'humanoid-dir2d',
    'Humanoid random XY direction: d = (cos θ, sin θ); r = 0.25 <com v_xy, d> - 0.1 ||a||^2 - contact + 5; done if z not in [1, 2]',
    Direction2dTask,
    sampleDirections2d,
    { direction: [1, 0] },
    rewards.humanoidDir2d
  )
)

// -------------------------------------------------------------------------------------------------
// small environments
// -------------------------------------------------------------------------------------------------

/** `point1d` (see the description). */
export const point1dSpec: EnvSpec<Goal1dTask> = specOf(
  family<PointReadings, Goal1dTask>(
    'point1d',
    "1-D goal reaching (paper 5.3): g ~ U[-1, 1], s0 ~ U[-2, 2], s' = a; r = exp(-0.1 (s' - g)^2)",
    Goal1dTask,
    (rng, n) => sampleGoals1d(rng, n, -1, 1),
    { goal: 1 },
    point1dReward
  ),
  {
    system: 'point1d',
    simulator: 'js',
    obsDim: 1,
    actDim: 1,
    horizon: 5,
    actionLow: [-point1dActionBound],
    actionHigh: [point1dActionBound],
    discreteActions: undefined,
    dt: undefined,
    initLogStd: Math.log(0.1 * point1dActionBound)
  },
  async (n) => makePoint1dCore(n)
)

/** `point2d` (see the description). */
export const point2dSpec: EnvSpec<Goal2dTask> = specOf(
  family<PointReadings, Goal2dTask>(
    'point2d',
    "2-D point navigation: g ~ U[-0.5, 0.5]^2, s0 = 0, s' = s + clip(a, -0.1, 0.1); r = -||s' - g||; done within 0.01",
    Goal2dTask,
    (rng, n) => sampleGoals2d(rng, n, -0.5, 0.5),
    { goal: [0, 0] },
    point2dReward
  ),
  {
    system: 'point2d',
    simulator: 'js',
    obsDim: 2,
    actDim: 2,
    horizon: 100,
    actionLow: [-0.1, -0.1],
    actionHigh: [0.1, 0.1],
    discreteActions: undefined,
    dt: undefined,
    // MAML's point environment (Finn et al. 2017): std 1, ten times the control range
    initLogStd: 0
  },
  async (n) => makePoint2dCore(n)
)

/** Sizes of a tabular-MDP environment. */
export interface TabularSizes {
  readonly nStates: number
  readonly nActions: number
  readonly horizon: number
}

/**
 * The spec of random tabular MDPs of the given sizes (the registry's `tabular-mdp` is 3 states, 2
 * actions, horizon 3). Sizes must be integers >= 1 (a RangeError otherwise: sizes are code, not input).
 */
export const tabularMdpSpec = ({ nStates, nActions, horizon }: TabularSizes): EnvSpec<TabularMdpTask> => {
  for (const [k, v] of Object.entries({ nStates, nActions, horizon }))
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`tabularMdpSpec: ${k} must be an integer >= 1, got ${v}`)
  const uniform: TabularMdpTask = {
    nStates,
    nActions,
    initial: Array.from({ length: nStates }, () => 1 / nStates),
    transition: Array.from({ length: nStates * nActions * nStates }, () => 1 / nStates),
    reward: Array.from({ length: nStates * nActions }, () => 0)
  }
  return specOf(
    family<TabularReadings, TabularMdpTask>(
      'tabular-mdp',
      `random tabular MDP (${nStates} states, ${nActions} actions): P rows and start ~ flat Dirichlet, R ~ U[0, 1]; one-hot obs, action = index`,
      TabularMdpTask,
      (rng, n) => sampleTabularMdps(rng, n, nStates, nActions),
      uniform,
      tabularReward
    ),
    {
      system: 'tabular',
      simulator: 'js',
      obsDim: nStates,
      actDim: 1,
      horizon,
      actionLow: [0],
      actionHigh: [nActions - 1],
      discreteActions: nActions,
      dt: undefined,
      initLogStd: 0 // no Gaussian policy: a categorical one over the actions
    },
    async (n) => makeTabularCore(n, nStates, nActions)
  )
}

// -------------------------------------------------------------------------------------------------
// registry
// -------------------------------------------------------------------------------------------------

/** Every registered environment, by id, with its precise task type. */
export const envSpecs: { readonly [K in EnvId]: EnvSpec<EnvTasks[K]> } = {
  'halfcheetah-dir': halfCheetahDirSpec,
  'halfcheetah-vel': halfCheetahVelSpec,
  'ant-dir': antDirSpec,
  'ant-dir2d': antDir2dSpec,
  'ant-goal': antGoalSpec,
  'walker-dir': walkerDirSpec,
  'walker-vel': walkerVelSpec,
  'swimmer-vel': swimmerVelSpec,
  'humanoid-dir': humanoidDirSpec,
  'humanoid-dir2d': humanoidDir2dSpec,
  point1d: point1dSpec,
  point2d: point2dSpec,
  'tabular-mdp': tabularMdpSpec({ nStates: 3, nActions: 2, horizon: 3 })
}

/** The registered ids, in registry order. */
export const envIds: ReadonlyArray<EnvId> = [
  'halfcheetah-dir',
  'halfcheetah-vel',
  'ant-dir',
  'ant-dir2d',
  'ant-goal',
  'walker-dir',
  'walker-vel',
  'swimmer-vel',
  'humanoid-dir',
  'humanoid-dir2d',
  'point1d',
  'point2d',
  'tabular-mdp'
]

/** Whether `s` is a registered id. */
export const isEnvId = (s: string): s is EnvId => (envIds as ReadonlyArray<string>).includes(s)

const eraseCodec = <T>(codec: t.Type<T, unknown, unknown>): t.Type<unknown, unknown, unknown> =>
  new t.Type<unknown, unknown, unknown>(codec.name, codec.is, codec.validate, (u) =>
    codec.is(u) ? codec.encode(u) : u
  )

const eraseEnv = <T>(env: VecEnv<T>, isTask: (u: unknown) => u is T): VecEnv<unknown> => ({
  ...env,
  setTasks: (tasks) => {
    const bad = tasks.findIndex((x) => !isTask(x))
    if (bad >= 0)
      return E.left(
        invalidInput(`${env.id}.setTasks`, `task ${bad} is not a valid task: ${JSON.stringify(tasks[bad])}`)
      )
    return env.setTasks(tasks.filter(isTask))
  }
})

/**
 * The spec with its task type forgotten, for code that picks environments at run time. Tasks handed
 * back (`make`'s `tasks`, `setTasks`) are checked with the spec's codec.
 */
export const eraseSpec = <T>(spec: EnvSpec<T>): EnvSpec<unknown> => {
  const isTask = spec.taskCodec.is
  return {
    ...spec,
    taskCodec: eraseCodec(spec.taskCodec),
    make: async (options) => {
      const { tasks } = options
      if (tasks !== undefined) {
        const bad = tasks.findIndex((x) => !isTask(x))
        if (bad >= 0)
          return E.left(
            invalidInput(`${spec.id}.make`, `task ${bad} is not a valid task: ${JSON.stringify(tasks[bad])}`)
          )
      }
      const made = await spec.make({ ...options, tasks: tasks?.filter(isTask) })
      return E.map((env: VecEnv<T>) => eraseEnv(env, isTask))(made)
    }
  }
}

const erased = <K extends EnvId>(id: K): EnvSpec<unknown> => eraseSpec<EnvTasks[K]>(envSpecs[id])

/** The spec registered under `id` (any string, e.g. from the command line), or an error listing the ids. */
export const getEnvSpec = (id: string): E.Either<TmamlError, EnvSpec<unknown>> => {
  if (!isEnvId(id)) return E.left(invalidInput('envs', `unknown environment '${id}'; known: ${envIds.join(', ')}`))
  return E.right(erased(id))
}
