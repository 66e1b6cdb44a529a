/**
 * The Gaussian MLP policy of the paper's experiments (64-64 tanh, learned state-independent
 * log-std) as a stochastic computation graph, plus conversions between tensors (learning) and plain
 * arrays (shipping to sampler workers, checkpoints).
 *
 * Graph: one parameter node per policy tensor (W0, b0, ..., logStd); `obs` [E, T, obsDim] input;
 * `action` stochastic with log pi(a_t | s_t) [E, T]; `reward` cost (causal prefix); `baseline`
 * control variate on `action`, read from the data.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import type { ArrayParams } from '../graph/nn.js'
import type { Rng } from '../base/rng.js'
import type { Params } from '../graph/autodiff.js'
import { diagGaussianKl, diagGaussianLogProb } from '../graph/distributions.js'
import { type ValidGraph, validate } from '../graph/graph.js'
import { type MlpSpec, initMlpArrays, mlpForward, mlpSpec } from '../graph/nn.js'
import { controlVariate, cost, factoredStochastic, input, param } from '../graph/nodes.js'

// The policy's shape and plain-array parameters are defined once, by the sampler that ships them.
import type { PolicySpec } from './sampler/types.js'
export type { PolicySpec }

export const policyMlp = (p: PolicySpec): MlpSpec => mlpSpec([p.obsDim, ...p.hidden, p.actDim], p.activation)

/** Names of the policy parameters, in a fixed order. */
export const policyParamNames = (p: PolicySpec): ReadonlyArray<string> => [
  ...p.hidden.concat([p.actDim]).flatMap((_, l) => [`W${l}`, `b${l}`]),
  'logStd'
]

/**
 * Xavier-uniform weights (output layer scaled by 0.01 so the initial mean is near 0), log-std
 * `initLogStd` (one value for every action component, or one per component).
 */
export const initPolicy = (p: PolicySpec, rng: Rng, initLogStd: number | ReadonlyArray<number> = 0): ArrayParams => ({
  ...initMlpArrays(policyMlp(p), rng, 0.01),
  logStd: {
    shape: [p.actDim],
    values: Float32Array.from({ length: p.actDim }, (_, i) =>
      typeof initLogStd === 'number' ? initLogStd : initLogStd[i]
    )
  }
})

export const toTensors = (a: ArrayParams): Params =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, tf.tensor(v.values, [...v.shape])]))

export const toArrays = (p: Params): ArrayParams =>
  Object.fromEntries(
    Object.entries(p).map(([k, t]) => [
      k,
      { shape: [...t.shape], values: Float32Array.from(t.dataSync() as Float32Array) }
    ])
  )

/** `f` of the parameters as tensors, disposed however `f` returns. */
export const withTensors = <A>(p: ArrayParams, f: (t: Params) => A): A => {
  const t = toTensors(p)
  try {
    return f(t)
  } finally {
    tf.dispose(Object.values(t))
  }
}

/** The mean action for observations [N, obsDim] -> [N, actDim]. */
export const policyMean = (p: PolicySpec, params: Params, obs: tf.Tensor): tf.Tensor =>
  mlpForward(policyMlp(p), params, obs)

/** log pi(a | s) for observations [N, obsDim] and actions [N, actDim] -> [N]. */
export const policyLogProb = (p: PolicySpec, params: Params, obs: tf.Tensor, act: tf.Tensor): tf.Tensor =>
  tf.tidy(() => diagGaussianLogProb(policyMean(p, params, obs), params['logStd'], act))

/** Per-coordinate log pi_i(a_i | s) [N, actDim] (their sum over coordinates is `policyLogProb`). */
export const policyLogProbPerDim = (p: PolicySpec, params: Params, obs: tf.Tensor, act: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const logStd = params['logStd']
    const z = tf.div(tf.sub(act, policyMean(p, params, obs)), tf.exp(logStd))
    return tf.sub(tf.neg(tf.add(tf.mul(tf.square(z), 0.5), logStd)), 0.5 * Math.log(2 * Math.PI))
  })

/** KL(pi_a || pi_b) at observations [N, obsDim] -> [N]. */
export const policyKl = (p: PolicySpec, a: Params, b: Params, obs: tf.Tensor): tf.Tensor =>
  tf.tidy(() => diagGaussianKl(policyMean(p, a, obs), a['logStd'], policyMean(p, b, obs), b['logStd']))

/** Rows [E * T, d] of an [E, T, d] tensor. */
const rows = (x: tf.Tensor): tf.Tensor => tf.reshape(x, [x.shape[0] * (x.shape[1] as number), x.shape[2] as number])

/**
 * The stochastic computation graph of episodes under a Gaussian policy whose parameters are `p`'s:
 * `logProbPerDim(params, obs, action)` gives log pi_i(a_i | s) for obs [B, T, obsDim] and actions
 * [B, T, actDim], as [B, T, actDim]. `name` names the graph in errors.
 */
export const gaussianPolicyGraph = (
  p: PolicySpec,
  name: string,
  logProbPerDim: (params: Params, obs: tf.Tensor, action: tf.Tensor) => tf.Tensor
): ValidGraph => {
  const names = policyParamNames(p)
  const g = validate([
    ...names.map(param),
    input('obs'),
    // Factored over action coordinates (a diagonal Gaussian), so a control variate may be per
    // coordinate (the action-dependent CV); a state baseline [E, T] works as well.
    factoredStochastic('action', [...names, 'obs'], p.actDim, (v, a) =>
      logProbPerDim(Object.fromEntries(names.map((n) => [n, v[n]])), v['obs'], a)
    ),
    cost('reward', ['action'], (_, d) => d['rewards'] as tf.Tensor),
    controlVariate('baseline', 'action', [], (_, d) => d['baseline'] as tf.Tensor)
  ])
  if (g._tag === 'Left') throw new Error(`${name}: ${g.left._tag}`)
  return g.right
}

/** The stochastic computation graph of an episode batch under the policy. */
export const policyGraph = (p: PolicySpec): ValidGraph =>
  gaussianPolicyGraph(p, 'policyGraph', (params, obs, a) =>
    tf.reshape(policyLogProbPerDim(p, params, rows(obs), rows(a)), [a.shape[0], a.shape[1] as number, p.actDim])
  )
