// Gradient of (batched) matrix multiplication. The transposes are explicit kernels followed by a
// plain matMul: on wasm a matMul with transposeA/transposeB is several times slower than transpose +
// matMul (DESIGN.md, measured), and the stock gradient uses the flags.
import * as tf from '@tensorflow/tfjs-core'
import { unbroadcast } from './unbroadcast.js'

/** Swap the last two axes. */
export const transposeLast2 = (t: tf.Tensor): tf.Tensor => {
  const r = t.rank
  if (r < 2) throw new Error(`transposeLast2: rank ${r} < 2`)
  const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]
  return tf.transpose(t, perm)
}

const mm = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.matMul(a, b)

export const linalgGrads: ReadonlyArray<tf.GradConfig> = [
  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved
      const g = dy as tf.Tensor
      const tA = attrs['transposeA'] as boolean
      const tB = attrs['transposeB'] as boolean
      const T = transposeLast2
      // C = op(A) op(B); dop(A) = dC op(B)^T, dop(B) = op(A)^T dC; then undo op.
      const da = (): tf.Tensor =>
        !tA && !tB ? mm(g, T(b)) : !tA && tB ? mm(g, b) : tA && !tB ? mm(b, T(g)) : mm(T(b), T(g))
      const db = (): tf.Tensor =>
        !tA && !tB ? mm(T(a), g) : !tA && tB ? mm(T(g), a) : tA && !tB ? mm(a, g) : mm(T(g), T(a))
      return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) }
    }
  }
]
