// Gradient of (batched) matrix multiplication. On wasm the transposes are explicit kernels followed by
// a plain matMul: there a matMul with transposeA/transposeB is several times slower than transpose +
// matMul (DESIGN.md, measured). The native (OpenBLAS) backend transposes for free inside sgemm, where
// the explicit transposes cost ~17% of kernel time (measured, src/native/README.md): it uses the flags.
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

/** a^T-or-a times b^T-or-b, by flags (native) or explicit transposes (elsewhere). */
const mmT = (a: tf.Tensor, ta: boolean, b: tf.Tensor, tb: boolean): tf.Tensor =>
  tf.getBackend() === 'native' ? tf.matMul(a, b, ta, tb) : mm(ta ? transposeLast2(a) : a, tb ? transposeLast2(b) : b)

export const linalgGrads: ReadonlyArray<tf.GradConfig> = [
  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved
      const g = dy as tf.Tensor
      const tA = attrs['transposeA'] as boolean
      const tB = attrs['transposeB'] as boolean
      // C = op(A) op(B); dop(A) = dC op(B)^T, dop(B) = op(A)^T dC; then undo op.
      const da = (): tf.Tensor =>
        !tA && !tB
          ? mmT(g, false, b, true)
          : !tA && tB
            ? mm(g, b)
            : tA && !tB
              ? mmT(b, false, g, true)
              : mmT(b, true, g, true)
      const db = (): tf.Tensor =>
        !tA && !tB
          ? mmT(a, true, g, false)
          : !tA && tB
            ? mmT(g, true, a, false)
            : tA && !tB
              ? mm(a, g)
              : mmT(g, true, a, true)
      return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) }
    }
  }
]
