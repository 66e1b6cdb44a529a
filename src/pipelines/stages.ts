/**
 * The stages of one meta-training iteration (paper Algorithm 2), each an RxJS operator on an
 * immutable `IterationContext`. The training loop (train.ts) is one composition of them; user code
 * can compose its own — replace `fitControlVariates` by another control variate, add a logging
 * stage, drop evaluation — from these public operators.
 *
 * ```
 * sampleTasks -> innerLoop(rolloutPre -> fitControlVariates -> adaptPolicies) -> rolloutPost
 *   -> fitOuterBaselines -> metaUpdate -> evaluate
 * ```
 *
 * A stage that fails errors the stream with a `StageError` carrying a `TmamlError`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { type Observable, type OperatorFunction, concatMap, from, of } from 'rxjs'
import type { ArrayParams } from '../graph/nn.js'
import { allFinite } from './optim/params.js'
import { type TmamlError, invalidInput, numericalError } from '../base/errors.js'
import { rngAt } from '../base/rng.js'
import type { EnvSpec } from '../envs/registry.js'
import type { Estimator } from '../estimators/estimator.js'
import type { ExperimentConfig } from './config.js'
import { fitActionDependentBaselines } from './controlVariates/actionDependent.js'
import { fitLinearBaseline, predictLinearBaseline } from './controlVariates/linearFeature.js'
import { type MetaCvState, fitValueBaselines, metaValueStep } from './controlVariates/valueNet.js'
import { type EpisodeBatch, batchIsFinite, meanReturn, stepsTaken } from './episodes.js'
import {
  type MetaProblem,
  type StepData,
  type WithBaseline,
  adaptedArrays,
  disposeMetaProblem,
  innerStepKl,
  makeMetaProblem
} from './meta.js'
import type { AdamState } from './optim/adam.js'
import { outerStep } from './outer.js'
import type { PolicySpec } from './policy.js'
import type { Sampler } from './sampler/types.js'
import { nanHook } from './testHooks.js'

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
  /** The meta-learned control variate, when configured. */
  readonly metaCv: MetaCvState | null
  /** Environment steps taken so far. */
  readonly envSteps: number
}

/** What an iteration's stages read: configuration and services. */
export interface TrainDeps {
  readonly cfg: ExperimentConfig
  readonly env: EnvSpec<unknown>
  readonly horizon: number
  readonly policy: PolicySpec
  readonly estimator: Estimator
  readonly sampler: Sampler
}

/** The immutable record an iteration's stages fill in. */
export interface IterationContext {
  readonly deps: TrainDeps
  readonly state: TrainState
  readonly tasks: ReadonlyArray<unknown>
  /** Per task, the policy parameters of the current inner step (theta, then theta'_1, ...). */
  readonly current: ReadonlyArray<ArrayParams>
  /** Per task, per inner step: the pre-update episodes and, once fitted, their baselines. */
  readonly pre: ReadonlyArray<ReadonlyArray<EpisodeBatch>>
  /** Per task, per inner step: the policy parameters the pre-update episodes were sampled with. */
  readonly preSampledWith: ReadonlyArray<ReadonlyArray<ArrayParams>>
  readonly preBaselines: ReadonlyArray<ReadonlyArray<Float32Array>>
  readonly post: ReadonlyArray<EpisodeBatch>
  readonly postBaselines: ReadonlyArray<Float32Array>
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

/** The context an iteration starts from. */
export const startIteration = (deps: TrainDeps, state: TrainState): IterationContext => ({
  deps,
  state,
  tasks: [],
  current: [],
  pre: [],
  preSampledWith: [],
  preBaselines: [],
  post: [],
  postBaselines: [],
  next: null,
  timings: {},
  stats: {}
})

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * A stage from an async function: times it (adding to `timings[name]`) and turns a `Left` into a
 * `StageError`.
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
      concatMap(async (ctx) => {
        const t0 = performance.now()
        const r = await f(ctx)
        if (E.isLeft(r)) throw new StageError(name, r.left)
        const seconds = (performance.now() - t0) / 1000
        return { ...r.right, timings: { ...r.right.timings, [name]: (r.right.timings[name] ?? 0) + seconds } }
      })
    )

const withStats = (ctx: IterationContext, stats: Readonly<Record<string, number>>): IterationContext => ({
  ...ctx,
  stats: { ...ctx.stats, ...stats }
})

// ---------------------------------------------------------------------------------------------
// stages
// ---------------------------------------------------------------------------------------------

/** An iteration problem with the run's policy, estimator and step sizes. */
const problemFor = (
  deps: TrainDeps,
  pre: ReadonlyArray<ReadonlyArray<StepData>>,
  post: ReadonlyArray<WithBaseline>
): MetaProblem =>
  makeMetaProblem({
    policy: deps.policy,
    estimator: deps.estimator,
    alpha: deps.cfg.innerLr,
    gamma: deps.cfg.gamma,
    normalizeAdvantages: deps.cfg.normalizeAdvantages,
    innerNormalize: deps.cfg.innerNormalize,
    pre,
    post
  })

/** Draw the iteration's tasks from `rngAt(seed, 'tasks', iteration)`; every task starts at theta. */
export const sampleTasks = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('tasks', (ctx) => {
    const { cfg, env } = ctx.deps
    const tasks = env.sampleTasks(rngAt(cfg.seed, 'tasks', ctx.state.iteration), cfg.tasksPerBatch)
    return E.right({ ...ctx, tasks, current: tasks.map(() => ctx.state.policy) })
  })

const checkBatches = (
  where: string,
  bs: ReadonlyArray<EpisodeBatch>
): E.Either<TmamlError, ReadonlyArray<EpisodeBatch>> => {
  const bad = bs.findIndex((b) => !batchIsFinite(b))
  return bad < 0
    ? E.right(bs)
    : E.left(
        numericalError(
          where,
          `task ${bad}: the episodes contain NaN or Infinity; the run stops here, the last checkpoint is intact`
        )
      )
}

const rollout = async (
  deps: TrainDeps,
  tasks: ReadonlyArray<unknown>,
  params: ReadonlyArray<ArrayParams>,
  stream: ReadonlyArray<string | number>,
  episodes: number
): Promise<E.Either<TmamlError, ReadonlyArray<EpisodeBatch>>> => {
  const r = await deps.sampler.sample({
    envId: deps.env.id,
    tasks,
    episodesPerTask: episodes,
    horizon: deps.horizon,
    policy: deps.policy,
    params,
    seed: deps.cfg.seed,
    stream,
    actionScale: deps.cfg.actionScale
  })
  if (E.isLeft(r)) return r
  const hook = nanHook()
  if (hook?.where === 'rollouts' && stream[0] === hook.iteration && stream[1] === 'post') r.right[0].rewards[0] = NaN
  return checkBatches(`rollouts ${stream.join('/')}`, r.right)
}

/** Sample the pre-update episodes of the current inner step at each task's current parameters. */
export const rolloutPre = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('sample', async (ctx) => {
    const step = ctx.pre[0]?.length ?? 0
    const r = await rollout(
      ctx.deps,
      ctx.tasks,
      ctx.current,
      [ctx.state.iteration, 'pre', step],
      ctx.deps.cfg.rolloutsPerTask
    )
    if (E.isLeft(r)) return r
    return E.right({
      ...ctx,
      pre: ctx.tasks.map((_, k) => [...(ctx.pre[k] ?? []), r.right[k]]),
      preSampledWith: ctx.tasks.map((_, k) => [...(ctx.preSampledWith[k] ?? []), ctx.current[k]]),
      state: ctx.state
    })
  })

/**
 * Fit the configured control variate on the current inner step's episodes: linear feature
 * baseline, per-task value networks, per-task action-dependent baselines (Eq. 11), the meta-learned
 * value network (Algorithm 1, updating its state), or none.
 */
export const fitControlVariates = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('controlVariates', (ctx) => {
    const { cfg } = ctx.deps
    const step = (ctx.pre[0]?.length ?? 0) - 1
    if (step < 0) return E.left(invalidInput('fitControlVariates', 'no pre-update episodes yet: run rolloutPre first'))
    const batches = ctx.pre.map((p) => p[step])
    let baselines: ReadonlyArray<Float32Array>
    let state = ctx.state
    let stats: Record<string, number> = {}
    switch (cfg.controlVariate) {
      case 'none':
        baselines = batches.map((b) => new Float32Array(b.episodes * b.horizon))
        break
      case 'linear':
        baselines = batches.map((b) => predictLinearBaseline(fitLinearBaseline(b, cfg.gamma), b))
        break
      case 'value':
        baselines = fitValueBaselines(batches, { ...cfg.valueCv, gamma: cfg.gamma }, (k, h) =>
          rngAt(cfg.seed, 'value-cv', ctx.state.iteration, step, k, h)
        )
        break
      case 'action-dependent':
        baselines = fitActionDependentBaselines(
          batches,
          ctx.current,
          ctx.deps.policy,
          { ...cfg.valueCv, gamma: cfg.gamma },
          (k, part) => rngAt(cfg.seed, 'action-cv', ctx.state.iteration, step, k, part)
        )
        break
      case 'meta': {
        if (state.metaCv === null)
          return E.left(invalidInput('fitControlVariates', 'the meta control variate has no state'))
        const r = metaValueStep(batches, state.metaCv, { ...cfg.metaCv, gamma: cfg.gamma })
        baselines = r.baselines
        state = { ...state, metaCv: r.state }
        stats = { cvLoss: r.loss }
        break
      }
    }
    return E.right(
      withStats(
        { ...ctx, state, preBaselines: ctx.tasks.map((_, k) => [...(ctx.preBaselines[k] ?? []), baselines[k]]) },
        stats
      )
    )
  })

/** One inner gradient step per task with the estimator: theta'_{k, s+1} = theta'_{k, s} + alpha grad. */
export const adaptPolicies = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('adapt', (ctx) => {
    const step = (ctx.preBaselines[0]?.length ?? 0) - 1
    if (step < 0) return E.left(invalidInput('adapt', 'no control variates fitted yet: run fitControlVariates first'))
    const data = ctx.tasks.map((_, k) => ({
      batch: ctx.pre[k][step],
      baseline: ctx.preBaselines[k][step],
      sampledWith: ctx.preSampledWith[k][step]
    }))
    const problem = problemFor(
      ctx.deps,
      data.map((d) => [d]),
      data
    )
    try {
      const current = adaptedArrays(problem, ctx.current)
      const bad = current.findIndex((p) => !allFinite(p))
      if (bad >= 0)
        return E.left(
          numericalError(
            'adapt',
            `task ${bad}: the adapted parameters are not finite; the run stops here, the last checkpoint is intact`
          )
        )
      return E.right(withStats({ ...ctx, current }, { innerKl: innerStepKl(problem, ctx.current, current) }))
    } finally {
      disposeMetaProblem(problem)
    }
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
    const r = await rollout(
      ctx.deps,
      ctx.tasks,
      ctx.current,
      [ctx.state.iteration, 'post'],
      ctx.deps.cfg.rolloutsPerTask
    )
    return E.isLeft(r) ? r : E.right({ ...ctx, post: r.right })
  })

/** Linear feature baselines for the post-update episodes (the outer advantages). */
export const fitOuterBaselines = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('controlVariates', (ctx) =>
    E.right({
      ...ctx,
      postBaselines: ctx.post.map((b) => predictLinearBaseline(fitLinearBaseline(b, ctx.deps.cfg.gamma), b))
    })
  )

/** The outer update (VPG, TRPO or PPO) through the adaptation; fills `next` and the returns. */
export const metaUpdate = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('metaUpdate', (ctx) => {
    const { cfg } = ctx.deps
    const problem = problemFor(
      ctx.deps,
      ctx.tasks.map((_, k) =>
        ctx.pre[k].map((batch, s) => ({
          batch,
          baseline: ctx.preBaselines[k][s],
          sampledWith: ctx.preSampledWith[k][s]
        }))
      ),
      ctx.post.map((batch, k) => ({ batch, baseline: ctx.postBaselines[k] }))
    )
    try {
      const hook = nanHook()
      const poisoned =
        hook?.where === 'gradient' && hook.iteration === ctx.state.iteration
          ? {
              ...problem,
              post: { ...problem.post, rewards: tf.mul(problem.post['rewards'], NaN) },
              postAdvantage: tf.mul(problem.postAdvantage, NaN)
            }
          : problem
      const r = outerStep(poisoned, ctx.state.policy, ctx.state.adam, cfg)
      if (E.isLeft(r)) return r
      const steps = stepsTaken(ctx.post) + ctx.pre.reduce((a, p) => a + stepsTaken(p), 0)
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
            returnPre: meanReturn(ctx.pre.map((p) => p[0])),
            returnPost: meanReturn(ctx.post),
            diverged: [...ctx.post, ...ctx.pre.flat()].reduce((a, b) => a + b.diverged, 0),
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
 * the mean return before adaptation and after one inner step (control variate fitted without
 * updating any state). Adds `evalPre`, `evalPost` to the stats.
 */
export const evaluate = (): OperatorFunction<IterationContext, IterationContext> =>
  stage('evaluate', async (ctx) => {
    const { cfg } = ctx.deps
    const it = ctx.state.iteration
    if (cfg.evalEvery === 0 || it % cfg.evalEvery !== 0) return E.right(ctx)
    // The same held-out tasks at every evaluation, so evaluations are comparable across iterations.
    const tasks = ctx.deps.env.sampleTasks(rngAt(cfg.seed, 'eval-tasks'), cfg.evalTasks)
    const theta = ctx.state.policy
    const pre = await rollout(ctx.deps, tasks, [theta], ['eval', it, 'pre'], cfg.rolloutsPerTask)
    if (E.isLeft(pre)) return pre
    const baselines =
      cfg.controlVariate === 'meta' && ctx.state.metaCv !== null
        ? metaValueStep(pre.right, ctx.state.metaCv, { ...cfg.metaCv, epochs: 0, gamma: cfg.gamma }).baselines
        : cfg.controlVariate === 'none'
          ? pre.right.map((b) => new Float32Array(b.episodes * b.horizon))
          : pre.right.map((b) => predictLinearBaseline(fitLinearBaseline(b, cfg.gamma), b))
    const data = pre.right.map((batch, k) => ({ batch, baseline: baselines[k], sampledWith: theta }))
    const problem = problemFor(
      ctx.deps,
      data.map((d) => [d]),
      data
    )
    let adapted: ReadonlyArray<ArrayParams>
    try {
      adapted = adaptedArrays(
        problem,
        tasks.map(() => theta)
      )
    } finally {
      disposeMetaProblem(problem)
    }
    const post = await rollout(ctx.deps, tasks, adapted, ['eval', it, 'post'], cfg.rolloutsPerTask)
    if (E.isLeft(post)) return post
    return E.right(withStats(ctx, { evalPre: meanReturn(pre.right), evalPost: meanReturn(post.right) }))
  })

/** The whole of Algorithm 2's iteration, as the CLI runs it. */
export const standardIteration = (): OperatorFunction<IterationContext, IterationContext> => (ctx$) =>
  ctx$.pipe(sampleTasks(), innerLoop(), rolloutPost(), fitOuterBaselines(), metaUpdate(), evaluate())

/** Run one iteration's stages from a state; resolves to the finished context. */
export const runIteration = (
  deps: TrainDeps,
  state: TrainState,
  stages: OperatorFunction<IterationContext, IterationContext> = standardIteration()
): Observable<IterationContext> => from([startIteration(deps, state)]).pipe(stages)
