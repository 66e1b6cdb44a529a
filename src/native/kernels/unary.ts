// Element-wise unary kernels: one addon call over the whole float32 array.
import * as tf from '@tensorflow/tfjs-core'
import { type NativeAddon, UnaryOp } from '../addon.js'
import { allocFloat32, cpuBackendOf, cpuKernel, f32Values, nativeBackendName, output } from './support.js'

/** The tfjs kernels computed by the addon's unary loops. */
export const unaryKernelOps: ReadonlyArray<readonly [string, UnaryOp]> = [
  [tf.Neg, UnaryOp.neg],
  [tf.Square, UnaryOp.square],
  [tf.Exp, UnaryOp.exp],
  [tf.Tanh, UnaryOp.tanh],
  [tf.Sigmoid, UnaryOp.sigmoid],
  [tf.Log, UnaryOp.log],
  [tf.Sqrt, UnaryOp.sqrt],
  [tf.Rsqrt, UnaryOp.rsqrt],
  [tf.Reciprocal, UnaryOp.reciprocal],
  [tf.Abs, UnaryOp.abs],
  [tf.Relu, UnaryOp.relu]
]

/** A float32 fast path for a unary kernel; anything else goes to the cpu kernel. */
export const unaryKernel = (addon: NativeAddon, kernelName: string, op: UnaryOp): tf.KernelConfig => {
  const fallback = cpuKernel(kernelName)
  return {
    kernelName,
    backendName: nativeBackendName,
    kernelFunc: (args) => {
      const be = cpuBackendOf(args)
      const x = args.inputs['x'] as tf.TensorInfo
      const xv = f32Values(be, x)
      if (xv === null) return fallback(args)
      const out = allocFloat32(be, xv.length)
      addon.unary(op, xv, out)
      return output(be, x.shape, out)
    }
  }
}

/** The native unary kernel configs (one per entry of unaryKernelOps). */
export const unaryKernels = (addon: NativeAddon): ReadonlyArray<tf.KernelConfig> =>
  unaryKernelOps.map(([name, op]) => unaryKernel(addon, name, op))
