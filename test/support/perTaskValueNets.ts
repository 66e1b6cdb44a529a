// The value-network control variates fitted one network at a time (one small graph per network):
// the reference that the grouped fits of src/pipelines/controlVariates are compared with
// (test/pipelines/groupedValueNet.test.ts). Same algorithms, written the direct way.
import * as tf from '@tensorflow/tfjs-core'
import type { Rng } from '../../src/base/rng.js'
import { disposeParams, gradients, type Params } from '../../src/graph/autodiff.js'
import { type ArrayParams, type MlpSpec, mlpForward } from '../../src/graph/nn.js'
import { crossFitted, halves } from '../../src/pipelines/controlVariates/controlVariate.js'
import type { MetaCvOptions, MetaCvState } from '../../src/pipelines/controlVariates/metaValue.js'
import {
  type FitArrays,
  type ValueCvOptions,
  destandardised,
  featuresOf,
  fitArrays,
  initValueNet,
  valueMlp
} from '../../src/pipelines/controlVariates/valueNet.js'
import { type EpisodeBatch, targetStats } from '../../src/pipelines/episodes.js'
import { adamInit, adamStep } from '../../src/pipelines/optim/adam.js'
import { axpy } from '../../src/pipelines/optim/params.js'
import { toArrays, toTensors } from '../../src/pipelines/policy.js'

const mse = (spec: MlpSpec, f: FitArrays, inputDim: number) => (p: Params) =>
  tf.tidy(() => {
    const x = tf.tensor2d(f.x, [f.rows, inputDim])
    return tf.mean(tf.square(tf.sub(tf.reshape(mlpForward(spec, p, x), [-1]), tf.tensor1d(f.y)))) as tf.Scalar
  })

const grad = (spec: MlpSpec, f: FitArrays, inputDim: number, p: ArrayParams): ArrayParams => {
  const t = toTensors(p)
  const g = gradients(mse(spec, f, inputDim))(t)
  const out = toArrays(g)
  disposeParams(g)
  disposeParams(t)
  return out
}

const lossAt = (spec: MlpSpec, f: FitArrays, inputDim: number, p: ArrayParams): number => {
  const t = toTensors(p)
  const l = mse(spec, f, inputDim)(t)
  const v = l.dataSync()[0]
  l.dispose()
  disposeParams(t)
  return v
}

const predict = (spec: MlpSpec, p: ArrayParams, b: EpisodeBatch, stats: FitArrays): Float32Array => {
  const pred = tf.tidy(() =>
    tf.reshape(mlpForward(spec, toTensors(p), tf.tensor2d(featuresOf(b), [b.episodes * b.horizon, b.obsDim + 1])), [-1])
  )
  const v = pred.dataSync() as Float32Array
  pred.dispose()
  return destandardised(v, b, stats)
}

/** `fitValueBaselines`, one network per (task, half). */
export const perTaskValueBaselines = (
  batches: ReadonlyArray<EpisodeBatch>,
  o: ValueCvOptions,
  rngFor: (task: number, half: number) => Rng
): ReadonlyArray<Float32Array> =>
  batches.map((b, k) =>
    crossFitted(b, 1, (i, own, other) => {
      const D = b.obsDim
      const spec = valueMlp(D, o.hidden)
      const f = fitArrays(other, o.gamma, targetStats(other, o.gamma))
      let p = initValueNet(D, o.hidden, rngFor(k, 1 - i))
      let s = adamInit(p)
      for (let e = 0; e < o.epochs; e++) {
        const next = adamStep(p, grad(spec, f, D + 1, p), s, { lr: o.lr })
        p = next.params
        s = next.state
      }
      return predict(spec, p, own, f)
    })
  )

/** `metaValueStep` (Algorithm 1), task by task and half by half. */
export const perTaskMetaValueStep = (
  batches: ReadonlyArray<EpisodeBatch>,
  state: MetaCvState,
  o: MetaCvOptions
): { readonly state: MetaCvState; readonly baselines: ReadonlyArray<Float32Array>; readonly loss: number } => {
  const D = batches[0].obsDim
  const spec = valueMlp(D, o.hidden)
  const fits = batches.map((b) =>
    b.episodes < 2 ? null : halves(b).map((h) => fitArrays(h, o.gamma, targetStats(h, o.gamma)))
  )
  const adaptOn = (p: ArrayParams, f: FitArrays) => axpy(p, -o.innerLr, grad(spec, f, D + 1, p))
  let { params, adam } = state
  let loss = NaN
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const sum: Record<string, Float32Array> = {}
    let count = 0
    let lossSum = 0
    for (const f of fits) {
      if (f === null) continue
      for (const a of [0, 1]) {
        const adapted = adaptOn(params, f[a])
        const g = grad(spec, f[1 - a], D + 1, adapted)
        for (const key of Object.keys(g)) {
          const acc = (sum[key] ??= new Float32Array(g[key].values.length))
          g[key].values.forEach((v, i) => (acc[i] += v))
        }
        lossSum += lossAt(spec, f[1 - a], D + 1, adapted)
        count += 1
      }
    }
    if (count === 0) break
    const mean = Object.fromEntries(
      Object.keys(sum).map((key) => [key, { shape: params[key].shape, values: sum[key].map((v) => v / count) }])
    )
    const next = adamStep(params, mean, adam, { lr: o.outerLr })
    params = next.params
    adam = next.state
    loss = lossSum / count
  }
  const final = params
  const baselines = batches.map((b, k) =>
    crossFitted(b, 1, (i, own) => {
      const other = (fits[k] as FitArrays[])[1 - i]
      return predict(spec, adaptOn(final, other), own, other)
    })
  )
  return { state: { params, adam }, baselines, loss }
}
