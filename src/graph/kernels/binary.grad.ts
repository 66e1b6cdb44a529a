// Gradients of broadcasting binary kernels (inputs a, b). Both inputs are saved; each gradient is
// reduced back to its input's shape with `unbroadcast`.
import * as tf from '@tensorflow/tfjs-core'
import { zeroGrad } from './elementwise.grad.js'
import { unbroadcast } from './unbroadcast.js'

type Grads = (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => readonly [tf.Tensor, tf.Tensor]

const binary = (kernelName: string, grads: Grads): tf.GradConfig => ({
  kernelName,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => {
    const [a, b] = saved
    // Each thunk is called only for inputs on the differentiated path; compute lazily per input.
    return {
      a: () => unbroadcast(grads(dy as tf.Tensor, a, b)[0], a.shape),
      b: () => unbroadcast(grads(dy as tf.Tensor, a, b)[1], b.shape)
    }
  }
})

/** A binary kernel whose gradients need only `dy` (no recomputation): avoids evaluating both sides twice. */
const linear = (
  kernelName: string,
  ga: (dy: tf.Tensor) => tf.Tensor,
  gb: (dy: tf.Tensor) => tf.Tensor
): tf.GradConfig => ({
  kernelName,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => ({
    a: () => unbroadcast(ga(dy as tf.Tensor), saved[0].shape),
    b: () => unbroadcast(gb(dy as tf.Tensor), saved[1].shape)
  })
})

const asFloat = (t: tf.Tensor): tf.Tensor => tf.cast(t, 'float32')

const zeroBoth: Grads = (_dy, a, b) => [zeroGrad(a), zeroGrad(b)]

export const binaryGrads: ReadonlyArray<tf.GradConfig> = [
  linear(
    tf.Add,
    (dy) => dy,
    (dy) => dy
  ),
  linear(
    tf.Sub,
    (dy) => dy,
    (dy) => tf.neg(dy)
  ),
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => ({
      a: () => unbroadcast(tf.mul(dy as tf.Tensor, saved[1]), saved[0].shape),
      b: () => unbroadcast(tf.mul(dy as tf.Tensor, saved[0]), saved[1].shape)
    })
  },
  {
    kernelName: tf.RealDiv,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved
      return {
        a: () => unbroadcast(tf.div(dy as tf.Tensor, b), a.shape),
        b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy as tf.Tensor, a), tf.square(b))), b.shape)
      }
    }
  },
  {
    kernelName: tf.SquaredDifference,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved
      const g = () => tf.mul(dy as tf.Tensor, tf.mul(tf.sub(a, b), 2))
      return { a: () => unbroadcast(g(), a.shape), b: () => unbroadcast(tf.neg(g()), b.shape) }
    }
  },
  {
    // a^b: d/da = b a^(b-1); d/db = a^b log a, taken as 0 where a <= 0 (log undefined there).
    kernelName: tf.Pow,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved
      return {
        a: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.mul(b, tf.pow(a, tf.sub(b, 1)))), a.shape),
        b: () => {
          const positive = tf.greater(a, 0)
          const safeLog = tf.where(positive, tf.log(tf.where(positive, a, tf.onesLike(a))), tf.zerosLike(a))
          return unbroadcast(tf.mul(dy as tf.Tensor, tf.mul(tf.pow(a, b), safeLog)), b.shape)
        }
      }
    }
  },
  // Ties go to a (as in TensorFlow); the masks have zero gradient, so these compose at every order.
  binary(tf.Maximum, (dy, a, b) => [tf.mul(dy, asFloat(tf.greaterEqual(a, b))), tf.mul(dy, asFloat(tf.less(a, b)))]),
  binary(tf.Minimum, (dy, a, b) => [tf.mul(dy, asFloat(tf.lessEqual(a, b))), tf.mul(dy, asFloat(tf.greater(a, b)))]),
  ...[
    tf.Equal,
    tf.NotEqual,
    tf.Greater,
    tf.GreaterEqual,
    tf.Less,
    tf.LessEqual,
    tf.LogicalAnd,
    tf.LogicalOr,
    tf.FloorDiv
  ].map((k) => binary(k, zeroBoth)),
  {
    kernelName: tf.AddN,
    saveAllInputs: true,
    gradFunc: (dy, saved) => Object.fromEntries(saved.map((_, i) => [i, () => tf.clone(dy as tf.Tensor)]))
  }
]
