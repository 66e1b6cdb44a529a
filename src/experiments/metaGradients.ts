/**
 * Drawing meta-gradients the way training computes them, for the gradient experiments (paper Figs. 2
 * and 4): sample pre-update episodes, compute control-variate values, adapt each task with the
 * estimator (one inner step, differentiable), sample post-update episodes at the adapted policies,
 * and take `gradients(vpgObjective(problem))(theta)` — the meta-gradient of a VPG iteration — as one
 * flat vector (`flatten`'s key order).
 *
 * One draw evaluates several methods on the same pre-update episodes, and their post-update episodes
 * use the same random streams (common random numbers): differences between methods are then not
 * differences of luck. Draws are independent of one another (distinct stream paths).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import type { ArrayParams } from '../graph/nn.js'
import { type TmamlError, invalidInput, numericalError } from '../base/errors.js'
import type { Rng } from '../base/rng.js'
import { type Params, disposeParams, gradients } from '../graph/autodiff.js'
import { estimatorByName } from '../estimators/builtins.js'
import type { Estimator } from '../estimators/estimator.js'
import type { ControlVariateKind, ExperimentConfig } from '../pipelines/config.js'
import { fitActionDependentBaselines } from '../pipelines/controlVariates/actionDependent.js'
import { fitLinearBaseline, predictLinearBaseline } from '../pipelines/controlVariates/linearFeature.js'
import { type MetaCvState, fitValueBaselines, metaValueStep } from '../pipelines/controlVariates/valueNet.js'
import type { EpisodeBatch } from '../pipelines/episodes.js'
import {
  type MetaProblem,
  type WithBaseline,
  adaptedArrays,
  disposeMetaProblem,
  makeMetaProblem,
  vpgObjective
} from '../pipelines/meta.js'
import { allFinite, flatten } from '../pipelines/optim/params.js'
import { type PolicySpec, toArrays, toTensors } from '../pipelines/policy.js'
import type { Sampler } from '../pipelines/sampler/types.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** A method of an experiment: an estimator, the control variate of its inner step, and its label. */
export interface Method {
  readonly label: string
  readonly estimator: Estimator
  readonly cv: ControlVariateKind
}

/** What a meta-gradient needs besides data: the policy, the estimator and the inner step. */
export interface GradientSetting {
  readonly policy: PolicySpec
  readonly estimator: Estimator
  readonly innerLr: number
  readonly gamma: number
  readonly normalizeAdvantages: boolean
  /** ExperimentConfig.innerNormalize (default false). */
  readonly innerNormalize?: boolean
}

/** The control variates a method may name. */
export const cvKinds: ReadonlyArray<ControlVariateKind> = ['meta', 'value', 'action-dependent', 'linear', 'none']

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * Methods from a comma-separated list `name[:cv]` (e.g. `tmaml,maml:linear,dice`): an estimator name
 * (`tmaml estimators list`) and optionally a control variate, one of `cvKinds`; without one,
 * `defaultCv(name)`. The label is the name, with `:cv` when the control variate was given.
 * Left: a message naming the bad entry.
 *
 * @category constructors
 */
export const parseMethods = (
  spec: string,
  defaultCv: (estimator: string) => ControlVariateKind
): E.Either<string, ReadonlyArray<Method>> => {
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (entries.length === 0) return E.left('no estimators given')
  const out: Method[] = []
  for (const entry of entries) {
    const m = /^(.+?)(?::([a-z-]+))?$/.exec(entry)
    const name = m?.[1] ?? entry
    const cv = m?.[2]
    const estimator = estimatorByName(name)
    if (estimator === undefined) return E.left(`unknown estimator '${name}' (see 'tmaml estimators list')`)
    if (cv !== undefined && !(cvKinds as ReadonlyArray<string>).includes(cv))
      return E.left(`'${entry}': unknown control variate '${cv}', expected one of ${cvKinds.join(', ')}`)
    const label = cv === undefined ? name : `${name}:${cv}`
    if (out.some((o) => o.label === label)) return E.left(`'${label}' is listed twice`)
    out.push({ label, estimator, cv: (cv as ControlVariateKind | undefined) ?? defaultCv(name) })
  }
  return E.right(out)
}

// ---------------------------------------------------------------------------------------------
// control variates
// ---------------------------------------------------------------------------------------------

/** What computing control-variate values needs: the config's CV settings, the meta-CV state, streams. */
export interface CvContext {
  readonly cfg: Pick<ExperimentConfig, 'gamma' | 'metaCv' | 'valueCv'>
  readonly metaCv: MetaCvState | null
  /** The stream of the network fitted for (task, part): a half's index, or a part's name. */
  readonly rngFor: (task: number, part: number | string) => Rng
}

/** The policy that sampled the pre-update batches: every task's first inner step starts at theta. */
export interface SamplingPolicy {
  readonly policy: PolicySpec
  readonly theta: ArrayParams
}

/**
 * b(s_t) for the pre-update batches as training computes them, updating no state: the meta-learned
 * network adapted on the other half of each task's episodes (Algorithm 1 without its outer step),
 * cross-fitted per-task value networks, cross-fitted per-task action-dependent baselines (Eq. 11,
 * one value per action dimension), the linear feature baseline fitted on the batch, or zeros.
 *
 * @category control variates
 */
export const controlVariateValues = (
  kind: ControlVariateKind,
  batches: ReadonlyArray<EpisodeBatch>,
  c: CvContext,
  sampling: SamplingPolicy
): E.Either<TmamlError, ReadonlyArray<Float32Array>> => {
  switch (kind) {
    case 'none':
      return E.right(batches.map((b) => new Float32Array(b.episodes * b.horizon)))
    case 'linear':
      return E.right(batches.map((b) => predictLinearBaseline(fitLinearBaseline(b, c.cfg.gamma), b)))
    case 'value':
      return E.right(fitValueBaselines(batches, { ...c.cfg.valueCv, gamma: c.cfg.gamma }, c.rngFor))
    case 'action-dependent':
      return E.right(
        fitActionDependentBaselines(
          batches,
          batches.map(() => sampling.theta),
          sampling.policy,
          { ...c.cfg.valueCv, gamma: c.cfg.gamma },
          c.rngFor
        )
      )
    case 'meta':
      return c.metaCv === null
        ? E.left(
            invalidInput('control variate', "'meta' needs the meta-learned network of a run trained with --cv meta")
          )
        : E.right(metaValueStep(batches, c.metaCv, { ...c.cfg.metaCv, epochs: 0, gamma: c.cfg.gamma }).baselines)
  }
}

/** The outer baselines of training: a linear feature baseline fitted on each post-update batch. */
export const outerBaselineValues = (batches: ReadonlyArray<EpisodeBatch>, gamma: number): ReadonlyArray<Float32Array> =>
  batches.map((b) => predictLinearBaseline(fitLinearBaseline(b, gamma), b))

// ---------------------------------------------------------------------------------------------
// adaptation and meta-gradients
// ---------------------------------------------------------------------------------------------

const notFinite = (where: string): TmamlError => numericalError(where, 'the result is not finite (NaN or Infinity)')

/**
 * Run `f` on the meta-problem of one inner step from `pre` (post-update data `post`) and theta as
 * tensors; both are disposed however `f` returns.
 */
const withProblem = <A>(
  s: GradientSetting,
  theta: ArrayParams,
  pre: ReadonlyArray<WithBaseline>,
  post: ReadonlyArray<WithBaseline>,
  f: (problem: MetaProblem, t: Params) => A
): A => {
  const problem = makeMetaProblem({
    policy: s.policy,
    estimator: s.estimator,
    alpha: s.innerLr,
    gamma: s.gamma,
    normalizeAdvantages: s.normalizeAdvantages,
    innerNormalize: s.innerNormalize,
    pre: pre.map((p) => [{ ...p, sampledWith: theta }]),
    post
  })
  const t = toTensors(theta)
  try {
    return f(problem, t)
  } finally {
    disposeParams(t)
    disposeMetaProblem(problem)
  }
}

/** Each task's adapted parameters theta'_k = theta + alpha grad (one inner step with the estimator). */
export const adaptAll = (
  s: GradientSetting,
  theta: ArrayParams,
  pre: ReadonlyArray<WithBaseline>
): E.Either<TmamlError, ReadonlyArray<ArrayParams>> =>
  withProblem(s, theta, pre, pre, (problem, t) => {
    const adapted = adaptedArrays(
      problem,
      pre.map(() => theta)
    )
    return adapted.every(allFinite) ? E.right(adapted) : E.left(notFinite(`adapting with ${s.estimator.name}`))
  })

/**
 * The VPG meta-gradient of one iteration's data, flattened: gradients(vpgObjective(problem))(theta),
 * differentiated through each task's inner step.
 *
 * @category meta-gradients
 */
export const metaGradientVector = (
  s: GradientSetting,
  theta: ArrayParams,
  pre: ReadonlyArray<WithBaseline>,
  post: ReadonlyArray<WithBaseline>
): E.Either<TmamlError, Float32Array> =>
  withProblem(s, theta, pre, post, (problem, t) => {
    const g = gradients(vpgObjective(problem))(t)
    const flat = flatten(toArrays(g))
    disposeParams(g)
    return flat.every(Number.isFinite) ? E.right(flat) : E.left(notFinite(`meta-gradient of ${s.estimator.name}`))
  })

// ---------------------------------------------------------------------------------------------
// draws
// ---------------------------------------------------------------------------------------------

/** One draw's request: where, what, and how to compute baselines. */
export interface DrawRequest {
  readonly sampler: Sampler
  readonly envId: string
  readonly horizon: number
  readonly policy: PolicySpec
  readonly seed: number
  readonly tasks: ReadonlyArray<unknown>
  /** Episodes per task, pre-update and post-update each. */
  readonly episodes: number
  readonly theta: ArrayParams
  readonly methods: ReadonlyArray<Method>
  /** The stream path of this draw (below seed and 'rollout'); pre and post episodes get 'pre'/'post' appended. */
  readonly stream: ReadonlyArray<string | number>
  readonly innerLr: number
  readonly gamma: number
  readonly normalizeAdvantages: boolean
  /** ExperimentConfig.innerNormalize and actionScale of the run being measured (defaults false, 1). */
  readonly innerNormalize?: boolean
  readonly actionScale?: number
  /** Inner control-variate values of the pre-update batches for a control-variate kind. */
  readonly innerBaselines: (
    kind: ControlVariateKind,
    batches: ReadonlyArray<EpisodeBatch>,
    sampling: SamplingPolicy
  ) => E.Either<TmamlError, ReadonlyArray<Float32Array>>
  /** Outer baselines of the post-update batches. */
  readonly outerBaselines: (batches: ReadonlyArray<EpisodeBatch>) => ReadonlyArray<Float32Array>
}

/**
 * One draw: the meta-gradient of every method (in order) on common pre-update episodes, each with
 * post-update episodes on common streams.
 *
 * @category meta-gradients
 */
export const drawMetaGradients = async (r: DrawRequest): Promise<E.Either<TmamlError, ReadonlyArray<Float32Array>>> => {
  const sample = (params: ReadonlyArray<ArrayParams>, phase: string) =>
    r.sampler.sample({
      envId: r.envId,
      tasks: r.tasks,
      episodesPerTask: r.episodes,
      horizon: r.horizon,
      policy: r.policy,
      params,
      seed: r.seed,
      stream: [...r.stream, phase],
      actionScale: r.actionScale
    })
  const pre = await sample([r.theta], 'pre')
  if (E.isLeft(pre)) return pre
  const cvCache = new Map<ControlVariateKind, ReadonlyArray<Float32Array>>()
  const out: Float32Array[] = []
  for (const m of r.methods) {
    let b = cvCache.get(m.cv)
    if (b === undefined) {
      const computed = r.innerBaselines(m.cv, pre.right, { policy: r.policy, theta: r.theta })
      if (E.isLeft(computed)) return computed
      b = computed.right
      cvCache.set(m.cv, b)
    }
    const baselines = b
    const withB = pre.right.map((batch, k) => ({ batch, baseline: baselines[k] }))
    const setting: GradientSetting = {
      policy: r.policy,
      estimator: m.estimator,
      innerLr: r.innerLr,
      gamma: r.gamma,
      normalizeAdvantages: r.normalizeAdvantages,
      innerNormalize: r.innerNormalize
    }
    const adapted = adaptAll(setting, r.theta, withB)
    if (E.isLeft(adapted)) return adapted
    const post = await sample(adapted.right, 'post')
    if (E.isLeft(post)) return post
    const postB = r.outerBaselines(post.right)
    const g = metaGradientVector(
      setting,
      r.theta,
      withB,
      post.right.map((batch, k) => ({ batch, baseline: postB[k] }))
    )
    if (E.isLeft(g)) return g
    out.push(g.right)
  }
  return E.right(out)
}
