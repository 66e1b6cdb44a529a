// Broadcasting binary kernels (numpy rules, any rank up to 8): the shapes are rank-aligned here and
// the addon strides, coalesces and loops.
import * as tf from '@tensorflow/tfjs-core'
import { BinaryOp, type NativeAddon } from '../addon.js'
import {
  allocFloat32,
  cpuBackendOf,
  cpuKernel,
  dimsScratch,
  f32Values,
  maxRank,
  nativeBackendName,
  output,
  sizeFromShape
} from './support.js'

/** The tfjs kernels computed by the addon's binary loops. */
export const binaryKernelOps: ReadonlyArray<readonly [string, BinaryOp]> = [
  [tf.Add, BinaryOp.add],
  [tf.Sub, BinaryOp.sub],
  [tf.Multiply, BinaryOp.mul],
  [tf.RealDiv, BinaryOp.div],
  [tf.SquaredDifference, BinaryOp.squaredDifference],
  [tf.Maximum, BinaryOp.maximum],
  [tf.Minimum, BinaryOp.minimum]
]

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
export const binaryKernel = (addon: NativeAddon, kernelName: string, op: BinaryOp): tf.KernelConfig => {
  const fallback = cpuKernel(kernelName)
  return {
    kernelName,
    backendName: nativeBackendName,
    kernelFunc: (args) => {
      const be = cpuBackendOf(args)
      const a = args.inputs['a'] as tf.TensorInfo
      const b = args.inputs['b'] as tf.TensorInfo
      const av = f32Values(be, a)
      const bv = av === null ? null : f32Values(be, b)
      if (av === null || bv === null) return fallback(args)
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape)
      if (outShape.length > maxRank) return fallback(args)
      const out = allocFloat32(be, sizeFromShape(outShape))
      describe(dimsScratch, outShape, a.shape, b.shape)
      addon.binary(op, av, bv, out, dimsScratch)
      return output(be, outShape, out)
    }
  }
}

/** The native binary kernel configs (one per entry of binaryKernelOps). */
export const binaryKernels = (addon: NativeAddon): ReadonlyArray<tf.KernelConfig> =>
  binaryKernelOps.map(([name, op]) => binaryKernel(addon, name, op))
