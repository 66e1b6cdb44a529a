// Gradients of broadcasting ops arrive in the output's shape; each input receives the sum over the
// axes along which it was broadcast. Written with differentiable ops only (sum, reshape, tile), so the
// result can itself be differentiated.
import * as tf from '@tensorflow/tfjs-core'

const sameShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i])

/**
 * Reduce `dy` (the output gradient) to `shape` by summing over the axes `shape` was broadcast along.
 * Always a new tensor object (a reshape shares the data): the engine disposes a gradient it accumulates
 * into, so handing `dy` itself to two inputs (Add's a and b) would free it while the other still needs it.
 */
export const unbroadcast = (dy: tf.Tensor, shape: ReadonlyArray<number>): tf.Tensor => {
  if (sameShape(dy.shape, shape)) return tf.reshape(dy, shape as number[])
  // Output-space axes where the input had no dimension or a size-1 dimension.
  const axes = tf.backend_util.getReductionAxes(shape as number[], dy.shape)
  const summed = axes.length > 0 ? tf.sum(dy, axes) : dy
  return tf.reshape(summed, shape as number[])
}

/** The shape of a reduction's output with the reduced axes kept as size-1 dimensions. */
export const keepDimsShape = (shape: ReadonlyArray<number>, axes: ReadonlyArray<number>): number[] =>
  shape.map((d, i) => (axes.includes(i) ? 1 : d))

/** Broadcast `t` (same rank, size-1 where it differs) to `shape`. Tile's gradient is registered. */
export const expandTo = (t: tf.Tensor, shape: ReadonlyArray<number>): tf.Tensor =>
  sameShape(t.shape, shape) ? t : tf.broadcastTo(t, shape as number[])
