/**
 * Log-densities and divergences of the distributions stochastic nodes use. Pure tensor functions,
 * differentiable at every order (they use only kernels of the gradient layer).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import { logSoftmax } from './ops.js'

const LOG_2PI = Math.log(2 * Math.PI)

/**
 * log N(x; mean, diag(exp(logStd))^2) summed over the last axis.
 * mean, x: [..., d]; logStd: [d] or [..., d]. Returns [...].
 */
export const diagGaussianLogProb = (mean: tf.Tensor, logStd: tf.Tensor, x: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const d = mean.shape[mean.rank - 1]
    const z = tf.div(tf.sub(x, mean), tf.exp(logStd)) // [..., d]
    const perDim = tf.add(tf.mul(tf.square(z), 0.5), logStd) // [..., d]
    return tf.sub(tf.neg(tf.sum(perDim, -1)), 0.5 * d * LOG_2PI)
  })

/**
 * KL(p || q) for diagonal Gaussians p = N(m1, s1^2), q = N(m2, s2^2), summed over the last axis.
 * Returns [...].
 */
export const diagGaussianKl = (m1: tf.Tensor, logStd1: tf.Tensor, m2: tf.Tensor, logStd2: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const var1 = tf.exp(tf.mul(logStd1, 2))
    const var2 = tf.exp(tf.mul(logStd2, 2))
    const num = tf.add(var1, tf.square(tf.sub(m1, m2)))
    const perDim = tf.sub(tf.add(tf.sub(logStd2, logStd1), tf.div(num, tf.mul(var2, 2))), 0.5)
    return tf.sum(perDim, -1)
  })

/** log softmax(logits)[action]: logits [..., k], actions int32 [...]. Returns [...]. */
export const categoricalLogProb = (logits: tf.Tensor, actions: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const k = logits.shape[logits.rank - 1]
    const oneHot = tf.oneHot(tf.cast(actions, 'int32') as tf.Tensor1D, k) // [..., k]
    return tf.sum(tf.mul(logSoftmax(logits, -1), oneHot), -1)
  })
