/**
 * Checking k-th derivatives against finite differences, in float32.
 *
 * For f: (x_1..x_m) -> scalar, a point x and a direction u, let phi(e) = f(x + e u). Autodiff gives
 * phi^(k)(0) by differentiating k times with respect to the scalar e — which runs the full reverse
 * pass through every op of f, nested k deep. The reference is a central difference of the autodiff
 * (k-1)-th derivative, Richardson-extrapolated:
 *
 *   D(h) = (phi^(k-1)(h) - phi^(k-1)(-h)) / 2h,   R = (4 D(h/2) - D(h)) / 3   (error O(h^4)).
 *
 * A wrong k-th order gradient rule with correct lower orders (the stock-tfjs defect) shows up as a
 * mismatch at order k.
 *
 * Functions with stop-gradients (the DiCE magic box) are not differentiated as functions of their
 * value: their derivatives are those of the function with every stopped sub-expression frozen at
 * the base point. For them pass `reference`: the same function with the stopped parts replaced by
 * constants computed at x; finite differences are then taken of the reference.
 *
 * Tolerance, for float32: evaluating phi^(k-1) carries a relative rounding error of a few ulps of the
 * largest intermediate term (eps = 1.2e-7), amplified by 1/h in the difference: with h = 1e-2 and
 * O(1)-O(10) intermediates that is ~1e-5..1e-4 absolute; the O(h^4) truncation is ~1e-8 times the
 * (k+4)-th derivative. `atol = rtol = 2e-3` leaves an order of magnitude of margin over both while an
 * actual rule error (a missing term) is O(1).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import { gradients } from './autodiff.js'

/** A scalar function of several tensors: the function under test. */
export type MultiFn = (xs: ReadonlyArray<tf.Tensor>) => tf.Scalar

export interface DerivativeCheck {
  readonly order: number
  readonly autodiff: number
  readonly finiteDifference: number
  /** |autodiff - fd| / (atol + rtol * max(|autodiff|, |fd|)); <= 1 passes. */
  readonly errorRatio: number
  readonly ok: boolean
}

export interface CheckOptions {
  /** The function whose finite differences are the reference (default: `f` itself). */
  readonly reference?: MultiFn
  readonly h?: number
  readonly atol?: number
  readonly rtol?: number
}

/** phi^(order)(e) for phi(e) = f(x + e u), by nested reverse-mode differentiation in e. */
export const directionalDerivative = (
  f: MultiFn,
  xs: ReadonlyArray<tf.Tensor>,
  us: ReadonlyArray<tf.Tensor>,
  order: number,
  e: number
): number => {
  if (xs.length !== us.length) throw new Error('directionalDerivative: one direction per input')
  const phi = (eps: tf.Tensor): tf.Scalar => f(xs.map((x, i) => tf.add(x, tf.mul(us[i], eps))))
  let g: (eps: tf.Tensor) => tf.Scalar = phi
  for (let k = 0; k < order; k++) {
    const prev = g
    g = (eps) => gradients((p) => prev(p['e']))({ e: eps })['e'] as tf.Scalar
  }
  return tf.tidy(() => g(tf.scalar(e))).dataSync()[0] as number
}

/** Compare the autodiff `order`-th directional derivative at e = 0 with finite differences. */
export const checkDirectionalDerivative = (
  f: MultiFn,
  xs: ReadonlyArray<tf.Tensor>,
  us: ReadonlyArray<tf.Tensor>,
  order: number,
  opts: CheckOptions = {}
): DerivativeCheck => {
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`order must be a positive integer, got ${order}`)
  const h = opts.h ?? 1e-2
  const atol = opts.atol ?? 2e-3
  const rtol = opts.rtol ?? 2e-3
  const lower = (e: number): number => directionalDerivative(opts.reference ?? f, xs, us, order - 1, e)
  const central = (step: number): number => (lower(step) - lower(-step)) / (2 * step)
  const fd = (4 * central(h / 2) - central(h)) / 3
  const ad = directionalDerivative(f, xs, us, order, 0)
  const errorRatio = Math.abs(ad - fd) / (atol + rtol * Math.max(Math.abs(ad), Math.abs(fd)))
  return { order, autodiff: ad, finiteDifference: fd, errorRatio, ok: Number.isFinite(errorRatio) && errorRatio <= 1 }
}
