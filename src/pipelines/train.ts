/**
 * Meta-training as a stream: from a state, run iterations (stages.ts) until `cfg.iterations`,
 * emitting one record per iteration. The CLI subscribes and adds the edges (metrics files,
 * checkpoints, progress); user code can do the same with its own stages.
 *
 * @example
 * metaTrain(deps)(initialState(deps)).pipe(tap((r) => console.log(r.iteration, r.returnPost)))
 *
 * @packageDocumentation
 */
import {
  EMPTY,
  type MonoTypeOperatorFunction,
  type Observable,
  type OperatorFunction,
  concatMap,
  expand,
  filter,
  map,
  pipe
} from 'rxjs'
import { rngAt } from '../base/rng.js'
import { adamInit } from './optim/adam.js'
import { initPolicy } from './policy.js'
import { type IterationContext, type TrainDeps, type TrainState, outerOf, runIteration } from './stages.js'
import { standardIteration } from './streaming.js'

/** One iteration's outcome, flat and JSON-safe: a line of metrics.jsonl. */
export interface IterationRecord {
  readonly iteration: number
  readonly envSteps: number
  readonly env: string
  readonly estimator: string
  /** The surrogate of the estimator that ran, in words (absent in records before it was written). */
  readonly estimatorFormula?: string
  readonly outer: string
  readonly controlVariate: string
  readonly seed: number
  readonly returnPre: number
  readonly returnPost: number
  readonly evalPre?: number
  readonly evalPost?: number
  /** Seconds per stage. */
  readonly timings: Readonly<Record<string, number>>
  /** Other numbers: gradNorm, surrogate, kl, cvLoss, diverged ... */
  readonly stats: Readonly<Record<string, number>>
}

/**
 * The state a fresh run starts from: policy from `rngAt(seed, 'policy-init')`, Adam at zero, the
 * control variate's state (if it keeps one) from `rngAt(seed, '<name>-cv-init')`.
 */
export const initialState = (deps: TrainDeps): TrainState => {
  const { cfg } = deps
  const cv = cfg.controlVariate
  const policy = initPolicy(
    deps.policy,
    rngAt(cfg.seed, 'policy-init'),
    cfg.initLogStd ?? deps.env.initLogStd
  )
  return {
    iteration: 0,
    policy,
    adam: adamInit(policy),
    cvState: cv.state === null ? null : cv.state.init(deps.policy, cfg, rngAt(cfg.seed, `${cv.name}-cv-init`)),
    envSteps: 0
  }
}

export const toRecord = (ctx: IterationContext): IterationRecord => {
  const { cfg } = ctx.deps
  const { returnPre, returnPost, evalPre, evalPost, ...stats } = ctx.stats
  return {
    iteration: ctx.state.iteration,
    envSteps: ctx.next?.envSteps ?? ctx.state.envSteps,
    env: cfg.env,
    estimator: cfg.estimator.name,
    estimatorFormula: cfg.estimator.formula,
    outer: outerOf(ctx.deps).name,
    controlVariate: cfg.controlVariate.name,
    seed: cfg.seed,
    returnPre,
    returnPost,
    ...(evalPre !== undefined ? { evalPre } : {}),
    ...(evalPost !== undefined ? { evalPost } : {}),
    timings: ctx.timings,
    stats
  }
}

/**
 * Iterations from `initial.iteration` to `cfg.iterations - 1`, each starting from the previous
 * one's updated state. Emits finished contexts (with `next`); `records` maps them to metrics.
 */
export const metaTrain =
  (deps: TrainDeps, stages: OperatorFunction<IterationContext, IterationContext> = standardIteration()) =>
  (initial: TrainState): Observable<IterationContext> =>
    initial.iteration >= deps.cfg.iterations
      ? EMPTY
      : runIteration(deps, initial, stages).pipe(
          expand((ctx) =>
            ctx.next !== null && ctx.next.iteration < deps.cfg.iterations ? runIteration(deps, ctx.next, stages) : EMPTY
          )
        )

export const records = (): OperatorFunction<IterationContext, IterationRecord> => map(toRecord)

/**
 * A safe point between steps of a stream: yield to the event loop (so that signal handlers and
 * timers run even when every step is synchronous or resolves in microtasks), then let the value on
 * only while `stopped()` is false. Put it first in each iteration's stages: a stop requested during
 * an iteration takes effect before the next one starts.
 */
export const safePoint = <A>(stopped: () => boolean): MonoTypeOperatorFunction<A> =>
  pipe(
    concatMap(async (a: A) => {
      await new Promise<void>((resolve) => setImmediate(resolve))
      return a
    }),
    filter(() => !stopped())
  )
