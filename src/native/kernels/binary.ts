// Broadcasting binary kernels (numpy rules, any rank up to 8): the shapes are rank-aligned here and
// the addon strides, coalesces and loops.
import * as tf from '@tensorflow/tfjs-core'
import { BinaryOp, type NativeAddon } from '../addon.js'
import { allocFloat32, dimsScratch, f32Values, maxRank, nativeKernel, output, sizeFromShape } from './support.js'

/** Fill `dims` with [rank, outShape, aShape, bShape] (a, b padded with leading 1s). */
const describe = (
  dims: Int32Array,
  out: ReadonlyArray<number>,
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>
): void => {
  const r = out.length
  dims[0] = r
  for (let d = 0; d < r; d++) {
    dims[1 + d] = out[d]
    const da = d - (r - a.length)
    const db = d - (r - b.length)
    dims[1 + r + d] = da >= 0 ? a[da] : 1
    dims[1 + 2 * r + d] = db >= 0 ? b[db] : 1
  }
}

/** A float32 fast path for a broadcasting binary kernel; other dtypes go to the cpu kernel. */
export const binaryKernel = (addon: NativeAddon, kernelName: string, op: BinaryOp): tf.KernelConfig =>
  nativeKernel(kernelName, (be, args) => {
    const a = args.inputs['a'] as tf.TensorInfo
    const b = args.inputs['b'] as tf.TensorInfo
    const av = f32Values(be, a)
    const bv = av === null ? null : f32Values(be, b)
    if (av === null || bv === null) return null
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape)
    if (outShape.length > maxRank) return null
    const out = allocFloat32(be, sizeFromShape(outShape))
    describe(dimsScratch, outShape, a.shape, b.shape)
    addon.binary(op, av, bv, out, dimsScratch)
    return output(be, outShape, out)
  })

/** The native binary kernel configs, one per `BinaryOp`. */
export const binaryKernels = (addon: NativeAddon): ReadonlyArray<tf.KernelConfig> =>
  Object.entries(BinaryOp).map(([name, op]) => binaryKernel(addon, name, op))
