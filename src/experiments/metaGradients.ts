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
import { type TmamlError, numericalError } from '../base/errors.js'
import { rngAt } from '../base/rng.js'
import { type Params, disposeParams, gradients } from '../graph/autodiff.js'
import { estimatorBySpec } from '../estimators/module.js'
import type { Estimator } from '../estimators/estimator.js'
import {
  type ControlVariateKind,
  type CvSettings,
  evaluateControlVariate
} from '../pipelines/controlVariates/controlVariate.js'
import { linearControlVariate } from '../pipelines/controlVariates/linearFeature.js'
import { controlVariateByName, controlVariateNames } from '../pipelines/controlVariates/registry.js'
import { type Baseline, type Sampled, type WithBaseline, withoutOuterBaseline } from '../pipelines/episodes.js'
import {
  type MetaProblem,
  adaptedArrays,
  disposeMetaProblem,
  makeMetaProblem,
  vpgObjective
} from '../pipelines/meta.js'
import { allFinite, flatten } from '../pipelines/optim/params.js'
import { type PolicySpec, toArrays, withTensors } from '../pipelines/policy.js'
import type { EpisodeBatch, Sampler } from '../pipelines/sampler/types.js'

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

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * Methods from a comma-separated list `name[:cv]` (e.g. `tmaml,maml:linear,dice`): an estimator name
 * (`tmaml estimators list`) and optionally a control variate of the registry; without one,
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
    const estimator = estimatorBySpec(name)
    if (estimator === undefined) return E.left(`unknown estimator '${name}' (see 'tmaml estimators list')`)
    const named = cv === undefined ? defaultCv(name) : controlVariateByName(cv)
    if (named === undefined)
      return E.left(`'${entry}': unknown control variate '${cv}', expected one of ${controlVariateNames.join(', ')}`)
    // A module's estimator is labelled by its own name, not by its file's path.
    const label = cv === undefined ? estimator.name : `${estimator.name}:${cv}`
    if (out.some((o) => o.label === label)) return E.left(`'${label}' is listed twice`)
    out.push({ label, estimator, cv: named })
  }
  return E.right(out)
}

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
    pre: pre.map((p) => [p]),
    post
  })
  try {
    return withTensors(theta, (t) => f(problem, t))
  } finally {
    disposeMetaProblem(problem)
  }
}

/** Each task's adapted parameters theta'_k = theta + alpha grad (one inner step with the estimator). */
export const adaptAll = (
  s: GradientSetting,
  theta: ArrayParams,
  pre: ReadonlyArray<WithBaseline>
): E.Either<TmamlError, ReadonlyArray<ArrayParams>> =>
  withProblem(s, theta, pre, pre.map(withoutOuterBaseline), (problem) => {
    const adapted = adaptedArrays(
      problem,
      pre.map((p) => p.sampledWith)
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
  /** What the control variates read from a config (their networks' sizes and step sizes). */
  readonly settings: CvSettings
  /** The stream path (below seed) of the control variates' fits: `rngAt(seed, ...cvStream, task, part)`. */
  readonly cvStream: ReadonlyArray<string | number>
  /** The state of the control variate named `of`, as a run trained it; other ones get none. */
  readonly cvState?: { readonly of: string; readonly state: unknown }
  /** The baseline of the outer advantages (training's: the linear feature baseline). */
  readonly outerBaseline?: ControlVariateKind
}

/** The baselines `cv` gives a draw's batches, as training computes them but learning nothing. */
const baselinesOf = (
  r: DrawRequest,
  cv: ControlVariateKind,
  tasks: ReadonlyArray<Sampled>
): E.Either<TmamlError, ReadonlyArray<Baseline>> =>
  evaluateControlVariate(cv, {
    tasks,
    policy: r.policy,
    settings: r.settings,
    rng: (task, part) => rngAt(r.seed, ...r.cvStream, task, part),
    state: r.cvState !== undefined && r.cvState.of === cv.name ? r.cvState.state : null
  })

const withBaselines =
  (tasks: ReadonlyArray<Sampled>) =>
  (baselines: ReadonlyArray<Baseline>): ReadonlyArray<WithBaseline> =>
    tasks.map((s, k) => ({ ...s, baseline: baselines[k] }))

/**
 * One draw: the meta-gradient of every method (in order) on common pre-update episodes, each with
 * post-update episodes on common streams.
 *
 * @category meta-gradients
 */
export const drawMetaGradients = async (r: DrawRequest): Promise<E.Either<TmamlError, ReadonlyArray<Float32Array>>> => {
  const sample = async (
    params: ReadonlyArray<ArrayParams>,
    phase: string
  ): Promise<E.Either<TmamlError, ReadonlyArray<Sampled>>> =>
    E.map((bs: ReadonlyArray<EpisodeBatch>) =>
      bs.map((batch, k) => ({ batch, sampledWith: params.length === 1 ? params[0] : params[k] }))
    )(
      await r.sampler.sample({
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
    )
  const pre = await sample([r.theta], 'pre')
  if (E.isLeft(pre)) return pre
  const cvCache = new Map<string, ReadonlyArray<WithBaseline>>()
  const out: Float32Array[] = []
  for (const m of r.methods) {
    const cached = cvCache.get(m.cv.name)
    const computed =
      cached === undefined ? E.map(withBaselines(pre.right))(baselinesOf(r, m.cv, pre.right)) : E.right(cached)
    if (E.isLeft(computed)) return computed
    const withB = computed.right
    cvCache.set(m.cv.name, withB)
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
    const postB = baselinesOf(r, r.outerBaseline ?? linearControlVariate, post.right)
    if (E.isLeft(postB)) return postB
    const g = metaGradientVector(setting, r.theta, withB, withBaselines(post.right)(postB.right))
    if (E.isLeft(g)) return g
    out.push(g.right)
  }
  return E.right(out)
}
