/**
 * Learned state-value control variates: an MLP V(s, t) on [clip(s, -10, 10), t / 100], trained on
 * standardised discounted returns-to-go. Two uses:
 *
 * - per-task value networks (`fitValueBaselines`): a fresh network per task;
 * - the meta-learned control variate of the paper's Algorithm 1 (`metaValueStep`): one meta network
 *   theta_V, adapted per task on one half of its episodes and evaluated on the other half, then the
 *   halves swap; theta_V takes first-order MAML steps (as in the authors' code: inner SGD, outer Adam).
 *
 * Both are cross-fitted: the baseline of an episode never comes from a network (or target
 * statistics) fitted on that episode, so b(s_t) does not depend on the episode's own actions.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import type { ArrayParams } from '../../graph/nn.js'
import { type Rng } from '../../base/rng.js'
import { type Params, disposeParams, gradients } from '../../graph/autodiff.js'
import { initMlpArrays, mlpForward, mlpSpec, type MlpSpec } from '../../graph/nn.js'
import { type EpisodeBatch, returnsToGo, sliceEpisodes } from '../episodes.js'
import { type AdamState, adamInit, adamStep } from '../optim/adam.js'
import { axpy } from '../optim/params.js'
import { toArrays, toTensors } from '../policy.js'

export const valueMlp = (obsDim: number, hidden: ReadonlyArray<number>): MlpSpec =>
  mlpSpec([obsDim + 1, ...hidden, 1], 'tanh', 'v')

export const initValueNet = (obsDim: number, hidden: ReadonlyArray<number>, rng: Rng): ArrayParams =>
  initMlpArrays(valueMlp(obsDim, hidden), rng)

/** Features, standardised targets and mask of a batch's valid steps. */
interface Fit {
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

/** Mean and std of the returns-to-go over valid steps. */
export const targetStats = (b: EpisodeBatch, gamma: number): { mean: number; std: number } => {
  const R = returnsToGo(b, gamma)
  let n = 0
  let s = 0
  let s2 = 0
  b.mask.forEach((m, i) => {
    if (m > 0) {
      n += 1
      s += R[i]
      s2 += R[i] * R[i]
    }
  })
  const mean = n > 0 ? s / n : 0
  const std = n > 1 ? Math.sqrt(Math.max(s2 / n - mean * mean, 0)) + 1e-6 : 1
  return { mean, std }
}

/** Training data of a batch, standardised with given statistics. */
const fitData = (b: EpisodeBatch, gamma: number, stats: { mean: number; std: number }): Fit => {
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

const disposeFit = (f: Fit): void => tf.dispose([f.x, f.y])

const mseLoss =
  (spec: MlpSpec, f: Fit) =>
  (p: Params): tf.Scalar =>
    tf.tidy(() => tf.mean(tf.square(tf.sub(tf.reshape(mlpForward(spec, p, f.x), [-1]), f.y))) as tf.Scalar)

const gradArrays = (spec: MlpSpec, f: Fit, p: ArrayParams): ArrayParams => {
  const t = toTensors(p)
  const g = gradients(mseLoss(spec, f))(t)
  const out = toArrays(g)
  disposeParams(g)
  disposeParams(t)
  return out
}

/** Baseline values of a batch from a network (de-standardised with `stats`), [E, T]. */
const predict = (
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

/** The two halves of a batch's episodes (the first gets the extra one when odd). */
const halves = (b: EpisodeBatch): readonly [EpisodeBatch, EpisodeBatch] => {
  const h = Math.ceil(b.episodes / 2)
  return [sliceEpisodes(b, 0, h), sliceEpisodes(b, h, b.episodes)]
}

const joinHalves = (b: EpisodeBatch, first: Float32Array, second: Float32Array): Float32Array => {
  const out = new Float32Array(b.episodes * b.horizon)
  out.set(first, 0)
  out.set(second, first.length)
  return out
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
  return predict(spec, p, predictOn, stats)
}

/**
 * Per-task value-network baselines, cross-fitted: a network trained on each half of a task's
 * episodes predicts the other half. One batch per task in, one [E, T] baseline per task out.
 */
export const fitValueBaselines = (
  batches: ReadonlyArray<EpisodeBatch>,
  o: ValueCvOptions,
  rngFor: (task: number, half: number) => Rng
): ReadonlyArray<Float32Array> =>
  batches.map((b, k) => {
    if (b.episodes < 2) return new Float32Array(b.episodes * b.horizon)
    const [h1, h2] = halves(b)
    return joinHalves(b, fitAndPredict(h2, h1, o, rngFor(k, 1)), fitAndPredict(h1, h2, o, rngFor(k, 0)))
  })

// ---------------------------------------------------------------------------------------------
// the meta-learned control variate (paper Algorithm 1)
// ---------------------------------------------------------------------------------------------

export interface MetaCvState {
  readonly params: ArrayParams
  readonly adam: AdamState
}

export interface MetaCvOptions {
  readonly hidden: ReadonlyArray<number>
  readonly innerLr: number
  readonly outerLr: number
  readonly epochs: number
  readonly gamma: number
}

export const initMetaCv = (obsDim: number, hidden: ReadonlyArray<number>, rng: Rng): MetaCvState => {
  const params = initValueNet(obsDim, hidden, rng)
  return { params, adam: adamInit(params) }
}

/**
 * Algorithm 1: for `epochs` rounds, for every task: adapt theta_V on one half (one SGD step),
 * take the loss's gradient on the other half at the adapted parameters, and swap; theta_V takes an
 * Adam step on the mean of those gradients (first-order MAML). Then each half's baseline comes from
 * theta_V adapted on the other half, de-standardised with the other half's target statistics.
 */
export const metaValueStep = (
  batches: ReadonlyArray<EpisodeBatch>,
  state: MetaCvState,
  o: MetaCvOptions
): { readonly state: MetaCvState; readonly baselines: ReadonlyArray<Float32Array>; readonly loss: number } => {
  const obsDim = batches[0].obsDim
  const spec = valueMlp(obsDim, o.hidden)
  const split = batches.map((b) => (b.episodes >= 2 ? halves(b) : null))
  const fits = split.map((h) =>
    h === null ? null : (([0, 1] as const).map((i) => fitData(h[i], o.gamma, targetStats(h[i], o.gamma))) as [Fit, Fit])
  )
  const adaptOn = (p: ArrayParams, f: Fit): ArrayParams => axpy(p, -o.innerLr, gradArrays(spec, f, p))
  let { params, adam } = state
  let loss = NaN
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const sum: Record<string, Float32Array> = {}
    let count = 0
    let lossSum = 0
    for (const f of fits) {
      if (f === null) continue
      for (const [a, b] of [
        [0, 1],
        [1, 0]
      ] as const) {
        const adapted = adaptOn(params, f[a])
        const g = gradArrays(spec, f[b], adapted)
        for (const k of Object.keys(g)) {
          const acc = (sum[k] ??= new Float32Array(g[k].values.length))
          g[k].values.forEach((v, i) => (acc[i] += v))
        }
        const l = tf.tidy(() => mseLoss(spec, f[b])(toTensors(adapted)))
        lossSum += l.dataSync()[0]
        l.dispose()
        count += 1
      }
    }
    if (count === 0) break
    const grad = Object.fromEntries(
      Object.keys(sum).map((k) => [k, { shape: params[k].shape, values: sum[k].map((v) => v / count) }])
    )
    const next = adamStep(params, grad, adam, { lr: o.outerLr })
    params = next.params
    adam = next.state
    loss = lossSum / count
  }
  const baselines = batches.map((b, k) => {
    const f = fits[k]
    const h = split[k]
    if (f === null || h === null) return new Float32Array(b.episodes * b.horizon)
    const first = predict(spec, adaptOn(params, f[1]), h[0], { mean: f[1].mean, std: f[1].std })
    const second = predict(spec, adaptOn(params, f[0]), h[1], { mean: f[0].mean, std: f[0].std })
    return joinHalves(b, first, second)
  })
  fits.forEach((f) => f?.forEach(disposeFit))
  return { state: { params, adam }, baselines, loss }
}
