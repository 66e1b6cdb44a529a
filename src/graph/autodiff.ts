/**
 * Gradients of scalar functions of a parameter set, Hessian-vector products, and gradients through
 * inner gradient steps (MAML). These helpers are correct at every order because the gradient layer
 * (kernels/registerAll.ts) is; they also fix a tfjs quirk: a gradient with respect to a tensor the
 * function does not depend on throws in tfjs, whereas the right answer is zero.
 *
 * @example
 * const f = (p: Params) => tf.sum(tf.square(p.w))
 * const { value, grads } = valueAndGrads(f)({ w: tf.tensor1d([1, 2]) }) // grads.w = [2, 4]
 * const hv = hessianVectorProduct(f)({ w }, { w: tf.tensor1d([1, 0]) })  // [2, 0]
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'

/** A named set of tensors: policy or value-function parameters, gradients, directions. */
export type Params = Readonly<Record<string, tf.Tensor>>

/** A scalar objective of a parameter set. */
export type Objective = (params: Params) => tf.Scalar

/** The value of an objective and its gradient with respect to every tensor of the parameter set. */
export interface ValueAndGrads {
  readonly value: tf.Scalar
  readonly grads: Params
}

const keysOf = (p: Params): ReadonlyArray<string> => Object.keys(p)

/** Apply `f` to every tensor of a parameter set (same keys). */
export const mapParams = (p: Params, f: (t: tf.Tensor, name: string) => tf.Tensor): Params =>
  Object.fromEntries(keysOf(p).map((k) => [k, f(p[k], k)]))

/** Combine two parameter sets with the same keys. */
export const zipParams = (a: Params, b: Params, f: (x: tf.Tensor, y: tf.Tensor, name: string) => tf.Tensor): Params =>
  Object.fromEntries(
    keysOf(a).map((k) => {
      const y = b[k]
      if (y === undefined) throw new Error(`zipParams: parameter '${k}' missing from the second set`)
      return [k, f(a[k], y, k)]
    })
  )

/** Sum over all parameters of <a_k, b_k>: a scalar. */
export const dotParams = (a: Params, b: Params): tf.Scalar =>
  tf.tidy(() => keysOf(a).reduce<tf.Scalar>((acc, k) => tf.add(acc, tf.sum(tf.mul(a[k], b[k]))), tf.scalar(0)))

/** Dispose every tensor of a parameter set. */
export const disposeParams = (p: Params): void => keysOf(p).forEach((k) => p[k].dispose())

/**
 * Value and gradient of `f` at `params`. Tensors `f` does not depend on get a zero gradient (tfjs
 * would throw). Called inside another differentiation, the gradient computation is itself recorded,
 * so it can be differentiated again.
 */
export const valueAndGrads =
  (f: Objective) =>
  (params: Params): ValueAndGrads => {
    const names = keysOf(params)
    const xs = names.map((k) => params[k])
    const { value, grads } = tf.engine().gradients(() => f(params), xs, undefined, true)
    if (value.rank !== 0)
      throw new Error(`valueAndGrads: the objective must return a scalar, got shape [${value.shape}]`)
    return {
      value: value as tf.Scalar,
      grads: Object.fromEntries(names.map((k, i) => [k, (grads[i] as tf.Tensor | undefined) ?? tf.zeros(xs[i].shape)]))
    }
  }

/** Gradient of `f` at `params` (the value is disposed). */
export const gradients =
  (f: Objective) =>
  (params: Params): Params => {
    const { value, grads } = valueAndGrads(f)(params)
    value.dispose()
    return grads
  }

/**
 * Hessian-vector product H(params) v of `f`, as the gradient of <grad f, v> (double backward). Keys
 * of `v` must match those of `params`. Zero where the gradient does not depend on a parameter.
 */
export const hessianVectorProduct =
  (f: Objective) =>
  (params: Params, v: Params): Params =>
    gradients((p) => tf.tidy(() => dotParams(gradients(f)(p), v)))(params)

/** Step sizes: one for all parameters, or per parameter name (missing names are not moved). */
export type StepSize = number | Readonly<Record<string, number>>

/**
 * theta + alpha * direction, per tensor: the one definition of a parameter step. Called under an
 * outer differentiation with `direction` computed from `params` (a gradient), the result stays a
 * function of `params` whose Jacobian includes alpha times the Hessian, which is what makes the MAML
 * meta-gradient exact (the adaptation loop is `adaptedParams` in src/estimators/maml.ts).
 */
export const gradientStep = (params: Params, direction: Params, alpha: StepSize): Params =>
  zipParams(params, direction, (x, d, k) => tf.add(x, tf.mul(d, typeof alpha === 'number' ? alpha : (alpha[k] ?? 0))))
