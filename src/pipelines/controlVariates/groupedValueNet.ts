/**
 * Value networks for many groups at once. A group is one network with its own training data — in
 * the control variates here, one half of one task's episodes. Parameters are stacked along a
 * leading group axis (W_l [G, in, out], b_l [G, out]) and data padded to a common row count
 * ([G, N, obsDim + 1], a weight of 0 on padding), so a gradient of every group's loss is one batched
 * graph instead of G small ones (at 40 tasks the meta-learned CV ran 3 graphs per network per round,
 * 240 a round; the per-task value networks 80 x 20 Adam steps).
 *
 * The batched loss is the sum over groups of each group's own mean squared error; group g's slice of
 * its gradient with respect to the stacked parameters is the gradient of group g's loss alone, and
 * Adam (elementwise) on stacked parameters is each group's Adam. So a grouped fit computes what G
 * separate fits compute, up to float32 rounding of the reductions
 * (test/pipelines/groupedValueNet.test.ts compares them).
 *
 * @example
 * const data = groupedData(fits, obsDim + 1)               // one FitArrays per group
 * const { grads } = groupedGradArrays(spec, data, tileArrays(theta, data.groups))
 * const adapted = axpy(tileArrays(theta, data.groups), -lr, grads) // one SGD step per group
 * disposeGrouped(data)
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import { valueAndGrads, type Params } from '../../graph/autodiff.js'
import { type ArrayParams, type MlpSpec, batchedMlpForward, mlpForward } from '../../graph/nn.js'
import { keysOf } from '../optim/params.js'
import { toArrays, toTensors } from '../policy.js'
import type { FitArrays } from './valueNet.js'

// ---------------------------------------------------------------------------------------------
// stacked parameters
// ---------------------------------------------------------------------------------------------

/** Parameter sets of one shape stacked along a new leading group axis. */
export const stackArrays = (ps: ReadonlyArray<ArrayParams>): ArrayParams =>
  Object.fromEntries(
    keysOf(ps[0]).map((k) => {
      const n = ps[0][k].values.length
      const values = new Float32Array(ps.length * n)
      ps.forEach((p, g) => values.set(p[k].values, g * n))
      return [k, { shape: [ps.length, ...ps[0][k].shape], values }]
    })
  )

/** One parameter set repeated for `groups` groups. */
export const tileArrays = (p: ArrayParams, groups: number): ArrayParams =>
  stackArrays(Array.from({ length: groups }, () => p))

/** The mean over the group axis of stacked parameters (or gradients), in group order. */
export const meanOverGroups = (p: ArrayParams): ArrayParams =>
  Object.fromEntries(
    keysOf(p).map((k) => {
      const [G, ...shape] = p[k].shape
      const n = p[k].values.length / G
      const sum = new Float32Array(n)
      for (let g = 0; g < G; g++) {
        const v = p[k].values.subarray(g * n, (g + 1) * n)
        for (let i = 0; i < n; i++) sum[i] += v[i]
      }
      return [k, { shape, values: sum.map((v) => v / G) }]
    })
  )

/** Group g's parameters from stacked ones. */
export const groupArrays = (p: ArrayParams, g: number): ArrayParams =>
  Object.fromEntries(
    keysOf(p).map((k) => {
      const [G, ...shape] = p[k].shape
      const n = p[k].values.length / G
      return [k, { shape, values: p[k].values.slice(g * n, (g + 1) * n) }]
    })
  )

// ---------------------------------------------------------------------------------------------
// data
// ---------------------------------------------------------------------------------------------

/**
 * Whether this backend runs a [G, N, in] x [G, in, out] BatchMatMul slower than G MatMuls of the same
 * sizes: tfjs-wasm (the meta-learned control variate's fit 2x slower batched) and the plain JS cpu
 * backend (1.15x) — measured with this module's stacked layout on every backend against one network at
 * a time, the comparison `npm run bench:cv` makes. There grouped data keep one small graph per group
 * (`'per-group'`); each group's numbers still depend on its own data only.
 */
const batchedIsSlow = (): boolean => ['wasm', 'cpu'].includes(tf.getBackend())

/**
 * G groups' training data: padded to a common row count N and stacked (`'stacked'`: x [G, N, inputDim],
 * y and w [G, N], w = 1 / rows_g on group g's rows and 0 on padding, so the sum of w (f - y)^2 over a
 * group is its mean), or kept per group (`'per-group'`, on backends where that is faster).
 */
export type GroupedData =
  | {
      readonly _tag: 'stacked'
      readonly groups: number
      readonly rows: number
      readonly x: tf.Tensor3D
      readonly y: tf.Tensor2D
      readonly w: tf.Tensor2D
    }
  | {
      readonly _tag: 'per-group'
      readonly groups: number
      readonly xs: ReadonlyArray<tf.Tensor2D>
      readonly ys: ReadonlyArray<tf.Tensor1D>
    }

/** Inputs [rows, inputDim] of each group padded to [G, N, inputDim] (zeros below a group's rows). */
const padInputs = (xs: ReadonlyArray<{ readonly x: Float32Array; readonly rows: number }>, inputDim: number) => {
  const N = Math.max(1, ...xs.map((f) => f.rows))
  const x = new Float32Array(xs.length * N * inputDim)
  xs.forEach((f, g) => x.set(f.x.subarray(0, f.rows * inputDim), g * N * inputDim))
  return { N, x: tf.tensor3d(x, [xs.length, N, inputDim]) }
}

export const groupedData = (fits: ReadonlyArray<FitArrays>, inputDim: number): GroupedData => {
  if (batchedIsSlow())
    return {
      _tag: 'per-group',
      groups: fits.length,
      xs: fits.map((f) => tf.tensor2d(f.x, [f.rows, inputDim])),
      ys: fits.map((f) => tf.tensor1d(f.y))
    }
  const { N, x } = padInputs(fits, inputDim)
  const y = new Float32Array(fits.length * N)
  const w = new Float32Array(fits.length * N)
  fits.forEach((f, g) => {
    y.set(f.y, g * N)
    if (f.rows > 0) w.fill(1 / f.rows, g * N, g * N + f.rows)
  })
  return {
    _tag: 'stacked',
    groups: fits.length,
    rows: N,
    x,
    y: tf.tensor2d(y, [fits.length, N]),
    w: tf.tensor2d(w, [fits.length, N])
  }
}

export const disposeGrouped = (d: GroupedData): void =>
  d._tag === 'stacked' ? tf.dispose([d.x, d.y, d.w]) : tf.dispose([...d.xs, ...d.ys])

// ---------------------------------------------------------------------------------------------
// loss, gradients, predictions
// ---------------------------------------------------------------------------------------------

/** The sum over groups of each group's mean squared error, at stacked parameters (stacked data). */
const stackedMseLoss =
  (spec: MlpSpec, d: Extract<GroupedData, { _tag: 'stacked' }>) =>
  (p: Params): tf.Scalar =>
    tf.tidy(() => {
      const pred = tf.reshape(batchedMlpForward(spec, p, d.x), [d.groups, d.rows])
      return tf.sum(tf.mul(d.w, tf.square(tf.sub(pred, d.y)))) as tf.Scalar
    })

/** One network's mean squared error on one group's data. */
const mseLoss =
  (spec: MlpSpec, x: tf.Tensor2D, y: tf.Tensor1D) =>
  (p: Params): tf.Scalar =>
    tf.tidy(() => tf.mean(tf.square(tf.sub(tf.reshape(mlpForward(spec, p, x), [-1]), y))) as tf.Scalar)

/** Value and gradient of `loss` at `p`, as arrays. */
const gradOf = (
  loss: (p: Params) => tf.Scalar,
  p: ArrayParams
): { readonly grads: ArrayParams; readonly value: number } => {
  const t = toTensors(p)
  const { value, grads } = valueAndGrads(loss)(t)
  const out = { grads: toArrays(grads), value: value.dataSync()[0] }
  tf.dispose([value, ...Object.values(grads), ...Object.values(t)])
  return out
}

/** Each group's gradient of its own loss at stacked parameters `p`, and the mean of the groups' losses. */
export const groupedGradArrays = (
  spec: MlpSpec,
  d: GroupedData,
  p: ArrayParams
): { readonly grads: ArrayParams; readonly meanLoss: number } => {
  if (d._tag === 'stacked') {
    const r = gradOf(stackedMseLoss(spec, d), p)
    return { grads: r.grads, meanLoss: r.value / d.groups }
  }
  const each = d.xs.map((x, g) => gradOf(mseLoss(spec, x, d.ys[g]), groupArrays(p, g)))
  return {
    grads: stackArrays(each.map((e) => e.grads)),
    meanLoss: each.reduce((a, e) => a + e.value, 0) / d.groups
  }
}

/**
 * Group g's network (stacked parameters `p`) applied to group g's inputs: the network's outputs on
 * inputs[g]'s `rows` rows (standardised units, as trained).
 */
export const groupedPredict = (
  spec: MlpSpec,
  p: ArrayParams,
  inputs: ReadonlyArray<{ readonly x: Float32Array; readonly rows: number }>,
  inputDim: number
): ReadonlyArray<Float32Array> => {
  if (batchedIsSlow())
    return inputs.map((f, g) => {
      const pred = tf.tidy(() =>
        tf.reshape(mlpForward(spec, toTensors(groupArrays(p, g)), tf.tensor2d(f.x, [f.rows, inputDim])), [-1])
      )
      const v = Float32Array.from(pred.dataSync() as Float32Array)
      pred.dispose()
      return v
    })
  const { N, x } = padInputs(inputs, inputDim)
  const pred = tf.tidy(() => tf.reshape(batchedMlpForward(spec, toTensors(p), x), [inputs.length, N]))
  const v = pred.dataSync() as Float32Array
  tf.dispose([pred, x])
  return inputs.map((f, g) => v.slice(g * N, g * N + f.rows))
}
