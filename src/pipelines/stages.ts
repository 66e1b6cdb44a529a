/**
 * The stages of one meta-training iteration (paper Algorithm 2), each an RxJS operator on an
 * immutable `IterationContext`. The training loop (train.ts) is one composition of them; user code
 * can compose its own — replace `fitControlVariates` by another stage, add a logging stage, drop
 * evaluation — from these public operators.
 *
 * ```
 * sampleTasks -> innerLoop(rolloutPre -> fitControlVariates -> adaptPolicies) -> rolloutPost
 *   -> fitOuterBaselines -> metaUpdate -> evaluate
 * ```
 *
 * (streaming.ts runs the middle part as one stream, with the same result: the CLI's iteration.)
 *
 * The context says what it holds: the inner steps done (`inner`, one `InnerStepRecord` per task and
 * step), the step in progress (`step`: open, sampled or fitted) and the post-update episodes (`post`,
 * likewise). A stage that finds the context in another state than it needs fails with a message
 * naming the stage to run first. A stage that fails errors the stream with a `StageError`.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { type Observable, type OperatorFunction, concatMap, from, map, of } from 'rxjs'
import { type TmamlError, invalidInput, numericalError } from '../base/errors.js'
import { rngAt } from '../base/rng.js'
import { withKernelThreads } from '../graph/backend.js'
import { type EnvSpec, getEnvSpec } from '../envs/registry.js'
import type { ArrayParams } from '../graph/nn.js'
import type { ExperimentConfig } from './config.js'
import {
  type ControlVariateKind,
  type CvInput,
  evaluateControlVariate,
  fitControlVariate
} from './controlVariates/controlVariate.js'
import { linearControlVariate } from './controlVariates/linearFeature.js'
import {
  type EpisodeBatch,
  type Sampled,
  type WithBaseline,
  batchIsFinite,
  meanReturn,
  stepsTaken,
  withoutOuterBaseline
} from './episodes.js'
import { type MetaProblem, adaptedArrays, disposeMetaProblem, innerStepKl, makeMetaProblem } from './meta.js'
import type { AdamState } from './optim/adam.js'
import { allFinite } from './optim/params.js'
import { type OuterStep, outerSteps } from './outerStep.js'
import type { PolicySpec } from './policy.js'
import type { RolloutRequest, Sampler } from './sampler/types.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** Everything that persists between iterations (and goes into checkpoints). */
export interface TrainState {
  /** The next iteration to run. */
  readonly iteration: number
  readonly policy: ArrayParams
  /** The outer optimiser's state (Adam moments; unused by TRPO). */
  readonly adam: AdamState
  /** The control variate's own state (the meta-learned network), `null` for one that keeps none. */
  readonly cvState: unknown
  /** Environment steps taken so far. */
  readonly envSteps: number
}

/** What an iteration's stages read: configuration and services. */
export interface TrainDeps {
  readonly cfg: ExperimentConfig
  readonly env: EnvSpec<unknown>
  readonly horizon: number
  readonly policy: PolicySpec
  readonly sampler: Sampler
  /** The outer optimiser; default: the built-in one `cfg.outer` names. */
  readonly outer?: OuterStep
}

/** One task's finished inner step: its episodes, their baselines, the parameters that sampled them, and the result. */
export interface InnerStepRecord extends WithBaseline {
  /** The parameters after this step (the next step, or the post-update episodes, sample with them). */
  readonly adapted: ArrayParams
}

/** How far a step (an inner step, or the post-update phase) has come, for every task. */
export type StepProgress =
  | { readonly _tag: 'Open' }
  | { readonly _tag: 'Sampled'; readonly tasks: ReadonlyArray<Sampled> }
  | { readonly _tag: 'Fitted'; readonly tasks: ReadonlyArray<WithBaseline> }

/** The immutable record an iteration's stages fill in. */
export interface IterationContext {
  readonly deps: TrainDeps
  readonly state: TrainState
  readonly tasks: ReadonlyArray<unknown>
  /** Per task, the inner steps done, in order. */
  readonly inner: ReadonlyArray<ReadonlyArray<InnerStepRecord>>
  /** The inner step in progress. */
  readonly step: StepProgress
  /** The post-update episodes (sampled at the last adapted parameters) and their outer baselines. */
  readonly post: StepProgress
  /** The state after this iteration's update. */
  readonly next: TrainState | null
  /** Seconds per stage. */
  readonly timings: Readonly<Record<string, number>>
  /** Numbers for the metrics (returns, gradient norm, KL ...). */
  readonly stats: Readonly<Record<string, number>>
}

/** A failed stage, as a stream error. */
export class StageError extends Error {
  constructor(
    readonly stage: string,
    readonly error: TmamlError
  ) {
    super(`${stage}: ${error._tag}`)
  }
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

const open: StepProgress = { _tag: 'Open' }

/** The dependencies of a run of `cfg`: its environment, horizon and policy shape, and a sampler. */
export const trainDeps = (cfg: ExperimentConfig, sampler: Sampler): E.Either<TmamlError, TrainDeps> =>
  E.map((env: EnvSpec<unknown>) => ({
    cfg,
    env,
    horizon: cfg.horizon > 0 ? cfg.horizon : env.horizon,
    policy: { obsDim: env.obsDim, actDim: env.actDim, hidden: cfg.hidden, activation: cfg.activation },
    sampler
  }))(getEnvSpec(cfg.env))

/** The context an iteration starts from. */
export const startIteration = (deps: TrainDeps, state: TrainState): IterationContext => ({
  deps,
  state,
  tasks: [],
  inner: [],
  step: open,
  post: open,
  next: null,
  timings: {},
  stats: {}
})

/**
 * A stage from a function of the context (synchronous, or async): times it (adding to
 * `timings[name]`) and turns a `Left` into a `StageError`. A synchronous stage emits synchronously.
 */
export const stage =
  (
    name: string,
    f: (
      ctx: IterationContext
    ) => Promise<E.Either<TmamlError, IterationContext>> | E.Either<TmamlError, IterationContext>
  ): OperatorFunction<IterationContext, IterationContext> =>
  (ctx$) =>
    ctx$.pipe(
      concatMap((ctx) => {
        const t0 = performance.now()
        const done = (r: E.Either<TmamlError, IterationContext>): IterationContext => {
          if (E.isLeft(r)) throw new StageError(name, r.left)
          const seconds = (performance.now() - t0) / 1000
          return { ...r.right, timings: { ...r.right.timings, [name]: (r.right.timings[name] ?? 0) + seconds } }
        }
        const r = f(ctx)
        return r instanceof Promise ? from(r).pipe(map(done)) : of(r).pipe(map(done))
      })
    )

export const withStats = (ctx: IterationContext, stats: Readonly<Record<string, number>>): IterationContext => ({
  ...ctx,
  stats: { ...ctx.stats, ...stats }
})

// ---------------------------------------------------------------------------------------------
// what the context holds
// ---------------------------------------------------------------------------------------------

/** Inner steps done (the same for every task). */
export const innerStepsDone = (ctx: IterationContext): number => ctx.inner[0]?.length ?? 0

/** Per task, the parameters the next episodes are sampled with: the last adapted ones, or theta. */
export const currentParams = (ctx: IterationContext): ReadonlyArray<ArrayParams> =>
  ctx.tasks.map((_, k) => ctx.inner[k]?.[innerStepsDone(ctx) - 1]?.adapted ?? ctx.state.policy)

const what: Readonly<Record<StepProgress['_tag'], string>> = {
  Open: 'no episodes yet',
  Sampled: 'episodes without baselines',
  Fitted: 'episodes with baselines'
}

/** The tasks of `p` when it is at `tag`; else a Left saying what is there and which stage to run first. */
export function expectAt(
  p: StepProgress,
  tag: 'Sampled',
  where: string,
  first: string
): E.Either<TmamlError, ReadonlyArray<Sampled>>
export function expectAt(
  p: StepProgress,
  tag: 'Fitted',
  where: string,
  first: string
): E.Either<TmamlError, ReadonlyArray<WithBaseline>>
export function expectAt(p: StepProgress, tag: 'Open', where: string, first: string): E.Either<TmamlError, null>
export function expectAt(
  p: StepProgress,
  tag: StepProgress['_tag'],
  where: string,
  first: string
): E.Either<TmamlError, ReadonlyArray<Sampled> | null> {
  if (p._tag !== tag) return E.left(invalidInput(where, `found ${what[p._tag]}, expected ${what[tag]}: ${first}`))
  return E.right(p._tag === 'Open' ? null : p.tasks)
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** The outer optimiser a run uses: its own, else the built-in one its config names. */
export const outerOf = (deps: TrainDeps): OuterStep => deps.outer ?? outerSteps[deps.cfg.outer]

/** An iteration problem with the run's policy, estimator and step sizes. */
const problemFor = (
  deps: TrainDeps,
  pre: ReadonlyArray<ReadonlyArray<WithBaseline>>,
  post: ReadonlyArray<WithBaseline>
): MetaProblem =>
  makeMetaProblem({
    policy: deps.policy,
    estimator: deps.cfg.estimator,
    alpha: deps.cfg.innerLr,
    gamma: deps.cfg.gamma,
    normalizeAdvantages: deps.cfg.normalizeAdvantages,
    innerNormalize: deps.cfg.innerNormalize,
    pre,
    post
  })

/** The problem of one inner step of `step`'s tasks (its post-update part unused). */
const stepProblem = (deps: TrainDeps, step: ReadonlyArray<WithBaseline>): MetaProblem =>
  problemFor(
    deps,
    step.map((r) => [r]),
    step.map(withoutOuterBaseline)
  )

/**
 * How far an inner step moved the policies of `step`'s tasks to `adapted`: the mean over the tasks of
 * the mean KL on the step's observations (one batched problem: the number depends on all the tasks).
 */
export const innerKlOf = (
  deps: TrainDeps,
  step: ReadonlyArray<WithBaseline>,
  adapted: ReadonlyArray<ArrayParams>
): number => {
  const problem = stepProblem(deps, step)
  try {
    return innerStepKl(
      problem,
      step.map((r) => r.sampledWith),
      adapted
    )
  } finally {
    disposeMetaProblem(problem)
  }
}

/**
 * One inner step per task with the estimator, from the parameters that sampled its episodes; `innerKl`:
 * how far it moved the policies (the mean KL on the step's observations). `ids`: the tasks' ids in
 * messages (default their positions).
 */
export const adaptOnce = (
  deps: TrainDeps,
  step: ReadonlyArray<WithBaseline>,
  ids?: ReadonlyArray<number>
): E.Either<TmamlError, { readonly adapted: ReadonlyArray<ArrayParams>; readonly innerKl: number }> => {
  const problem = stepProblem(deps, step)
  try {
    const adapted = adaptedArrays(
      problem,
      step.map((r) => r.sampledWith)
    )
    const bad = adapted.findIndex((p) => !allFinite(p))
    return bad < 0
      ? E.right({
          adapted,
          innerKl: innerStepKl(
            problem,
            step.map((r) => r.sampledWith),
            adapted
          )
        })
      : E.left(
          numericalError(
            'adapt',
            `task ${ids?.[bad] ?? bad}: the adapted parameters are not finite; the run stops here, the last checkpoint is intact`
          )
        )
  } finally {
    disposeMetaProblem(problem)
  }
}

/** `bs`, or a `NumericalError` naming the first task whose episodes hold NaN or Infinity. */
export const checkBatches = (
  where: string,
  bs: ReadonlyArray<EpisodeBatch>
): E.Either<TmamlError, ReadonlyArray<EpisodeBatch>> => {
  const bad = bs.find((b) => !batchIsFinite(b))
  return bad === undefined
    ? E.right(bs)
    : E.left(
        numericalError(
          where,
          `task ${bad.task}: the episodes contain NaN or Infinity; the run stops here, the last checkpoint is intact`
        )
      )
}

/** The request for `tasks` (ids `taskIds`, default 0..K-1) at their parameters, on stream `stream`. */
export const rolloutRequest = (
  deps: TrainDeps,
  tasks: ReadonlyArray<unknown>,
  params: ReadonlyArray<ArrayParams>,
  stream: ReadonlyArray<string | number>,
  taskIds?: ReadonlyArray<number>
): RolloutRequest => ({
  envId: deps.env.id,
  tasks,
  episodesPerTask: deps.cfg.rolloutsPerTask,
  horizon: deps.horizon,
  policy: deps.policy,
  params,
  seed: deps.cfg.seed,
  stream,
  actionScale: deps.cfg.actionScale,
  ...(taskIds === undefined ? {} : { taskIds })
})

/** Episodes of every task at its parameters, checked for NaN/Infinity. */
const rollout = async (
  deps: TrainDeps,
  tasks: ReadonlyArray<unknown>,
  params: ReadonlyArray<ArrayParams>,
  stream: ReadonlyArray<string | number>
): Promise<E.Either<TmamlError, ReadonlyArray<Sampled>>> => {
  const r = await deps.sampler.sample(rolloutRequest(deps, tasks, params, stream))
  if (E.isLeft(r)) return r
  return E.map((bs: ReadonlyArray<EpisodeBatch>) =>
    bs.map((batch, k) => ({ batch, sampledWith: params.length === 1 ? params[0] : params[k] }))
  )(checkBatches(`rollouts ${stream.join('/')}`, r.right))
}

/**
 * What fitting `cv` on `tasks` reads; its streams are `rngAt(seed, '<name>-cv', ...where, task, part)`
 * with `task` the task's id (`ids`, default its position).
 */
export const cvInput = (
  deps: TrainDeps,
  cv: ControlVariateKind,
  tasks: ReadonlyArray<Sampled>,
  state: unknown,
  where: ReadonlyArray<string | number>,
  ids?: ReadonlyArray<number>
): CvInput => ({
  tasks,
  policy: deps.policy,
  settings: deps.cfg,
  rng: (task, part) => rngAt(deps.cfg.seed, `${cv.name}-cv`, ...where, ids?.[task] ?? task, part),
  state
})

// ---------------------------------------------------------------------------------------------
// stages
// ---------------------------------------------------------------------------------------------

/** Draw the iteration's tasks from `rngAt(seed, 'tasks', iteration)`; every task starts at theta. */
export const sampleTasks = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('tasks', (ctx) => {
    const { cfg, env } = ctx.deps
    return E.right({ ...ctx, tasks: env.sampleTasks(rngAt(cfg.seed, 'tasks', ctx.state.iteration), cfg.tasksPerBatch) })
  })

/** Sample the episodes of the next inner step at each task's current parameters. */
export const rolloutPre = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('sample', async (ctx) => {
    if (ctx.tasks.length === 0) return E.left(invalidInput('rolloutPre', 'no tasks: run sampleTasks first'))
    const ready = expectAt(ctx.step, 'Open', 'rolloutPre', 'the inner step in progress is not done (run adaptPolicies)')
    if (E.isLeft(ready)) return ready
    const r = await rollout(ctx.deps, ctx.tasks, currentParams(ctx), [ctx.state.iteration, 'pre', innerStepsDone(ctx)])
    return E.map((tasks: ReadonlyArray<Sampled>): IterationContext => ({ ...ctx, step: { _tag: 'Sampled', tasks } }))(r)
  })

/**
 * Fit the configured control variate (`cfg.controlVariate`) on the inner step's episodes; its state
 * (the meta-learned network) is updated.
 */
export const fitControlVariates = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('controlVariates', (ctx) => {
    const sampled = expectAt(ctx.step, 'Sampled', 'fitControlVariates', 'run rolloutPre first')
    if (E.isLeft(sampled)) return sampled
    const cv = ctx.deps.cfg.controlVariate
    const fitted = fitControlVariate(
      cv,
      cvInput(ctx.deps, cv, sampled.right, ctx.state.cvState, [ctx.state.iteration, innerStepsDone(ctx)])
    )
    if (E.isLeft(fitted)) return fitted
    const tasks = sampled.right.map((s, k) => ({ ...s, baseline: fitted.right.baselines[k] }))
    return E.right(
      withStats(
        { ...ctx, state: { ...ctx.state, cvState: fitted.right.state }, step: { _tag: 'Fitted', tasks } },
        fitted.right.stats
      )
    )
  })

/** One inner gradient step per task with the estimator: theta'_{k, s+1} = theta'_{k, s} + alpha grad. */
export const adaptPolicies = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('adapt', (ctx) => {
    const fitted = expectAt(ctx.step, 'Fitted', 'adaptPolicies', 'run fitControlVariates first')
    if (E.isLeft(fitted)) return fitted
    const step = adaptOnce(ctx.deps, fitted.right)
    if (E.isLeft(step)) return step
    const { adapted, innerKl } = step.right
    const inner = fitted.right.map((r, k) => [...(ctx.inner[k] ?? []), { ...r, adapted: adapted[k] }])
    return E.right(withStats({ ...ctx, inner, step: open }, { innerKl }))
  })

/** `rolloutPre -> fitControlVariates -> adaptPolicies`, `cfg.innerSteps` times (or the given stages). */
export const innerLoop =
  (
    steps: OperatorFunction<IterationContext, IterationContext> = (c$) =>
      c$.pipe(rolloutPre(), fitControlVariates(), adaptPolicies())
  ): OperatorFunction<IterationContext, IterationContext> =>
  (ctx$) =>
    ctx$.pipe(
      concatMap((ctx) => {
        let s$: Observable<IterationContext> = of(ctx)
        for (let i = 0; i < ctx.deps.cfg.innerSteps; i++) s$ = s$.pipe(steps)
        return s$
      })
    )

/** Sample the post-update episodes at each task's adapted parameters. */
export const rolloutPost = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('sample', async (ctx) => {
    if (innerStepsDone(ctx) === 0) return E.left(invalidInput('rolloutPost', 'no inner step done: run innerLoop first'))
    const ready = expectAt(
      ctx.step,
      'Open',
      'rolloutPost',
      'the inner step in progress is not done (run adaptPolicies)'
    )
    if (E.isLeft(ready)) return ready
    const r = await rollout(ctx.deps, ctx.tasks, currentParams(ctx), [ctx.state.iteration, 'post'])
    return E.map((tasks: ReadonlyArray<Sampled>): IterationContext => ({ ...ctx, post: { _tag: 'Sampled', tasks } }))(r)
  })

/** Linear feature baselines for the post-update episodes (the outer advantages). */
export const fitOuterBaselines = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('controlVariates', (ctx) => {
    const sampled = expectAt(ctx.post, 'Sampled', 'fitOuterBaselines', 'run rolloutPost first')
    if (E.isLeft(sampled)) return sampled
    const cv = linearControlVariate
    const bs = evaluateControlVariate(cv, cvInput(ctx.deps, cv, sampled.right, null, [ctx.state.iteration, 'post']))
    return E.map((baselines: ReadonlyArray<WithBaseline['baseline']>): IterationContext => ({
      ...ctx,
      post: { _tag: 'Fitted', tasks: sampled.right.map((s, k) => ({ ...s, baseline: baselines[k] })) }
    }))(bs)
  })

/** The outer update (VPG, TRPO or PPO) through the adaptation; fills `next` and the returns. */
export const metaUpdate = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('metaUpdate', (ctx) => {
    const { cfg } = ctx.deps
    if (innerStepsDone(ctx) === 0) return E.left(invalidInput('metaUpdate', 'no inner step done: run innerLoop first'))
    const post = expectAt(ctx.post, 'Fitted', 'metaUpdate', 'run rolloutPost and fitOuterBaselines first')
    if (E.isLeft(post)) return post
    const problem = problemFor(ctx.deps, ctx.inner, post.right)
    try {
      // No sampler worker runs during the outer step: its kernels may use the idle cores.
      const r = withKernelThreads(cfg.kernelThreads, () =>
        outerOf(ctx.deps).step(problem, ctx.state.policy, ctx.state.adam, cfg)
      )
      if (E.isLeft(r)) return r
      const postBatches = post.right.map((s) => s.batch)
      const preBatches = ctx.inner.flat().map((s) => s.batch)
      const steps = stepsTaken(postBatches) + stepsTaken(preBatches)
      const next: TrainState = {
        ...ctx.state,
        iteration: ctx.state.iteration + 1,
        policy: r.right.params,
        adam: r.right.adam,
        envSteps: ctx.state.envSteps + steps
      }
      return E.right(
        withStats(
          { ...ctx, next },
          {
            ...r.right.stats,
            returnPre: meanReturn(ctx.inner.map((steps) => steps[0].batch)),
            returnPost: meanReturn(postBatches),
            diverged: [...postBatches, ...preBatches].reduce((a, b) => a + b.diverged, 0),
            stepsThisIteration: steps
          }
        )
      )
    } finally {
      disposeMetaProblem(problem)
    }
  })

/**
 * Every `cfg.evalEvery` iterations: on `cfg.evalTasks` held-out tasks (drawn once from their own stream),
 * the mean return before adaptation and after one inner step, with the run's control variate
 * evaluated (learning nothing, updating no state). Adds `evalPre`, `evalPost` to the stats.
 */
export const evaluate = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('evaluate', async (ctx) => {
    const { cfg } = ctx.deps
    const it = ctx.state.iteration
    if (cfg.evalEvery === 0 || it % cfg.evalEvery !== 0) return E.right(ctx)
    // The same held-out tasks at every evaluation, so evaluations are comparable across iterations.
    const tasks = ctx.deps.env.sampleTasks(rngAt(cfg.seed, 'eval-tasks'), cfg.evalTasks)
    const pre = await rollout(ctx.deps, tasks, [ctx.state.policy], ['eval', it, 'pre'])
    if (E.isLeft(pre)) return pre
    const cv = cfg.controlVariate
    const baselines = evaluateControlVariate(cv, cvInput(ctx.deps, cv, pre.right, ctx.state.cvState, ['eval', it]))
    if (E.isLeft(baselines)) return baselines
    const adapted = adaptOnce(
      ctx.deps,
      pre.right.map((s, k) => ({ ...s, baseline: baselines.right[k] }))
    )
    if (E.isLeft(adapted)) return adapted
    const post = await rollout(ctx.deps, tasks, adapted.right.adapted, ['eval', it, 'post'])
    if (E.isLeft(post)) return post
    return E.right(
      withStats(ctx, {
        evalPre: meanReturn(pre.right.map((s) => s.batch)),
        evalPost: meanReturn(post.right.map((s) => s.batch))
      })
    )
  })

/**
 * Run one iteration's stages from a state; resolves to the finished context. (Algorithm 2's whole
 * iteration: `standardIteration()` or `sequentialIteration()`, streaming.ts.)
 */
export const runIteration = (
  deps: TrainDeps,
  state: TrainState,
  stages: OperatorFunction<IterationContext, IterationContext>
): Observable<IterationContext> => of(startIteration(deps, state)).pipe(stages)
