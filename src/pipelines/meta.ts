/**
 * One iteration's meta-learning problem as tensors, and the objectives the outer optimisers use
 * (paper Algorithm 2, lines 10 and 14):
 *
 *   theta'_k(theta) = adapt with the inner estimator on task k's pre-update episodes (one or more steps)
 *   VPG:   L(theta) = mean_k  J_est(theta'_k(theta); post-update episodes of task k)
 *   TRPO:  L(theta) = mean_k  mean_t ratio_t A_t,  ratio = pi_theta'_k(theta) / pi_theta'_k(theta_old)
 *   PPO:   L(theta) = mean_k  mean_t min(ratio A, clip(ratio, 1 +- eps) A)  -  eta KL_pre(theta_old || theta)
 *   KL:    K(theta) = mean_k  mean_t KL(pi_theta'_k(theta_old) || pi_theta'_k(theta))   (TRPO's metric)
 *
 * Every objective differentiates through the adaptation, so the inner estimator's second-order
 * behaviour is in the meta-gradient.
 *
 * All K tasks are one graph: parameters are task-tiled and the tasks' episodes concatenated
 * (./batchedPolicy.ts), so an objective costs a few hundred kernels whatever K is.
 *
 * Off the sampling policy. Each pre-update batch carries the parameters it was sampled with; their
 * log-probabilities are data of the graph (`behaviourLogProbKey`), so the inner surrogate's magic
 * boxes are importance weights pi_theta / pi_sampling. At the sampling parameters nothing changes
 * (value 1, the same derivatives at every order); away from them — TRPO's line search, PPO's later
 * steps — theta'_k(theta) is the importance-weighted adaptation whose derivatives at theta_old are
 * the ones the step was computed from. Without this, a DiCE-family estimator's adaptation at a
 * candidate theta acts as if fresh samples had been drawn there, and the KL the line search measures
 * is not the function whose Hessian sized the step (measured: about a ninth of the budget).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import { type Params, dotParams, gradients } from '../graph/autodiff.js'
import type { ValidGraph } from '../graph/graph.js'
import { type InterpretOptions, behaviourLogProbKey, surrogateOrThrow } from '../graph/interpret.js'
import type { GraphData } from '../graph/nodes.js'
import type { Estimator } from '../estimators/estimator.js'
import { adaptedParams } from '../estimators/maml.js'
import { diagGaussianKl, diagGaussianLogProb } from '../graph/distributions.js'
import {
  batchedKl,
  batchedMean,
  batchedLogProbPerDim,
  batchedPolicyGraph,
  stackParams,
  taskParams,
  tileParams
} from './batchedPolicy.js'
import {
  type Baseline,
  type EpisodeBatch,
  type WithBaseline,
  concatBatches,
  concatFloat32,
  graphData,
  outerAdvantages,
  returnsToGo
} from './episodes.js'
import { type ArrayParams, batchedMlpJvp } from '../graph/nn.js'
import { type PolicySpec, policyKl, policyMean, policyMlp, toArrays, toTensors } from './policy.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export interface MetaProblem {
  readonly policy: PolicySpec
  /** The policy graph over `tasks` tasks (task-tiled parameters, episodes concatenated). */
  readonly graph: ValidGraph
  readonly estimator: Estimator
  readonly alpha: number
  readonly innerSteps: number
  readonly options: InterpretOptions
  readonly tasks: number
  readonly episodes: number
  readonly horizon: number
  /** Graph data of each inner step, all tasks ([K E, T, ...]) with behaviour log-probabilities. */
  readonly pre: ReadonlyArray<GraphData>
  /** Graph data of the post-update episodes ([K E, T, ...]). */
  readonly post: GraphData
  /** Post-update observations and actions per task, [K, E T, d]. */
  readonly postObs: tf.Tensor
  readonly postAction: tf.Tensor
  /** Outer advantages [K, E T] (returns-to-go minus the outer baseline, standardised if asked), and the mask. */
  readonly postAdvantage: tf.Tensor
  readonly postMask: tf.Tensor
  /** First inner step's observations [K, E T, obsDim] and mask [K, E T] (PPO's inner KL penalty). */
  readonly preObs: tf.Tensor
  readonly preMask: tf.Tensor
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * The spread of a batch's returns-to-go across its episodes: the std over valid steps of
 * R_t - mean_e R_t (the mean over the episodes valid at step t), 1 when there is none. It depends
 * on the episodes only — not on the estimator or the control variate — so every method's inner step
 * is scaled alike (a time-only baseline, as ProMP's DiCE sample processor fits).
 */
export const returnSpread = (b: EpisodeBatch, gamma: number): number => {
  const R = returnsToGo(b, gamma)
  const { episodes: E, horizon: T } = b
  let n = 0
  let sq = 0
  for (let t = 0; t < T; t++) {
    let m = 0
    let c = 0
    for (let e = 0; e < E; e++)
      if (b.mask[e * T + t] > 0) {
        m += R[e * T + t]
        c += 1
      }
    if (c === 0) continue
    m /= c
    for (let e = 0; e < E; e++)
      if (b.mask[e * T + t] > 0) {
        sq += (R[e * T + t] - m) ** 2
        n += 1
      }
  }
  const v = n > 0 ? sq / n : 0
  return v > 0 ? Math.sqrt(v) : 1
}

/** A step's rewards and baselines divided by their return spread: the inner step size becomes scale-free. */
const scaledByReturnSpread = <A extends WithBaseline>(d: A, gamma: number): A => {
  const s = returnSpread(d.batch, gamma)
  return {
    ...d,
    batch: { ...d.batch, rewards: d.batch.rewards.map((r) => r / s) },
    baseline: { ...d.baseline, values: d.baseline.values.map((x) => x / s) }
  }
}

/** The graph data of K tasks' batches: episodes concatenated in task order. */
const stackedGraphData = (ds: ReadonlyArray<WithBaseline>): Record<string, tf.Tensor> => {
  const shape = ds[0].baseline.shape
  if (ds.some((d) => d.baseline.shape !== shape))
    throw new RangeError('makeMetaProblem: the tasks of a step have baselines of different shapes')
  return graphData(concatBatches(ds.map((d) => d.batch)), {
    shape,
    values: concatFloat32(ds.map((d) => d.baseline.values))
  })
}

/** [K E, T, d] -> [K, E T, d]. */
const byTask = (x: tf.Tensor, tasks: number): tf.Tensor =>
  tf.reshape(x, [tasks, (x.shape[0] / tasks) * (x.shape[1] as number), ...x.shape.slice(2)])

/** Stacked tiled parameters from per-task plain arrays. */
const stackedTensors = (ps: ReadonlyArray<ArrayParams>): Params => {
  const each = ps.map(toTensors)
  const stacked = stackParams(each)
  each.forEach((p) => tf.dispose(Object.values(p)))
  return stacked
}

/** log pi_q(a_t | s_t) per action coordinate of a step's data under per-task parameters q, [K E, T, actDim]. */
const behaviourOf = (policy: PolicySpec, d: GraphData, q: Params, tasks: number): tf.Tensor =>
  tf.tidy(() =>
    tf.reshape(batchedLogProbPerDim(policy, q, byTask(d['obs'], tasks), byTask(d['action'], tasks)), [
      ...(d['action'].shape as number[])
    ])
  )

/**
 * Build an iteration's problem. `pre[k][s]` are task k's episodes of inner step s with baselines and
 * the parameters they were sampled with (a stage's `InnerStepRecord`s); `post[k]` its post-update episodes. Every task must have the
 * same number of episodes and horizon (ragged episodes are masked).
 */
export const makeMetaProblem = (args: {
  readonly policy: PolicySpec
  readonly estimator: Estimator
  readonly alpha: number
  readonly gamma: number
  readonly normalizeAdvantages: boolean
  /** Scale each task's inner data by 1 / its return spread (ExperimentConfig.innerNormalize). Default false. */
  readonly innerNormalize?: boolean
  readonly pre: ReadonlyArray<ReadonlyArray<WithBaseline>>
  readonly post: ReadonlyArray<WithBaseline>
}): MetaProblem => {
  const K = args.post.length
  if (K === 0 || args.pre.length !== K)
    throw new RangeError(`makeMetaProblem: ${args.pre.length} pre vs ${K} post tasks`)
  const { episodes: E, horizon: T } = args.post[0].batch
  const innerSteps = args.pre[0].length
  for (const b of [...args.post.map((p) => p.batch), ...args.pre.flat().map((p) => p.batch)])
    if (b.episodes !== E || b.horizon !== T)
      throw new RangeError(`makeMetaProblem: every batch must hold ${E} episodes of horizon ${T}`)
  if (args.pre.some((p) => p.length !== innerSteps))
    throw new RangeError('makeMetaProblem: every task needs the same number of inner steps')
  const pre = Array.from({ length: innerSteps }, (_, s) => {
    const steps = args.pre.map((p) => p[s])
    const d = stackedGraphData(
      args.innerNormalize === true ? steps.map((p) => scaledByReturnSpread(p, args.gamma)) : steps
    )
    const q = stackedTensors(args.pre.map((p) => p[s].sampledWith))
    const behaviour = behaviourOf(args.policy, d, q, K)
    tf.dispose(Object.values(q))
    return { ...d, [behaviourLogProbKey('action')]: behaviour }
  })
  const post = stackedGraphData(args.post)
  const advantages = concatFloat32(
    args.post.map((p) => outerAdvantages(p.batch, p.baseline, args.gamma, args.normalizeAdvantages))
  )
  return {
    policy: args.policy,
    graph: batchedPolicyGraph(args.policy, K),
    estimator: args.estimator,
    alpha: args.alpha,
    innerSteps,
    // The surrogate is summed over all K E trajectories (sum_k J_k) and scaled per task below;
    // groups keep estimators that read another trajectory (`other`) inside its own task.
    options: { discount: args.gamma, reduction: 'sum', groupSize: E },
    tasks: K,
    episodes: E,
    horizon: T,
    pre,
    post,
    postObs: byTask(post['obs'], K),
    postAction: byTask(post['action'], K),
    postAdvantage: tf.tensor2d(advantages, [K, E * T]),
    postMask: tf.reshape(post['mask'], [K, E * T]),
    preObs: byTask(pre[0]['obs'], K),
    preMask: tf.reshape(pre[0]['mask'], [K, E * T])
  }
}

/** Rows [0, n) of a tensor's first axis. */
const leading = (x: tf.Tensor, n: number): tf.Tensor => tf.slice(x, 0, n)

/**
 * The problem restricted to its first `n` tasks (tasks are drawn i.i.d., so these are a random
 * subset): TRPO's Fisher-vector products on a subsample, as rllab/garage's `subsample_factor`.
 * Owns new tensors: dispose it with `disposeMetaProblem`.
 */
export const firstTasks = (m: MetaProblem, n: number): MetaProblem => {
  if (!(Number.isInteger(n) && n >= 1 && n <= m.tasks)) throw new RangeError(`firstTasks: n must be in [1, ${m.tasks}]`)
  const rows = n * m.episodes
  const cut = (d: GraphData): GraphData => Object.fromEntries(Object.entries(d).map(([k, x]) => [k, leading(x, rows)]))
  return {
    ...m,
    graph: batchedPolicyGraph(m.policy, n),
    tasks: n,
    pre: m.pre.map(cut),
    post: cut(m.post),
    postObs: leading(m.postObs, n),
    postAction: leading(m.postAction, n),
    postAdvantage: leading(m.postAdvantage, n),
    postMask: leading(m.postMask, n),
    preObs: leading(m.preObs, n),
    preMask: leading(m.preMask, n)
  }
}

export const disposeMetaProblem = (m: MetaProblem): void => {
  m.pre.forEach((d) => tf.dispose(Object.values(d)))
  tf.dispose(Object.values(m.post))
  tf.dispose([m.postObs, m.postAction, m.postAdvantage, m.postMask, m.preObs, m.preMask])
}

// ---------------------------------------------------------------------------------------------
// adaptation
// ---------------------------------------------------------------------------------------------

/** Steps per task's batch (episodes x horizon): dividing the summed surrogate by it averages over all steps. */
const stepsPerTask = (m: MetaProblem): number => m.episodes * m.horizon

/**
 * Theta'_k for all tasks as tiled parameters [K, ...], from tiled starting parameters: the inner steps
 * with the problem's estimator (per-step mean of each task's surrogate, the scale of the reference
 * code for which the published inner step size 0.1 was tuned), differentiable.
 */
export const adaptTiled =
  (m: MetaProblem) =>
  (tiled: Params): Params =>
    adaptedParams({
      graph: m.graph,
      estimator: m.estimator,
      data: (s) => m.pre[s],
      alpha: m.alpha / stepsPerTask(m),
      steps: m.innerSteps,
      options: m.options
    })(tiled)

/** Theta'_k(theta) for all tasks, [K, ...] (differentiable in theta). */
export const adaptAll =
  (m: MetaProblem) =>
  (theta: Params): Params =>
    tf.tidy(() => adaptTiled(m)(tileParams(theta, m.tasks)))

/**
 * Each task's adapted parameters as plain arrays, one inner step per step of the problem from
 * `starts[k]` (each task's current parameters).
 */
export const adaptedArrays = (m: MetaProblem, starts: ReadonlyArray<ArrayParams>): ReadonlyArray<ArrayParams> => {
  const tiled = stackedTensors(starts)
  const adapted = tf.tidy(() => adaptTiled(m)(tiled))
  const out = Array.from({ length: m.tasks }, (_, k) => {
    const p = taskParams(adapted, k)
    const a = toArrays(p)
    tf.dispose(Object.values(p))
    return a
  })
  tf.dispose([...Object.values(tiled), ...Object.values(adapted)])
  return out
}

/**
 * How far an inner step moved each task's policy: mean over tasks of the masked mean over the first
 * inner step's observations of KL(pi_start || pi_adapted). A diagnostic of the inner step size.
 */
export const innerStepKl = (
  m: MetaProblem,
  starts: ReadonlyArray<ArrayParams>,
  adapted: ReadonlyArray<ArrayParams>
): number => {
  const a = stackedTensors(starts)
  const b = stackedTensors(adapted)
  const kl = tf.tidy(() => meanOverTasks(batchedKl(m.policy, a, b, m.preObs), m.preMask))
  const v = kl.dataSync()[0]
  tf.dispose([kl, ...Object.values(a), ...Object.values(b)])
  return v
}

// ---------------------------------------------------------------------------------------------
// objectives
// ---------------------------------------------------------------------------------------------

/** Per-task masked means of x [K, E T] under mask [K, E T], averaged over tasks: a scalar. */
const meanOverTasks = (x: tf.Tensor, mask: tf.Tensor): tf.Scalar =>
  tf.mean(tf.div(tf.sum(tf.mul(x, mask), 1), tf.maximum(tf.sum(mask, 1), 1))) as tf.Scalar

/** VPG's meta-objective: the estimator's surrogate on post-update episodes at the adapted parameters. */
export const vpgObjective =
  (m: MetaProblem) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() =>
      tf.div(
        surrogateOrThrow(m.graph, m.estimator.spec, m.options)(adaptAll(m)(theta), m.post),
        stepsPerTask(m) * m.tasks
      )
    )

/**
 * The old adapted policies theta'_k(theta_old), held constant for a step: the denominators of the
 * ratios and the first argument of the KL, evaluated once on the post-update steps. Also the
 * pre-update policy theta_old on the first inner step's observations, the first argument of PPO's
 * inner-KL penalty (constant during a step, so not recomputed by each of its Adam steps).
 */
export interface OldAdapted {
  /** Tiled [K, ...]. */
  readonly params: Params
  /** Action means [K, E T, actDim] and log-stds [K, 1, actDim] on the post-update observations. */
  readonly mean: tf.Tensor
  readonly logStd: tf.Tensor
  /** log pi_old(a | s) of the post-update steps, [K, E T]. */
  readonly logProb: tf.Tensor
  /** theta_old's action means [K E T, actDim] on the pre-update observations, and its log-std [actDim]. */
  readonly preMean: tf.Tensor
  readonly preLogStd: tf.Tensor
}

/** Pre-update observations as rows [K E T, obsDim] (the policy is shared by all tasks before adaptation). */
const preRows = (m: MetaProblem): tf.Tensor => {
  const [K, N] = m.preMask.shape
  return tf.reshape(m.preObs, [K * N, m.policy.obsDim])
}

export const oldAdapted = (m: MetaProblem, thetaOld: Params): OldAdapted => {
  const params = adaptAll(m)(thetaOld)
  return tf.tidy(() => {
    const mean = batchedMean(m.policy, params, m.postObs)
    const logStd = tf.expandDims(params['logStd'], 1)
    return {
      params,
      mean,
      logStd,
      logProb: diagGaussianLogProb(mean, logStd, m.postAction),
      preMean: policyMean(m.policy, thetaOld, preRows(m)),
      preLogStd: tf.clone(thetaOld['logStd'])
    }
  })
}

export const disposeOldAdapted = (o: OldAdapted): void => {
  tf.dispose([...Object.values(o.params), o.mean, o.logStd, o.logProb, o.preMean, o.preLogStd])
}

/** The adapted policies on the post-update observations: means [K, E T, actDim], log-stds [K, 1, actDim]. */
interface PostPolicy {
  readonly mean: tf.Tensor
  readonly logStd: tf.Tensor
}

/** One forward pass of the adapted policies over the post-update observations, shared by ratio and KL. */
const postPolicy = (m: MetaProblem, adapted: Params): PostPolicy => ({
  mean: batchedMean(m.policy, adapted, m.postObs),
  logStd: tf.expandDims(adapted['logStd'], 1)
})

/** Likelihood ratios pi_theta'_k(theta) / pi_theta'_k(theta_old) on the post-update steps, [K, E T]. */
const ratioOf = (m: MetaProblem, q: PostPolicy, old: OldAdapted): tf.Tensor =>
  tf.exp(tf.sub(diagGaussianLogProb(q.mean, q.logStd, m.postAction), old.logProb))

const ratioAt = (m: MetaProblem, adapted: Params, old: OldAdapted): tf.Tensor => ratioOf(m, postPolicy(m, adapted), old)

const lrOf = (m: MetaProblem, q: PostPolicy, old: OldAdapted): tf.Scalar =>
  meanOverTasks(tf.mul(ratioOf(m, q, old), m.postAdvantage), m.postMask)

const klOf = (m: MetaProblem, q: PostPolicy, old: OldAdapted): tf.Scalar =>
  meanOverTasks(diagGaussianKl(old.mean, old.logStd, q.mean, q.logStd), m.postMask)

/** The share of valid post-update steps whose ratio r [K, E T] left [1 - clip, 1 + clip]. */
const clipFractionOf = (m: MetaProblem, r: tf.Tensor, clip: number): tf.Scalar => {
  const out = tf.cast(tf.greater(tf.abs(tf.sub(r, 1)), clip), 'float32')
  return tf.div(tf.sum(tf.mul(out, m.postMask)), tf.maximum(tf.sum(m.postMask), 1)) as tf.Scalar
}

/** TRPO's surrogate: mean over tasks of the masked mean of ratio * advantage. */
export const lrObjective =
  (m: MetaProblem, old: OldAdapted) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() => lrOf(m, postPolicy(m, adaptAll(m)(theta)), old))

/** TRPO's metric: the mean KL between the old and new adapted policies on post-update observations. */
export const metaKl =
  (m: MetaProblem, old: OldAdapted) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() => klOf(m, postPolicy(m, adaptAll(m)(theta)), old))

/**
 * J V for tiled directions V [K, ...]: each task's adaptation Jacobian d theta'_k / d theta at theta_old
 * applied to V_k. With one inner step J_k = I + alpha H_k, H_k the Hessian of a scalar surrogate, so
 * J_k is symmetric and J V is the vector-Jacobian product (one backward pass); with more steps J_k is
 * a product of such factors, not symmetric, and J V comes from differentiating the vector-Jacobian
 * product in its (linear) cotangent.
 */
const adaptationJvp = (m: MetaProblem, tiledOld: Params, V: Params): Params => {
  const vjp = (W: Params): Params => gradients((P) => tf.tidy(() => dotParams(adaptTiled(m)(P), W)))(tiledOld)
  if (m.innerSteps === 1) return vjp(V)
  const zero = Object.fromEntries(Object.entries(V).map(([k, x]) => [k, tf.zerosLike(x)]))
  return gradients((W) => tf.tidy(() => dotParams(vjp(W), V)))(zero)
}

/**
 * The meta-KL's Hessian in the adapted parameters at the old ones (the adapted policies' Fisher)
 * times W [K, ...], in closed form: for KL(old || new) of diagonal Gaussians at new = old the
 * Hessian is 1 / sigma^2 in each mean and 2 in each log-std (no cross terms), weighted as
 * `meanOverTasks` weighs the steps; the means' part is J_mu^T (weights J_mu W / sigma^2), with J_mu W
 * by forward mode and J_mu^T by one backward pass. Equal to the double backward of the KL in the
 * adapted parameters (tested), about half its cost.
 */
const adaptedFisherProduct = (m: MetaProblem, old: OldAdapted, W: Params): Params =>
  tf.tidy(() => {
    const { dOut: dMean } = batchedMlpJvp(policyMlp(m.policy), old.params, W, m.postObs) // [K, N, A]
    const weights = tf.div(m.postMask, tf.mul(tf.maximum(tf.sum(m.postMask, 1, true), 1), m.tasks)) // [K, N]
    const c = tf.mul(tf.mul(dMean, tf.exp(tf.mul(old.logStd, -2))), tf.expandDims(weights, 2))
    const means = gradients((phi) => tf.tidy(() => tf.sum(tf.mul(batchedMean(m.policy, phi, m.postObs), c))))(
      old.params
    )
    tf.dispose(means['logStd'])
    return { ...means, logStd: tf.mul(W['logStd'], tf.mul(tf.sum(weights, 1, true), 2)) }
  })

/**
 * The meta-KL's Hessian at theta_old as a product v -> H v, for TRPO's conjugate gradient. At theta_old
 * the KL is at its minimum in the adapted parameters (its gradient there is 0), so its Hessian is
 * exactly J^T F J: J the adaptation Jacobian, F the KL's Hessian in the adapted parameters (the
 * adapted policies' Fisher). Evaluated as J V (a backward pass through the adaptation), F (J V)
 * (`adaptedFisherProduct`: forward mode and one backward pass through the policy alone; 0.07 s
 * against 0.12 s for a double backward) and J^T of that (a backward pass). Measured at 20 tasks x 20
 * episodes x 100 steps (tmaml, native): about 0.3 s per product against 0.47-0.59 s for the double
 * backward through adaptation and policy together, which differentiates the inner gradient twice, and
 * a quarter of its peak memory (450 MB against 1.83 GB of live arrays). Valid only at the parameters
 * `old` was built from (`thetaOld`); elsewhere the term grad_theta' KL . d^2 theta' is missing (tested
 * against `hessianVectorProduct(metaKl)`).
 */
export const metaKlHessianProduct =
  (m: MetaProblem, old: OldAdapted, thetaOld: Params) =>
  (v: Params): Params =>
    tf.tidy(() => {
      const Jv = adaptationJvp(m, tileParams(thetaOld, m.tasks), tileParams(v, m.tasks))
      const FJv = adaptedFisherProduct(m, old, Jv)
      return gradients((t) => tf.tidy(() => dotParams(adaptAll(m)(t), FJv)))(thetaOld)
    })

/** TRPO's surrogate and metric at one candidate theta, sharing one adaptation and policy pass: [L, K]. */
export const lrAndKl =
  (m: MetaProblem, old: OldAdapted) =>
  (theta: Params): readonly [tf.Scalar, tf.Scalar] =>
    tf.tidy(() => {
      const q = postPolicy(m, adaptAll(m)(theta))
      return [lrOf(m, q, old), klOf(m, q, old)] as const
    })

/** PPO/ProMP's clipped surrogate minus the inner KL penalty on pre-update observations. */
export const clippedObjective =
  (m: MetaProblem, old: OldAdapted, clip: number, klPenalty: number) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() => {
      const r = ratioAt(m, adaptAll(m)(theta), old)
      const A = m.postAdvantage
      const clipped = meanOverTasks(
        tf.minimum(tf.mul(r, A), tf.mul(tf.clipByValue(r, 1 - clip, 1 + clip), A)),
        m.postMask
      )
      if (klPenalty === 0) return clipped
      const [K, N] = m.preMask.shape
      const kl = diagGaussianKl(old.preMean, old.preLogStd, policyMean(m.policy, theta, preRows(m)), theta['logStd'])
      const innerKl = meanOverTasks(tf.reshape(kl, [K, N]), m.preMask)
      return tf.sub(clipped, tf.mul(innerKl, klPenalty)) as tf.Scalar
    })

/** PPO's clip fraction at theta: the share of valid post-update steps whose ratio left [1 - clip, 1 + clip]. */
export const clipFraction = (m: MetaProblem, old: OldAdapted, theta: Params, clip: number): tf.Scalar =>
  tf.tidy(() => clipFractionOf(m, ratioAt(m, adaptAll(m)(theta), old), clip))

/** The meta-KL and PPO's clip fraction at theta, sharing one adaptation and policy pass: [K, clip fraction]. */
export const klAndClipFraction =
  (m: MetaProblem, old: OldAdapted, clip: number) =>
  (theta: Params): readonly [tf.Scalar, tf.Scalar] =>
    tf.tidy(() => {
      const q = postPolicy(m, adaptAll(m)(theta))
      return [klOf(m, q, old), clipFractionOf(m, ratioOf(m, q, old), clip)] as const
    })
