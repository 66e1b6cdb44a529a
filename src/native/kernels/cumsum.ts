// Cumsum along the innermost axis of a float32 tensor: the sums the stock cpu kernel forms (each
// running sum rounded to float32 as it is stored, in the same order), in one tight loop into a pooled
// array. The cpu kernel goes through two index closures per element and a fresh array, about 18 ns
// per element here, where this loop takes ~1 ns; the estimators' magic boxes take a cumsum over the
// time axis of every [tasks x episodes, T] log-probability array. Other axes and dtypes fall back.
import * as tf from '@tensorflow/tfjs-core'
import { allocFloat32, f32Values, nativeKernel, output } from './support.js'

/** The native Cumsum kernel config (innermost axis, float32; else the cpu kernel). */
export const cumsumKernel = (): tf.KernelConfig =>
  nativeKernel(tf.Cumsum, (be, args) => {
    const x = args.inputs['x'] as tf.TensorInfo
    const { axis, exclusive, reverse } = args.attrs as unknown as tf.CumsumAttrs
    const rank = x.shape.length
    if (rank === 0 || (axis !== rank - 1 && axis !== -1)) return null
    const a = f32Values(be, x)
    if (a === null) return null
    const n = x.shape[rank - 1]
    const out = allocFloat32(be, a.length)
    const f = Math.fround
    // Positions in summation order: forward from a row's start, or backward from its end. (An empty
    // innermost axis means an empty tensor: the loop does not run.)
    const step = reverse ? -1 : 1
    for (let i = 0; i < a.length; i += n) {
      const first = reverse ? i + n - 1 : i
      out[first] = exclusive ? 0 : a[first]
      let prev = first
      for (let j = 1; j < n; j++) {
        const idx = first + j * step
        out[idx] = f((exclusive ? a[prev] : a[idx]) + out[prev])
        prev = idx
      }
    }
    return output(be, x.shape, out)
  })
