/**
 * A ground-truth problem: a tabular MDP, a policy point theta, a direction v and a step size alpha,
 * with the exact gradient, Hessian-vector product and MAML meta-gradient, and the machinery to draw
 * many independent estimates of each in one vectorised computation.
 *
 * Independent replicates: R copies of theta are stacked along a leading axis, replicate r gets its
 * own group of n trajectories, and the surrogate is the sum over replicates of each group's mean.
 * Its gradient with respect to the stacked parameters is, row by row, the R independent gradient
 * estimates; differentiating again gives R independent Hessian-vector products, and differentiating
 * through a stacked inner step gives R independent meta-gradients.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import { type Rng, rngAt } from '../../base/rng.js'
import { type Params, gradients, hessianVectorProduct } from '../../graph/autodiff.js'
import { type ValidGraph, validate } from '../../graph/graph.js'
import { type InterpretOptions, surrogateOrThrow } from '../../graph/interpret.js'
import { controlVariate, cost, input, param, stochastic } from '../../graph/nodes.js'
import { logSoftmax } from '../../graph/ops.js'
import type { Estimator } from '../estimator.js'
import { metaGradient } from '../maml.js'
import {
  type MdpSize,
  type TabularMdp,
  type Trajectories,
  enumerateTrajectories,
  exactReturn,
  policyTable,
  randomMdp,
  sampleTrajectories,
  valueFunction
} from './tabularMdp.js'

/**
 * The control variate b(s_t, t): the exact value function V_t(s) under the current policy (a good
 * baseline), a deliberately poor one (V plus large fixed noise per (t, s)), or none.
 */
export type BaselineKind = 'value' | 'poor' | 'none'

export interface GroundTruthProblem {
  readonly mdp: TabularMdp
  /** Policy logits theta, row-major [S, A]. */
  readonly theta: Float32Array
  /** The Hessian-vector product direction, [S, A]. */
  readonly direction: Float32Array
  /** Inner step size of the meta-gradient. */
  readonly alpha: number
  readonly baseline: BaselineKind
  /** b[t][s] under theta (inner and first-order data). */
  readonly baselineTable: ReadonlyArray<ReadonlyArray<number>>
  /** theta' = theta + alpha grad J(theta), where the outer data are drawn. */
  readonly adaptedTheta: Float32Array
  /** b[t][s] under theta' (outer data). */
  readonly adaptedBaselineTable: ReadonlyArray<ReadonlyArray<number>>
}

export interface ProblemOptions {
  readonly size?: MdpSize
  readonly baseline?: BaselineKind
  readonly alpha?: number
  /** Policy logits theta, row-major [S, A] (default: 0.7 N(0, 1) each, from the seed). */
  readonly logits?: ArrayLike<number>
}

const tableOf = (mdp: TabularMdp, theta: Float32Array, kind: BaselineKind, rng: Rng): number[][] => {
  if (kind === 'none') return Array.from({ length: mdp.horizon }, () => new Array<number>(mdp.states).fill(0))
  const V = valueFunction(mdp, policyTable(mdp, theta))
  return kind === 'value' ? V : V.map((row) => row.map((v) => v + 3 * rng.normal()))
}

/** Exact gradient of J at theta (plain array). */
const exactGradientAt = (mdp: TabularMdp, theta: Float32Array): Float32Array =>
  tf
    .tidy(() => gradients(exactReturn(mdp))({ logits: tf.tensor2d(theta, [mdp.states, mdp.actions]) })['logits'])
    .dataSync() as Float32Array

/** A random problem from a seed: the MDP, a policy point, a unit direction, baselines. */
export const makeProblem = (seed: number, opts: ProblemOptions = {}): GroundTruthProblem => {
  const size = opts.size ?? { states: 3, actions: 2, horizon: 3 }
  const alpha = opts.alpha ?? 0.5
  const baseline = opts.baseline ?? 'value'
  const mdp = randomMdp(rngAt(seed, 'mdp'), size)
  const r = rngAt(seed, 'theta')
  const drawn = Float32Array.from({ length: size.states * size.actions }, () => 0.7 * r.normal())
  const theta = opts.logits === undefined ? drawn : Float32Array.from(opts.logits)
  if (theta.length !== size.states * size.actions)
    throw new RangeError(`makeProblem: ${theta.length} logits for ${size.states} x ${size.actions}`)
  const dir = Float32Array.from({ length: theta.length }, () => r.normal())
  const norm = Math.hypot(...dir)
  const direction = dir.map((x) => x / norm)
  const g = exactGradientAt(mdp, theta)
  const adaptedTheta = theta.map((x, i) => x + alpha * g[i])
  return {
    mdp,
    theta,
    direction,
    alpha,
    baseline,
    baselineTable: tableOf(mdp, theta, baseline, rngAt(seed, 'poor-baseline', 0)),
    adaptedTheta,
    adaptedBaselineTable: tableOf(mdp, adaptedTheta, baseline, rngAt(seed, 'poor-baseline', 1))
  }
}

// ---------------------------------------------------------------------------------------------
// the graph: a softmax policy over a tabular MDP, with stacked per-replicate logits
// ---------------------------------------------------------------------------------------------

/**
 * Nodes: logits (param, [R, S, A] or [S, A]); index (input: for each step, the flat position of
 * (replicate, s_t, a_t) in the logits); action (stochastic, log pi(a_t | s_t)); reward (cost, causal
 * prefix); baseline (control variate on action, b(s_t) as data).
 */
export const tabularGraph: ValidGraph = (() => {
  const g = validate([
    param('logits'),
    input('index'),
    stochastic('action', ['logits', 'index'], ({ logits, index }) =>
      tf.gather(tf.reshape(logSoftmax(logits, -1), [-1]), index)
    ),
    cost('reward', ['action'], (_, d) => d['rewards'] as tf.Tensor),
    controlVariate('baseline', 'action', [], (_, d) => d['baseline'] as tf.Tensor)
  ])
  if (g._tag === 'Left') throw new Error(`tabularGraph: ${g.left._tag}`)
  return g.right
})()

/** Graph data for trajectories grouped n per replicate (trajectory i belongs to replicate floor(i / n)). */
export const tabularData = (
  mdp: TabularMdp,
  tr: Trajectories,
  groupSize: number,
  baselineTable: ReadonlyArray<ReadonlyArray<number>>,
  stacked: boolean
): Record<string, tf.Tensor> => {
  const { count: n, horizon: T } = tr
  const SA = mdp.states * mdp.actions
  const index = new Int32Array(n * T)
  const base = new Float32Array(n * T)
  for (let i = 0; i < n; i++) {
    const owner = stacked ? Math.floor(i / groupSize) : 0
    for (let t = 0; t < T; t++) {
      const k = i * T + t
      index[k] = owner * SA + tr.states[k] * mdp.actions + tr.actions[k]
      base[k] = baselineTable[t][tr.states[k]]
    }
  }
  return {
    index: tf.tensor2d(index, [n, T], 'int32'),
    action: tf.tensor2d(tr.actions, [n, T], 'int32'),
    rewards: tf.tensor2d(tr.rewards, [n, T]),
    baseline: tf.tensor2d(base, [n, T])
  }
}

// ---------------------------------------------------------------------------------------------
// exact targets
// ---------------------------------------------------------------------------------------------

export interface ExactTargets {
  readonly grad: Float32Array
  readonly hvp: Float32Array
  readonly meta: Float32Array
  readonly value: number
}

/** The exact gradient, Hessian-vector product along the direction, and MAML meta-gradient. */
export const exactTargets = (p: GroundTruthProblem): ExactTargets =>
  tf.tidy(() => {
    const { mdp } = p
    const J = exactReturn(mdp)
    const logits = tf.tensor2d(p.theta, [mdp.states, mdp.actions])
    const v = tf.tensor2d(p.direction, [mdp.states, mdp.actions])
    const value = J({ logits }).dataSync()[0]
    const grad = gradients(J)({ logits })['logits'].dataSync() as Float32Array
    const hvp = hessianVectorProduct(J)({ logits }, { logits: v })['logits'].dataSync() as Float32Array
    const meta = gradients((q: Params) =>
      J({ logits: tf.add(q['logits'], tf.mul(gradients(J)(q)['logits'], p.alpha)) })
    )({ logits })['logits'].dataSync() as Float32Array
    return { grad, hvp, meta, value }
  })

// ---------------------------------------------------------------------------------------------
// replicated estimates
// ---------------------------------------------------------------------------------------------

/** R independent estimates of a d-dimensional quantity, row-major [R, d]. */
export interface Estimates {
  readonly replicates: number
  readonly dim: number
  readonly values: Float32Array
}

const stack = (x: Float32Array, R: number, shape: ReadonlyArray<number>): tf.Tensor =>
  tf.tile(tf.reshape(tf.tensor(x, [...shape]), [1, ...shape]), [R, ...shape.map(() => 1)])

const opts = (groupSize: number): InterpretOptions => ({ reduction: 'groupMean', groupSize })

/** The data of one estimation: replicates x groupSize trajectories, drawn or enumerated. */
export interface Batch {
  readonly replicates: number
  readonly groupSize: number
  readonly inner: Trajectories
  /** Outer (post-adaptation) trajectories, for meta-gradients. */
  readonly outer?: Trajectories
}

/** Draw R groups of n trajectories under theta (and, for meta-gradients, under theta'). */
export const drawBatch = (
  p: GroundTruthProblem,
  rng: Rng,
  replicates: number,
  groupSize: number,
  withOuter: boolean
): Batch => ({
  replicates,
  groupSize,
  inner: sampleTrajectories(p.mdp, policyTable(p.mdp, p.theta), rng, replicates * groupSize),
  outer: withOuter
    ? sampleTrajectories(p.mdp, policyTable(p.mdp, p.adaptedTheta), rng, replicates * groupSize)
    : undefined
})

const shapeOf = (p: GroundTruthProblem): [number, number] => [p.mdp.states, p.mdp.actions]

const collect = (p: GroundTruthProblem, b: Batch, f: () => tf.Tensor): Estimates => {
  const t = tf.tidy(f)
  const values = t.dataSync() as Float32Array
  t.dispose()
  return { replicates: b.replicates, dim: p.mdp.states * p.mdp.actions, values }
}

/** The inner surrogate of a batch as a function of the stacked logits. */
const innerSurrogate =
  (p: GroundTruthProblem, est: Estimator, b: Batch, data: Record<string, tf.Tensor>) => (q: Params) =>
    surrogateOrThrow(tabularGraph, est.spec, opts(b.groupSize))(q, data)

/** Per-replicate gradient estimates, [R, S*A]. */
export const gradientEstimates = (p: GroundTruthProblem, est: Estimator, b: Batch): Estimates =>
  collect(p, b, () => {
    const data = tabularData(p.mdp, b.inner, b.groupSize, p.baselineTable, true)
    return gradients(innerSurrogate(p, est, b, data))({ logits: stack(p.theta, b.replicates, shapeOf(p)) })['logits']
  })

/** Per-replicate Hessian-vector products along the problem's direction, [R, S*A]. */
export const hvpEstimates = (p: GroundTruthProblem, est: Estimator, b: Batch): Estimates =>
  collect(p, b, () => {
    const data = tabularData(p.mdp, b.inner, b.groupSize, p.baselineTable, true)
    const logits = stack(p.theta, b.replicates, shapeOf(p))
    const v = stack(p.direction, b.replicates, shapeOf(p))
    return hessianVectorProduct(innerSurrogate(p, est, b, data))({ logits }, { logits: v })['logits']
  })

/**
 * Per-replicate MAML meta-gradients, [R, S*A]: one inner step with the estimator on the inner group
 * (its location pinned to the exact theta' = theta + alpha grad J, its Jacobian the estimator's),
 * the same estimator on the outer group drawn at theta'.
 */
export const metaEstimates = (p: GroundTruthProblem, est: Estimator, b: Batch): Estimates =>
  collect(p, b, () => {
    if (b.outer === undefined) throw new Error('metaEstimates: the batch has no outer trajectories')
    const inner = tabularData(p.mdp, b.inner, b.groupSize, p.baselineTable, true)
    const outer = tabularData(p.mdp, b.outer, b.groupSize, p.adaptedBaselineTable, true)
    const exactGrad = stack(exactGradientAt(p.mdp, p.theta), b.replicates, shapeOf(p))
    return metaGradient(
      {
        graph: tabularGraph,
        estimator: est,
        data: () => inner,
        alpha: p.alpha,
        steps: 1,
        options: opts(b.groupSize),
        pinnedGradient: () => ({ logits: exactGrad })
      },
      { graph: tabularGraph, estimator: est, data: outer, options: opts(b.groupSize) }
    )({ logits: stack(p.theta, b.replicates, shapeOf(p)) })['logits']
  })

// ---------------------------------------------------------------------------------------------
// exact expectations of estimators, by enumeration
// ---------------------------------------------------------------------------------------------

/** Mean and variance of an estimator's estimates under the exact sampling distribution. */
export interface ExactMoments {
  readonly mean: Float64Array
  /** Variance of one estimate (one group of `groupSize` trajectories). */
  readonly variance: Float64Array
}

/** All groups of `n` trajectories (n = 1 or 2) with their probabilities, as a batch. */
const enumeratedGroups = (
  p: GroundTruthProblem,
  theta: Float32Array,
  n: 1 | 2
): { readonly batch: Trajectories; readonly weights: Float64Array } => {
  const { trajectories: tr, probabilities } = enumerateTrajectories(p.mdp, policyTable(p.mdp, theta))
  if (n === 1) return { batch: tr, weights: probabilities }
  const N = tr.count
  const T = tr.horizon
  const states = new Int32Array(2 * N * N * T)
  const actions = new Int32Array(2 * N * N * T)
  const rewards = new Float32Array(2 * N * N * T)
  const weights = new Float64Array(N * N)
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      const g = i * N + j
      weights[g] = probabilities[i] * probabilities[j]
      states.set(tr.states.subarray(i * T, (i + 1) * T), 2 * g * T)
      states.set(tr.states.subarray(j * T, (j + 1) * T), (2 * g + 1) * T)
      actions.set(tr.actions.subarray(i * T, (i + 1) * T), 2 * g * T)
      actions.set(tr.actions.subarray(j * T, (j + 1) * T), (2 * g + 1) * T)
      rewards.set(tr.rewards.subarray(i * T, (i + 1) * T), 2 * g * T)
      rewards.set(tr.rewards.subarray(j * T, (j + 1) * T), (2 * g + 1) * T)
    }
  return { batch: { count: 2 * N * N, horizon: T, states, actions, rewards }, weights }
}

const weightedMoments = (e: Estimates, w: Float64Array): ExactMoments => {
  const mean = new Float64Array(e.dim)
  const second = new Float64Array(e.dim)
  for (let r = 0; r < e.replicates; r++)
    for (let j = 0; j < e.dim; j++) {
      const x = e.values[r * e.dim + j]
      mean[j] += w[r] * x
      second[j] += w[r] * x * x
    }
  return { mean, variance: second.map((s, j) => Math.max(0, s - mean[j] ** 2)) }
}

/**
 * The exact mean and variance of an estimator's gradient or Hessian-vector product (one group of
 * `groupSize` trajectories), by enumerating every group of trajectories with its probability.
 * Groups of 2 are enumerated only for estimators that read another trajectory; otherwise the moments
 * of a group mean follow from single trajectories (variance / groupSize).
 */
export const exactMoments = (
  p: GroundTruthProblem,
  est: Estimator,
  order: 'grad' | 'hvp',
  groupSize: number,
  needsPairs: boolean
): ExactMoments => {
  const n = needsPairs ? 2 : 1
  const { batch, weights } = enumeratedGroups(p, p.theta, n)
  const b: Batch = { replicates: weights.length, groupSize: n, inner: batch }
  const e = order === 'grad' ? gradientEstimates(p, est, b) : hvpEstimates(p, est, b)
  const m = weightedMoments(e, weights)
  return { mean: m.mean, variance: m.variance.map((v) => (v * n) / groupSize) }
}

/**
 * The exact mean of the meta-gradient estimator: with independent inner and outer groups and the
 * inner step pinned, E[(I + alpha H_hat) g_hat_out] = E[g_hat_out] + alpha E[H_hat] E[g_hat_out],
 * i.e. the exact outer mean plus alpha times the exact mean Hessian-vector product along it.
 */
export const exactMetaMean = (p: GroundTruthProblem, est: Estimator, needsPairs: boolean): Float64Array => {
  const n = needsPairs ? 2 : 1
  const adapted: GroundTruthProblem = { ...p, theta: p.adaptedTheta, baselineTable: p.adaptedBaselineTable }
  const outer = enumeratedGroups(p, p.adaptedTheta, n)
  const gOut = weightedMoments(
    gradientEstimates(adapted, est, { replicates: outer.weights.length, groupSize: n, inner: outer.batch }),
    outer.weights
  ).mean
  const inner = enumeratedGroups(p, p.theta, n)
  const along: GroundTruthProblem = { ...p, direction: Float32Array.from(gOut) }
  const hv = weightedMoments(
    hvpEstimates(along, est, { replicates: inner.weights.length, groupSize: n, inner: inner.batch }),
    inner.weights
  ).mean
  return gOut.map((g, j) => g + p.alpha * hv[j])
}
