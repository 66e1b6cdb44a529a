// Gradients of element-wise unary kernels. Every one saves its INPUT and recomputes what it needs
// from it: a gradient that reuses the kernel's output is recorded on the tape before that output's
// producer, so a second differentiation never reaches x (../../../DESIGN.md, "Autodiff engine").
import * as tf from '@tensorflow/tfjs-core'
import { StopGradient } from './names.js'

type Grad = (dy: tf.Tensor, x: tf.Tensor, attrs: tf.NamedAttrMap) => tf.Tensor

const unary = (kernelName: string, grad: Grad): tf.GradConfig => ({
  kernelName,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => ({ x: () => grad(dy as tf.Tensor, saved[0], attrs) })
})

/** A zero gradient, always float32 (tfjs requires float32 gradients even for bool/int inputs). */
export const zeroGrad = (x: tf.Tensor): tf.Tensor => tf.zeros(x.shape)

const isPositive = (x: tf.Tensor): tf.Tensor => tf.cast(tf.greater(x, 0), 'float32')

export const elementwiseGrads: ReadonlyArray<tf.GradConfig> = [
  unary(tf.Exp, (dy, x) => tf.mul(dy, tf.exp(x))),
  unary(tf.Expm1, (dy, x) => tf.mul(dy, tf.exp(x))),
  unary(tf.Log, (dy, x) => tf.div(dy, x)),
  unary(tf.Log1p, (dy, x) => tf.div(dy, tf.add(x, 1))),
  unary(tf.Tanh, (dy, x) => tf.mul(dy, tf.sub(1, tf.square(tf.tanh(x))))),
  unary(tf.Sigmoid, (dy, x) => {
    const s = tf.sigmoid(x)
    return tf.mul(dy, tf.mul(s, tf.sub(1, s)))
  }),
  unary(tf.Softplus, (dy, x) => tf.mul(dy, tf.sigmoid(x))),
  unary(tf.Sqrt, (dy, x) => tf.div(dy, tf.mul(tf.sqrt(x), 2))),
  unary(tf.Rsqrt, (dy, x) => tf.mul(dy, tf.div(tf.rsqrt(x), tf.mul(x, -2)))),
  unary(tf.Square, (dy, x) => tf.mul(dy, tf.mul(x, 2))),
  unary(tf.Reciprocal, (dy, x) => tf.neg(tf.div(dy, tf.square(x)))),
  unary(tf.Neg, (dy) => tf.neg(dy)),
  unary(tf.Abs, (dy, x) => tf.mul(dy, tf.sign(x))),
  unary(tf.Sin, (dy, x) => tf.mul(dy, tf.cos(x))),
  unary(tf.Cos, (dy, x) => tf.neg(tf.mul(dy, tf.sin(x)))),
  // d erf(x)/dx = 2/sqrt(pi) exp(-x^2)
  unary(tf.Erf, (dy, x) => tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)))),
  unary(tf.Relu, (dy, x) => tf.mul(dy, isPositive(x))),
  unary(tf.LeakyRelu, (dy, x, attrs) => {
    const alpha = attrs['alpha'] as number
    return tf.mul(dy, tf.add(tf.mul(isPositive(x), 1 - alpha), alpha))
  }),
  // exp of min(x, 0): the branch that is not selected must stay finite, or 0 * inf = NaN.
  unary(tf.Elu, (dy, x) => tf.where(tf.greater(x, 0), dy, tf.mul(dy, tf.exp(tf.minimum(x, 0))))),
  unary(tf.ClipByValue, (dy, x, attrs) => {
    const lo = attrs['clipValueMin'] as number
    const hi = attrs['clipValueMax'] as number
    const inside = tf.logicalAnd(tf.greaterEqual(x, lo), tf.lessEqual(x, hi))
    return tf.mul(dy, tf.cast(inside, 'float32'))
  }),
  // A new tensor object, never dy itself: the engine disposes gradients it accumulates into.
  unary(tf.Identity, (dy) => tf.clone(dy)),
  // Casting back to float32: integer and bool inputs are not on a differentiable path anyway.
  unary(tf.Cast, (dy) => tf.cast(dy, 'float32')),
  // Piecewise-constant kernels: zero almost everywhere.
  ...[tf.Sign, tf.Floor, tf.Ceil, tf.Round, tf.IsNan, tf.IsInf, tf.IsFinite, tf.LogicalNot, tf.ArgMax, tf.ArgMin].map(
    (k) => unary(k, (_dy, x) => zeroGrad(x))
  ),
  unary(StopGradient, (_dy, x) => zeroGrad(x))
]
