/**
 * Learned state-value control variates: an MLP V(s, t) on [clip(s, -10, 10), t / 100], trained on
 * standardised discounted returns-to-go. This module holds the network (shared with the meta-learned
 * control variate, metaValue.ts) and the per-task value networks (`--cv value`): a fresh network per
 * task, cross-fitted, so the baseline of an episode never comes from a network (or target statistics)
 * fitted on that episode, and b(s_t) does not depend on the episode's own actions.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import type { ArrayParams } from '../../graph/nn.js'
import { type Rng } from '../../base/rng.js'
import { type Params, disposeParams, gradients } from '../../graph/autodiff.js'
import { initMlpArrays, mlpForward, mlpSpec, type MlpSpec } from '../../graph/nn.js'
import * as E from 'fp-ts/lib/Either.js'
import { type EpisodeBatch, returnsToGo, targetStats } from '../episodes.js'
import { type AdamState, adamInit, adamStep } from '../optim/adam.js'
import { toArrays, toTensors } from '../policy.js'
import { type ControlVariateKind, crossFitted, perState, statelessControlVariate } from './controlVariate.js'

export const valueMlp = (obsDim: number, hidden: ReadonlyArray<number>): MlpSpec =>
  mlpSpec([obsDim + 1, ...hidden, 1], 'tanh', 'v')

export const initValueNet = (obsDim: number, hidden: ReadonlyArray<number>, rng: Rng): ArrayParams =>
  initMlpArrays(valueMlp(obsDim, hidden), rng)

/** Features, standardised targets and mask of a batch's valid steps. */
export interface Fit {
  readonly x: tf.Tensor2D // [N, obsDim + 1]
  readonly y: tf.Tensor1D // [N]
  readonly mean: number
  readonly std: number
}

const featuresOf = (b: EpisodeBatch): Float32Array => {
  const D = b.obsDim
  const out = new Float32Array(b.episodes * b.horizon * (D + 1))
  for (let e = 0; e < b.episodes; e++)
    for (let t = 0; t < b.horizon; t++) {
      const k = e * b.horizon + t
      for (let j = 0; j < D; j++) out[k * (D + 1) + j] = Math.max(-10, Math.min(10, b.obs[k * D + j]))
      out[k * (D + 1) + D] = t / 100
    }
  return out
}

/** Training data of a batch, standardised with given statistics. */
export const fitData = (b: EpisodeBatch, gamma: number, stats: { mean: number; std: number }): Fit => {
  const D = b.obsDim
  const feats = featuresOf(b)
  const R = returnsToGo(b, gamma)
  const idx: number[] = []
  b.mask.forEach((m, i) => {
    if (m > 0) idx.push(i)
  })
  const x = new Float32Array(idx.length * (D + 1))
  const y = new Float32Array(idx.length)
  idx.forEach((k, r) => {
    x.set(feats.subarray(k * (D + 1), (k + 1) * (D + 1)), r * (D + 1))
    y[r] = (R[k] - stats.mean) / stats.std
  })
  return { x: tf.tensor2d(x, [idx.length, D + 1]), y: tf.tensor1d(y), ...stats }
}

export const disposeFit = (f: Fit): void => tf.dispose([f.x, f.y])

export const mseLoss =
  (spec: MlpSpec, f: Fit) =>
  (p: Params): tf.Scalar =>
    tf.tidy(() => tf.mean(tf.square(tf.sub(tf.reshape(mlpForward(spec, p, f.x), [-1]), f.y))) as tf.Scalar)

export const gradArrays = (spec: MlpSpec, f: Fit, p: ArrayParams): ArrayParams => {
  const t = toTensors(p)
  const g = gradients(mseLoss(spec, f))(t)
  const out = toArrays(g)
  disposeParams(g)
  disposeParams(t)
  return out
}

/** Baseline values of a batch from a network (de-standardised with `stats`), [E, T]. */
export const predictValues = (
  spec: MlpSpec,
  p: ArrayParams,
  b: EpisodeBatch,
  stats: { mean: number; std: number }
): Float32Array => {
  const feats = featuresOf(b)
  const pred = tf.tidy(() => {
    const t = toTensors(p)
    const y = mlpForward(spec, t, tf.tensor2d(feats, [b.episodes * b.horizon, b.obsDim + 1]))
    return tf.reshape(y, [-1])
  })
  const v = pred.dataSync() as Float32Array
  pred.dispose()
  return v.map((y, i) => (b.mask[i] > 0 ? stats.mean + stats.std * y : 0))
}

export interface ValueCvOptions {
  readonly hidden: ReadonlyArray<number>
  readonly lr: number
  readonly epochs: number
  readonly gamma: number
}

/** Train a fresh network on `fitOn` and predict `predictOn`. */
const fitAndPredict = (fitOn: EpisodeBatch, predictOn: EpisodeBatch, o: ValueCvOptions, rng: Rng): Float32Array => {
  const spec = valueMlp(fitOn.obsDim, o.hidden)
  const stats = targetStats(fitOn, o.gamma)
  const f = fitData(fitOn, o.gamma, stats)
  let p = initValueNet(fitOn.obsDim, o.hidden, rng)
  let s: AdamState = adamInit(p)
  for (let i = 0; i < o.epochs; i++) {
    const next = adamStep(p, gradArrays(spec, f, p), s, { lr: o.lr })
    p = next.params
    s = next.state
  }
  disposeFit(f)
  return predictValues(spec, p, predictOn, stats)
}

/**
 * Per-task value-network baselines, cross-fitted: a network trained on each half of a task's
 * episodes predicts the other half (its stream: `rngFor(task, index of the half it was fitted on)`).
 * One batch per task in, one [E, T] baseline per task out.
 */
export const fitValueBaselines = (
  batches: ReadonlyArray<EpisodeBatch>,
  o: ValueCvOptions,
  rngFor: (task: number, half: number) => Rng
): ReadonlyArray<Float32Array> =>
  batches.map((b, k) => crossFitted(b, 1, (i, own, other) => fitAndPredict(other, own, o, rngFor(k, 1 - i))))

/** Per-task value networks as a control variate (`--cv value`). */
export const valueControlVariate: ControlVariateKind = statelessControlVariate({
  name: 'value',
  description: "per-task value networks V(s, t), cross-fitted over the halves of each task's episodes",
  shape: 'per-state',
  perTask: true,
  baselines: ({ tasks, settings, rng }) =>
    E.right(
      fitValueBaselines(
        tasks.map((s) => s.batch),
        { ...settings.valueCv, gamma: settings.gamma },
        rng
      ).map(perState)
    )
})
