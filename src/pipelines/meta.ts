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
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Params } from '../graph/autodiff.js'
import type { ValidGraph } from '../graph/graph.js'
import type { InterpretOptions } from '../graph/interpret.js'
import { surrogateOrThrow } from '../graph/interpret.js'
import { stopGradient } from '../graph/ops.js'
import type { Estimator } from '../estimators/estimator.js'
import { adaptedParams } from '../estimators/maml.js'
import { type EpisodeBatch, graphData, returnsToGo } from './episodes.js'
import { type PolicySpec, policyGraph, policyKl, policyLogProb } from './policy.js'

/** One task's data as tensors. */
export interface TaskTensors {
  /** Graph data of the pre-update episodes of each inner step. */
  readonly pre: ReadonlyArray<Readonly<Record<string, tf.Tensor>>>
  /** Graph data of the post-update episodes. */
  readonly post: Readonly<Record<string, tf.Tensor>>
  /** Outer advantages [E, T] (returns-to-go minus the outer baseline, standardised if asked). */
  readonly postAdvantage: tf.Tensor
}

export interface MetaProblem {
  readonly policy: PolicySpec
  readonly graph: ValidGraph
  readonly estimator: Estimator
  readonly alpha: number
  readonly innerSteps: number
  readonly options: InterpretOptions
  readonly tasks: ReadonlyArray<TaskTensors>
}

/** Outer advantages of a batch: returns-to-go minus the baseline over valid steps, optionally standardised. */
export const outerAdvantages = (
  b: EpisodeBatch,
  baseline: Float32Array,
  gamma: number,
  normalize: boolean
): Float32Array => {
  const R = returnsToGo(b, gamma)
  const A = R.map((r, i) => (r - baseline[i]) * b.mask[i])
  if (!normalize) return A
  let n = 0
  let mean = 0
  b.mask.forEach((m, i) => {
    if (m > 0) {
      n += 1
      mean += A[i]
    }
  })
  mean /= Math.max(n, 1)
  let v = 0
  b.mask.forEach((m, i) => {
    if (m > 0) v += (A[i] - mean) ** 2
  })
  const std = Math.sqrt(v / Math.max(n, 1)) + 1e-8
  return A.map((a, i) => (b.mask[i] > 0 ? (a - mean) / std : 0))
}

/** Build an iteration's problem. `pre[k][s]` are task k's episodes of inner step s, with baselines. */
export const makeMetaProblem = (args: {
  readonly policy: PolicySpec
  readonly estimator: Estimator
  readonly alpha: number
  readonly gamma: number
  readonly normalizeAdvantages: boolean
  readonly pre: ReadonlyArray<ReadonlyArray<{ readonly batch: EpisodeBatch; readonly baseline: Float32Array }>>
  readonly post: ReadonlyArray<{ readonly batch: EpisodeBatch; readonly baseline: Float32Array }>
}): MetaProblem => ({
  policy: args.policy,
  graph: policyGraph(args.policy),
  estimator: args.estimator,
  alpha: args.alpha,
  innerSteps: args.pre[0]?.length ?? 1,
  options: { discount: args.gamma, reduction: 'sum' },
  tasks: args.post.map((post, k) => ({
    pre: args.pre[k].map((p) => graphData(p.batch, p.baseline)),
    post: graphData(post.batch, post.baseline),
    postAdvantage: tf.tensor2d(outerAdvantages(post.batch, post.baseline, args.gamma, args.normalizeAdvantages), [
      post.batch.episodes,
      post.batch.horizon
    ])
  }))
})

export const disposeMetaProblem = (m: MetaProblem): void => {
  for (const t of m.tasks) {
    t.pre.forEach((d) => tf.dispose(Object.values(d)))
    tf.dispose(Object.values(t.post))
    t.postAdvantage.dispose()
  }
}

/**
 * Steps per batch (episodes x horizon): the graph sums its surrogate over episodes and time steps;
 * dividing by this averages it over all steps, the scale of the reference code (ProMP, TMAML) for
 * which the published inner step size 0.1 was tuned.
 */
const stepsOf = (d: Readonly<Record<string, tf.Tensor>>): number =>
  d['rewards'].shape[0] * (d['rewards'].shape[1] as number)

/**
 * theta'_k(theta): the inner steps of task k with the problem's estimator (per-episode mean of its
 * surrogate), differentiable in theta.
 */
export const adaptTask =
  (m: MetaProblem, k: number) =>
  (theta: Params): Params =>
    adaptedParams({
      graph: m.graph,
      estimator: m.estimator,
      data: (s) => m.tasks[k].pre[s],
      alpha: m.alpha / stepsOf(m.tasks[k].pre[0]),
      steps: m.innerSteps,
      options: m.options
    })(theta)

const rowsOf = (x: tf.Tensor): tf.Tensor => tf.reshape(x, [x.shape[0] * (x.shape[1] as number), x.shape[2] as number])

/** log pi_theta(a_t | s_t) of the post-update episodes of task k, [E * T]. */
const postLogProb = (m: MetaProblem, k: number, theta: Params): tf.Tensor =>
  policyLogProb(m.policy, theta, rowsOf(m.tasks[k].post['obs']), rowsOf(m.tasks[k].post['action']))

const maskOf = (m: MetaProblem, k: number): tf.Tensor => tf.reshape(m.tasks[k].post['mask'], [-1])

const maskedMean = (x: tf.Tensor, mask: tf.Tensor): tf.Tensor =>
  tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1))

const meanOverTasks = (m: MetaProblem, f: (k: number) => tf.Tensor): tf.Scalar =>
  tf.div(tf.addN(m.tasks.map((_, k) => f(k))), m.tasks.length) as tf.Scalar

/** VPG's meta-objective: the estimator's surrogate on post-update episodes at the adapted parameters. */
export const vpgObjective =
  (m: MetaProblem) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() =>
      meanOverTasks(m, (k) =>
        tf.div(
          surrogateOrThrow(m.graph, m.estimator.spec, m.options)(adaptTask(m, k)(theta), m.tasks[k].post),
          stepsOf(m.tasks[k].post)
        )
      )
    )

/** Adapted parameters at theta_old, held constant (the old policies of the ratios and the KL). */
export type OldAdapted = ReadonlyArray<Params>

export const oldAdapted = (m: MetaProblem, thetaOld: Params): OldAdapted =>
  m.tasks.map((_, k) => tf.tidy(() => adaptTask(m, k)(thetaOld)))

/** Likelihood ratios pi_theta'_k(theta) / pi_theta'_k(theta_old) on task k's post-update steps, [E * T]. */
const ratio = (m: MetaProblem, k: number, theta: Params, old: OldAdapted): tf.Tensor =>
  tf.exp(tf.sub(postLogProb(m, k, adaptTask(m, k)(theta)), stopGradient(postLogProb(m, k, old[k]))))

/** TRPO's surrogate: mean_k of the masked mean of ratio * advantage. */
export const lrObjective =
  (m: MetaProblem, old: OldAdapted) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() =>
      meanOverTasks(m, (k) =>
        maskedMean(tf.mul(ratio(m, k, theta, old), tf.reshape(m.tasks[k].postAdvantage, [-1])), maskOf(m, k))
      )
    )

/** PPO/ProMP's clipped surrogate minus the inner KL penalty on pre-update observations. */
export const clippedObjective =
  (m: MetaProblem, old: OldAdapted, thetaOld: Params, clip: number, klPenalty: number) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() => {
      const clipped = meanOverTasks(m, (k) => {
        const r = ratio(m, k, theta, old)
        const A = tf.reshape(m.tasks[k].postAdvantage, [-1])
        return maskedMean(tf.minimum(tf.mul(r, A), tf.mul(tf.clipByValue(r, 1 - clip, 1 + clip), A)), maskOf(m, k))
      })
      if (klPenalty === 0) return clipped
      const innerKl = meanOverTasks(m, (k) => {
        const pre = m.tasks[k].pre[0]
        return maskedMean(policyKl(m.policy, thetaOld, theta, rowsOf(pre['obs'])), tf.reshape(pre['mask'], [-1]))
      })
      return tf.sub(clipped, tf.mul(innerKl, klPenalty)) as tf.Scalar
    })

/** TRPO's metric: the mean KL between the old and new adapted policies on post-update observations. */
export const metaKl =
  (m: MetaProblem, old: OldAdapted) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() =>
      meanOverTasks(m, (k) =>
        maskedMean(policyKl(m.policy, old[k], adaptTask(m, k)(theta), rowsOf(m.tasks[k].post['obs'])), maskOf(m, k))
      )
    )
