// Gradients of reductions and scans. Axis attributes arrive as the user passed them (negative,
// scalar or list, or null for "all"), so each gradient normalises them against the saved input.
import * as tf from '@tensorflow/tfjs-core'
import { expandTo, keepDimsShape } from './unbroadcast.js'

const axesOf = (axis: unknown, x: tf.Tensor): number[] =>
  tf.util.parseAxisParam((axis ?? null) as number | number[], x.shape)

/** dy of a reduction, reshaped to keep the reduced axes and broadcast back to x's shape. */
const spread = (dy: tf.Tensor, x: tf.Tensor, axes: ReadonlyArray<number>): tf.Tensor =>
  expandTo(tf.reshape(dy, keepDimsShape(x.shape, axes)), x.shape)

/**
 * Max/Min: the gradient goes to the arg-extremum, split evenly between ties. The extremum is
 * recomputed from the saved input (the forward output is not reused, see elementwise.grad.ts); the
 * tie mask has zero gradient, so this is differentiable again (to zero curvature, as it should be).
 */
const extremumGrad = (kernelName: string, axisAttr: string, reduce: typeof tf.max): tf.GradConfig => ({
  kernelName,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => ({
    x: () => {
      const x = saved[0]
      const axes = axesOf(attrs[axisAttr], x)
      const m = reduce(x, axes, true)
      const mask = tf.cast(tf.equal(x, m), 'float32')
      const share = tf.div(mask, tf.sum(mask, axes, true))
      return tf.mul(share, spread(dy as tf.Tensor, x, axes))
    }
  })
})

export const reductionGrads: ReadonlyArray<tf.GradConfig> = [
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => ({ x: () => spread(dy as tf.Tensor, saved[0], axesOf(attrs['axis'], saved[0])) })
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => ({
      x: () => {
        const x = saved[0]
        const axes = axesOf(attrs['axis'], x)
        const n = axes.reduce((acc, a) => acc * x.shape[a], 1)
        return tf.div(spread(dy as tf.Tensor, x, axes), n)
      }
    })
  },
  extremumGrad(tf.Max, 'reductionIndices', tf.max),
  extremumGrad(tf.Min, 'axis', tf.min),
  {
    // The adjoint of an inclusive forward prefix sum is an inclusive suffix sum along the same axis
    // (stock tfjs transposes the wrong way for axes other than the last).
    kernelName: tf.Cumsum,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => ({
      x: () => {
        const axis = attrs['axis'] as number
        const exclusive = attrs['exclusive'] as boolean
        const reverse = attrs['reverse'] as boolean
        const ax = axis < 0 ? axis + saved[0].rank : axis
        return tf.cumsum(dy as tf.Tensor, ax, exclusive, !reverse)
      }
    })
  },
  {
    // y = softmax(x): dx = y * (dy - sum(dy * y)), with y recomputed from the saved logits.
    kernelName: tf.Softmax,
    inputsToSave: ['logits'],
    gradFunc: (dy, saved, attrs) => ({
      logits: () => {
        const x = saved[0]
        const dim = attrs['dim'] as number
        const ax = dim < 0 ? dim + x.rank : dim
        const y = tf.softmax(x, ax)
        const g = dy as tf.Tensor
        return tf.mul(y, tf.sub(g, tf.sum(tf.mul(g, y), ax, true)))
      }
    })
  }
]
