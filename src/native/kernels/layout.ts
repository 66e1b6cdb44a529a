// Data-movement kernels on the addon's strided copy: Transpose (permuted strides) and Tile (which
// tf.broadcastTo also runs: repeated dims get stride 0). float32 and int32.
import * as tf from '@tensorflow/tfjs-core'
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu'
import type { NativeAddon } from '../addon.js'
import {
  allocFloat32,
  allocInt32,
  maxRank,
  nativeKernel,
  output,
  sizeFromShape,
  stridedDims,
  stridesOf,
  word32Values
} from './support.js'

/** The strided copy of x into a new [outShape] tensor of its dtype. */
const copied = (
  addon: NativeAddon,
  be: MathBackendCPU,
  x: tf.TensorInfo,
  xv: Float32Array | Int32Array,
  dims: Int32Array,
  outShape: ReadonlyArray<number>
): tf.TensorInfo => {
  const out = x.dtype === 'int32' ? allocInt32(be, sizeFromShape(outShape)) : allocFloat32(be, sizeFromShape(outShape))
  addon.stridedCopy(xv, out, dims)
  return output(be, outShape, out, x.dtype === 'int32' ? 'int32' : 'float32')
}

/** Transpose as a strided copy (AVX2 8x8 register transposes for a swap of the last two axes). */
export const transposeKernel = (addon: NativeAddon): tf.KernelConfig =>
  nativeKernel(tf.Transpose, (be, args) => {
    const x = args.inputs['x'] as tf.TensorInfo
    const xv = word32Values(be, x)
    const perm = (args.attrs ?? {})['perm'] as number[]
    if (xv === null || x.shape.length > maxRank || perm.length !== x.shape.length) return null
    const st = stridesOf(x.shape)
    const outShape = perm.map((p) => x.shape[p])
    return copied(
      addon,
      be,
      x,
      xv,
      stridedDims(
        outShape,
        perm.map((p) => st[p])
      ),
      outShape
    )
  })

/** Tile (and so tf.broadcastTo) as a strided copy with stride 0 along repeated dims. */
export const tileKernel = (addon: NativeAddon): tf.KernelConfig =>
  nativeKernel(tf.Tile, (be, args) => {
    const x = args.inputs['x'] as tf.TensorInfo
    const xv = word32Values(be, x)
    const reps = (args.attrs ?? {})['reps'] as number[]
    if (xv === null || reps.length !== x.shape.length) return null
    // Output dim d of size reps[d] * shape[d] splits into [reps[d], shape[d]] with strides [0, st[d]].
    const st = stridesOf(x.shape)
    const shape: number[] = []
    const strides: number[] = []
    x.shape.forEach((s, d) => {
      if (reps[d] !== 1) {
        shape.push(reps[d])
        strides.push(0)
      }
      shape.push(s)
      strides.push(st[d])
    })
    if (shape.length > maxRank) return null
    return copied(
      addon,
      be,
      x,
      xv,
      stridedDims(shape, strides),
      x.shape.map((s, d) => s * reps[d])
    )
  })
