/**
 * The per-task action-dependent control variate of the paper's Eq. 11 (after Wu et al. 2018): for a
 * policy that factorises over action coordinates, coordinate i gets the baseline
 *
 *   b_i(s_t, a_t^{-i}) = E_{a_i ~ pi_i(.|s_t)} [ Q(s_t, (a_t^{-i}, a_i)) ],
 *
 * which may depend on the other coordinates of the action but not on a_i, so every order of the
 * estimators stays unbiased (test/graph/factored.test.ts). Q is an MLP on
 * [clip(s, -10, 10), t / 100, a] fitted per task to standardised returns-to-go, cross-fitted (a network
 * trained on one half of a task's episodes serves the other half); the expectation over a_i is a
 * Monte-Carlo mean of `samples` draws from the current policy.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import type { ArrayParams } from '../../graph/nn.js'
import type { Rng } from '../../base/rng.js'
import { type Params, disposeParams, gradients } from '../../graph/autodiff.js'
import { initMlpArrays, mlpForward, mlpSpec, type MlpSpec } from '../../graph/nn.js'
import * as E from 'fp-ts/lib/Either.js'
import { type EpisodeBatch, returnsToGo, targetStats } from '../episodes.js'
import { type AdamState, adamInit, adamStep } from '../optim/adam.js'
import { type ControlVariateKind, crossFitted, perActionComponent, statelessControlVariate } from './controlVariate.js'
import { type PolicySpec, policyMean, toArrays, toTensors } from '../policy.js'

export interface ActionDependentOptions {
  readonly hidden: ReadonlyArray<number>
  readonly lr: number
  readonly epochs: number
  /** Monte-Carlo draws of a_i per step and coordinate. */
  readonly samples: number
  readonly gamma: number
}

const qMlp = (obsDim: number, actDim: number, hidden: ReadonlyArray<number>): MlpSpec =>
  mlpSpec([obsDim + 1 + actDim, ...hidden, 1], 'tanh', 'q')

/** Inputs [clip(s), t/100, a] of every step of a batch, [E * T, D + 1 + K]. */
const inputsOf = (b: EpisodeBatch): Float32Array => {
  const D = b.obsDim
  const K = b.actDim
  const W = D + 1 + K
  const out = new Float32Array(b.episodes * b.horizon * W)
  for (let e = 0; e < b.episodes; e++)
    for (let t = 0; t < b.horizon; t++) {
      const k = e * b.horizon + t
      for (let j = 0; j < D; j++) out[k * W + j] = Math.max(-10, Math.min(10, b.obs[k * D + j]))
      out[k * W + D] = t / 100
      for (let i = 0; i < K; i++) out[k * W + D + 1 + i] = b.actions[k * K + i]
    }
  return out
}

/** Fit Q on a batch's valid steps; returns the network and the target statistics. */
const fitQ = (
  b: EpisodeBatch,
  o: ActionDependentOptions,
  rng: Rng
): { params: ArrayParams; mean: number; std: number } => {
  const spec = qMlp(b.obsDim, b.actDim, o.hidden)
  const W = b.obsDim + 1 + b.actDim
  const all = inputsOf(b)
  const R = returnsToGo(b, o.gamma)
  const st = targetStats(b, o.gamma)
  const rows: number[] = []
  b.mask.forEach((m, i) => {
    if (m > 0) rows.push(i)
  })
  const x = tf.tensor2d(Float32Array.from(rows.flatMap((k) => Array.from(all.subarray(k * W, (k + 1) * W)))), [
    rows.length,
    W
  ])
  const y = tf.tensor1d(Float32Array.from(rows, (k) => (R[k] - st.mean) / st.std))
  const loss = (p: Params): tf.Scalar =>
    tf.tidy(() => tf.mean(tf.square(tf.sub(tf.reshape(mlpForward(spec, p, x), [-1]), y))) as tf.Scalar)
  let params: ArrayParams = initMlpArrays(spec, rng)
  let adam: AdamState = adamInit(params)
  for (let i = 0; i < o.epochs; i++) {
    const t = toTensors(params)
    const g = gradients(loss)(t)
    const next = adamStep(params, toArrays(g), adam, { lr: o.lr })
    disposeParams(g)
    disposeParams(t)
    params = next.params
    adam = next.state
  }
  tf.dispose([x, y])
  return { params, ...st }
}

/**
 * b_i(s_t, a_t^{-i}) for every step and coordinate of `b`, [E * T * K] (zero where masked), from a
 * fitted Q and the policy `policy` (whose mean and std draw the a_i).
 */
const predictBaselines = (
  b: EpisodeBatch,
  q: { readonly params: ArrayParams; readonly mean: number; readonly std: number },
  policySpec: PolicySpec,
  policy: ArrayParams,
  o: ActionDependentOptions,
  rng: Rng
): Float32Array => {
  const N = b.episodes * b.horizon
  const K = b.actDim
  const D = b.obsDim
  const W = D + 1 + K
  const M = o.samples
  const base = inputsOf(b)
  const meanT = tf.tidy(() => {
    const p = toTensors(policy)
    return policyMean(policySpec, p, tf.tensor2d(b.obs, [N, D]))
  })
  const mu = meanT.dataSync() as Float32Array
  meanT.dispose()
  const sigma = Array.from(policy['logStd'].values, (l) => Math.exp(l))
  // Rows: for each coordinate i and draw m, every step with a_i replaced by a draw from pi_i.
  const x = new Float32Array(K * M * N * W)
  for (let i = 0; i < K; i++)
    for (let m = 0; m < M; m++)
      for (let k = 0; k < N; k++) {
        const row = ((i * M + m) * N + k) * W
        x.set(base.subarray(k * W, (k + 1) * W), row)
        x[row + D + 1 + i] = mu[k * K + i] + sigma[i] * rng.normal()
      }
  const spec = qMlp(D, K, o.hidden)
  const out = tf.tidy(() => {
    const p = toTensors(q.params)
    return tf.reshape(mlpForward(spec, p, tf.tensor2d(x, [K * M * N, W])), [K, M, N])
  })
  const qv = out.dataSync() as Float32Array
  out.dispose()
  const res = new Float32Array(N * K)
  for (let k = 0; k < N; k++) {
    if (b.mask[k] === 0) continue
    for (let i = 0; i < K; i++) {
      let s = 0
      for (let m = 0; m < M; m++) s += qv[(i * M + m) * N + k]
      res[k * K + i] = q.mean + q.std * (s / M)
    }
  }
  return res
}

/**
 * Per-task action-dependent baselines, [E * T * K] per task, cross-fitted over the two halves of each
 * task's episodes. `policies[k]` is the policy that sampled task k's batch.
 */
export const fitActionDependentBaselines = (
  batches: ReadonlyArray<EpisodeBatch>,
  policies: ReadonlyArray<ArrayParams>,
  policySpec: PolicySpec,
  o: ActionDependentOptions,
  rngFor: (task: number, part: string) => Rng
): ReadonlyArray<Float32Array> =>
  batches.map((b, k) =>
    crossFitted(b, b.actDim, (i, own, other) =>
      predictBaselines(
        own,
        fitQ(other, o, rngFor(k, `fit-${1 - i}`)),
        policySpec,
        policies[k],
        o,
        rngFor(k, `draws-${i}`)
      )
    )
  )

/** The per-task action-dependent control variate of Eq. 11 (`--cv action-dependent`). */
export const actionDependentControlVariate: ControlVariateKind = statelessControlVariate({
  name: 'action-dependent',
  description: 'per-task action-dependent baselines b_i(s_t, a_t^{-i}) (paper Eq. 11), from a cross-fitted Q-network',
  shape: 'per-action-component',
  perTask: true,
  baselines: ({ tasks, policy, settings, rng }) =>
    E.right(
      fitActionDependentBaselines(
        tasks.map((s) => s.batch),
        tasks.map((s) => s.sampledWith),
        policy,
        { ...settings.valueCv, gamma: settings.gamma },
        (k, part) => rng(k, part)
      ).map(perActionComponent)
    )
})
