/**
 * The Gaussian MLP policy over a batch of tasks at once: one parameter set per task stacked along a
 * leading task axis ("task-tiled" parameters), observations `[K, N, obsDim]`, batched matMuls. A
 * meta-iteration's K tasks then cost one graph instead of K, with the same numbers.
 *
 * Layout of tiled parameters: each per-task shape with a leading task axis (`W_l` [K, in, out], `b_l`
 * [K, out], `logStd` [K, actDim]). Tiling a
 * shared theta is a Tile kernel, whose gradient sums over tasks, so differentiating sum_k J_k(theta'_k)
 * with respect to the tiled parameters gives each task's gradient in its own slice, and with respect
 * to theta the sum over tasks.
 *
 * @example
 * const T = tileParams(theta, 20)                       // [20, ...] per parameter
 * const lp = batchedLogProb(spec, T, obs, act)          // obs [20, N, 17], act [20, N, 6] -> [20, N]
 * const perTask = [0, 1].map((k) => taskParams(T, k))   // back to per-task shapes
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Params } from '../graph/autodiff.js'
import { diagGaussianKl, diagGaussianLogProb } from '../graph/distributions.js'
import type { ValidGraph } from '../graph/graph.js'
import { batchedMlpForward } from '../graph/nn.js'
import { type PolicySpec, gaussianPolicyGraph, policyMlp } from './policy.js'

/** theta repeated for K tasks (differentiable: the gradient of a tile sums over tasks). */
export const tileParams = (p: Params, tasks: number): Params =>
  tf.tidy(() =>
    Object.fromEntries(
      Object.entries(p).map(([k, x]) => [k, tf.tile(tf.expandDims(x, 0), [tasks, ...x.shape.map(() => 1)])])
    )
  )

/** Per-task parameter sets stacked along the task axis. */
export const stackParams = (ps: ReadonlyArray<Params>): Params =>
  tf.tidy(() => Object.fromEntries(Object.keys(ps[0]).map((k) => [k, tf.stack(ps.map((p) => p[k]))])))

/** Task k's parameters in per-task shapes. */
export const taskParams = (tiled: Params, k: number): Params =>
  tf.tidy(() =>
    Object.fromEntries(
      Object.entries(tiled).map(([name, x]) => [
        name,
        tf.reshape(tf.slice(x, [k, ...x.shape.slice(1).map(() => 0)], [1, ...x.shape.slice(1)]), x.shape.slice(1))
      ])
    )
  )

/** A tiled vector parameter [K, d] as [K, 1, d], to broadcast over a task's rows. */
const perRow = (x: tf.Tensor): tf.Tensor => tf.expandDims(x, 1)

/** The policy mean for tiled parameters: obs [K, N, obsDim] -> [K, N, actDim]. */
export const batchedMean = (p: PolicySpec, params: Params, obs: tf.Tensor): tf.Tensor =>
  batchedMlpForward(policyMlp(p), params, obs)

/** Per-coordinate log pi_i(a_i | s) for tiled parameters: [K, N, obsDim], [K, N, actDim] -> [K, N, actDim]. */
export const batchedLogProbPerDim = (p: PolicySpec, params: Params, obs: tf.Tensor, act: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const logStd = perRow(params['logStd']) // [K, 1, actDim]
    const z = tf.div(tf.sub(act, batchedMean(p, params, obs)), tf.exp(logStd))
    return tf.sub(tf.neg(tf.add(tf.mul(tf.square(z), 0.5), logStd)), 0.5 * Math.log(2 * Math.PI))
  })

/** log pi(a | s) for tiled parameters: [K, N, obsDim], [K, N, actDim] -> [K, N]. */
export const batchedLogProb = (p: PolicySpec, params: Params, obs: tf.Tensor, act: tf.Tensor): tf.Tensor =>
  tf.tidy(() => diagGaussianLogProb(batchedMean(p, params, obs), perRow(params['logStd']), act))

/** KL(pi_a || pi_b) per row for tiled parameter sets: obs [K, N, obsDim] -> [K, N]. */
export const batchedKl = (p: PolicySpec, a: Params, b: Params, obs: tf.Tensor): tf.Tensor =>
  tf.tidy(() =>
    diagGaussianKl(batchedMean(p, a, obs), perRow(a['logStd']), batchedMean(p, b, obs), perRow(b['logStd']))
  )

/**
 * The policy graph of `policyGraph` (./policy.ts) over K tasks: parameters are tiled, data are the K
 * tasks' episode batches concatenated along episodes ([K * E, T, ...], task k's episodes in rows
 * k E .. (k + 1) E - 1). The surrogate summed over trajectories is then sum_k J_k(theta_k).
 */
export const batchedPolicyGraph = (p: PolicySpec, tasks: number): ValidGraph =>
  gaussianPolicyGraph(p, 'batchedPolicyGraph', (params, obs, a) => {
    const [B, T] = a.shape as [number, number, number]
    const rows = (x: tf.Tensor) => tf.reshape(x, [tasks, (B / tasks) * T, x.shape[2] as number])
    return tf.reshape(batchedLogProbPerDim(p, params, rows(obs), rows(a)), [B, T, p.actDim])
  })
