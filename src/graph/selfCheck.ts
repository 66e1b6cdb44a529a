/**
 * A start-up self-check of the autodiff engine on the active backend: second and third derivatives
 * of the primitives every estimator rests on (tanh of a square, exp, log, the magic box) and one
 * MAML meta-gradient, each against finite differences. `tmaml doctor` runs it; so can user code.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import { type Params, gradientStep, gradients, valueAndGrads } from './autodiff.js'
import { type MultiFn, checkDirectionalDerivative } from './derivativeCheck.js'
import { magicBox } from './ops.js'

export interface SelfCheckResult {
  readonly name: string
  readonly order: number
  readonly autodiff: number
  readonly reference: number
  readonly ok: boolean
}

const x0 = [0.4, -0.7, 1.1]
const u0 = [1, 0.5, -0.8]

const directional = (
  name: string,
  f: MultiFn,
  orders: ReadonlyArray<number>,
  frozen?: (at: tf.Tensor) => MultiFn
): ReadonlyArray<SelfCheckResult> => {
  const x = tf.tensor1d(x0)
  const u = tf.tensor1d(u0)
  const results = orders.map((order): SelfCheckResult => {
    const c = checkDirectionalDerivative(f, [x], [u], order, { reference: frozen?.(x) })
    return { name, order, autodiff: c.autodiff, reference: c.finiteDifference, ok: c.ok }
  })
  tf.dispose([x, u])
  return results
}

/**
 * The MAML meta-gradient of a two-parameter problem with closed-form adaptation, against central
 * differences of the post-adaptation objective (the largest coordinate's relative error is reported).
 */
const mamlCheck = (): SelfCheckResult => {
  const inner = (p: Params) => tf.sum(tf.mul(tf.tanh(p['w']), tf.tensor1d([1, -2]))) as tf.Scalar
  const outer = (p: Params) => tf.sum(tf.exp(tf.mul(p['w'], tf.tensor1d([0.5, 0.3])))) as tf.Scalar
  const alpha = 0.3
  const w = tf.tensor1d([0.2, -0.4])
  const ad = tf
    .tidy(() => valueAndGrads((p) => outer(gradientStep(p, gradients(inner)(p), alpha)))({ w }).grads['w'])
    .dataSync()
  const post = (v: Float32Array): number =>
    tf.tidy(() => {
      const p = { w: tf.tensor1d(v) }
      const g = gradients(inner)(p)['w']
      return outer({ w: tf.add(p.w, tf.mul(g, alpha)) }).dataSync()[0]
    })
  const base = w.dataSync() as Float32Array
  const fd = Array.from(base, (_, i) => {
    const at = (d: number) => {
      const v = Float32Array.from(base)
      v[i] += d
      return post(v)
    }
    const c = (h: number) => (at(h) - at(-h)) / (2 * h)
    return (4 * c(5e-3) - c(1e-2)) / 3
  })
  const errs = fd.map((v, i) => Math.abs(ad[i] - v) / (2e-3 * (1 + Math.abs(v))))
  const worst = errs.indexOf(Math.max(...errs))
  w.dispose()
  return { name: 'MAML meta-gradient', order: 2, autodiff: ad[worst], reference: fd[worst], ok: errs[worst] <= 1 }
}

/** Run every check on the active backend. */
export const runSelfCheck = (): ReadonlyArray<SelfCheckResult> => [
  ...directional('tanh(x^2)', ([x]) => tf.sum(tf.tanh(tf.square(x))), [1, 2, 3]),
  ...directional('exp', ([x]) => tf.sum(tf.exp(x)), [2, 3]),
  ...directional('log', ([x]) => tf.sum(tf.log(tf.add(tf.square(x), 0.5))), [2, 3]),
  ...directional(
    'magic box',
    ([x]) => tf.sum(tf.mul(magicBox(tf.mul(tf.square(x), -0.5)), tf.add(x, 3))),
    [1, 2, 3],
    (at) =>
      ([x]) =>
        tf.sum(tf.mul(tf.exp(tf.mul(tf.sub(tf.square(x), tf.square(at)), -0.5)), tf.add(x, 3)))
  ),
  mamlCheck()
]
