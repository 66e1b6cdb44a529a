// Element-wise unary kernels: one addon call over the whole float32 array.
import * as tf from '@tensorflow/tfjs-core'
import { type NativeAddon, UnaryOp } from '../addon.js'
import { allocFloat32, f32Values, nativeKernel, output } from './support.js'

/** A float32 fast path for a unary kernel; anything else goes to the cpu kernel. */
export const unaryKernel = (addon: NativeAddon, kernelName: string, op: UnaryOp): tf.KernelConfig =>
  nativeKernel(kernelName, (be, args) => {
    const x = args.inputs['x'] as tf.TensorInfo
    const xv = f32Values(be, x)
    if (xv === null) return null
    const out = allocFloat32(be, xv.length)
    addon.unary(op, xv, out)
    return output(be, x.shape, out)
  })

/** The native unary kernel configs, one per `UnaryOp`. */
export const unaryKernels = (addon: NativeAddon): ReadonlyArray<tf.KernelConfig> =>
  Object.entries(UnaryOp).map(([name, op]) => unaryKernel(addon, name, op))
