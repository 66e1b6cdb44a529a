/**
 * Differentiable primitives that stock tfjs lacks or gets wrong at higher order.
 *
 * @example
 * const logp = tf.scalar(-0.3)
 * magicBox(logp)          // value 1, d/dlogp = 1, d2/dlogp2 = 1, ... at every order
 * stopGradient(x)         // value x, derivative 0
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import { StopGradient } from './kernels/names.js'

/** `x` in the forward pass, zero derivative at every order (one kernel, no copy). */
export const stopGradient = <T extends tf.Tensor>(x: T): T => tf.engine().runKernel(StopGradient, { x }) as T

/**
 * The DiCE "magic box" of Foerster et al. 2018 (arXiv:1802.05098): box(x) = exp(x - stop(x)).
 * Its value is 1 and its derivative is box(x) dx, so multiplying a cost by box(sum of log-probs)
 * makes every order of derivative a score-function estimate.
 */
export const magicBox = <T extends tf.Tensor>(x: T): T => tf.exp(tf.sub(x, stopGradient(x))) as T

/**
 * log(sum(exp(x))) along `axis`, stabilised by the maximum. The shift is held constant
 * (stopGradient): logsumexp is shift-invariant, so this is exact at every order and avoids the
 * Max gradient altogether.
 */
export const logSumExp = (x: tf.Tensor, axis = -1, keepDims = false): tf.Tensor =>
  tf.tidy(() => {
    const m = stopGradient(tf.max(x, axis, true))
    const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(x, m)), axis, true)), m)
    return keepDims ? lse : tf.squeeze(lse, [axis < 0 ? axis + x.rank : axis])
  })

/**
 * log softmax along `axis`, as x - logSumExp(x). tf.logSoftmax is a customGrad that saves its
 * output and so is wrong at second order; use this instead.
 */
export const logSoftmax = (x: tf.Tensor, axis = -1): tf.Tensor => tf.tidy(() => tf.sub(x, logSumExp(x, axis, true)))
