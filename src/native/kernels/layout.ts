// Data-movement kernels on the addon's strided copy: Transpose (permuted strides) and Tile (which
// tf.broadcastTo also runs: repeated dims get stride 0). float32 and int32.
import * as tf from '@tensorflow/tfjs-core'
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu'
import type { NativeAddon } from '../addon.js'
import {
  allocFloat32,
  allocInt32,
  cpuBackendOf,
  cpuKernel,
  dimsScratch,
  maxRank,
  nativeBackendName,
  output,
  sizeFromShape,
  stridesOf,
  word32Values
} from './support.js'

const alloc = (be: MathBackendCPU, dtype: string, n: number): Float32Array | Int32Array =>
  dtype === 'int32' ? allocInt32(be, n) : allocFloat32(be, n)

/** Transpose as a strided copy (AVX2 8x8 register transposes for a swap of the last two axes). */
export const transposeKernel = (addon: NativeAddon): tf.KernelConfig => {
  const fallback = cpuKernel(tf.Transpose)
  return {
    kernelName: tf.Transpose,
    backendName: nativeBackendName,
    kernelFunc: (args) => {
      const be = cpuBackendOf(args)
      const x = args.inputs['x'] as tf.TensorInfo
      const xv = word32Values(be, x)
      const perm = (args.attrs ?? {})['perm'] as number[]
      const r = x.shape.length
      if (xv === null || r > maxRank || perm.length !== r) return fallback(args)
      const st = stridesOf(x.shape)
      const outShape = perm.map((p) => x.shape[p])
      dimsScratch[0] = r
      for (let d = 0; d < r; d++) {
        dimsScratch[1 + d] = outShape[d]
        dimsScratch[1 + r + d] = st[perm[d]]
      }
      const out = alloc(be, x.dtype, xv.length)
      addon.stridedCopy(xv, out, dimsScratch)
      return output(be, outShape, out, x.dtype === 'int32' ? 'int32' : 'float32')
    }
  }
}

/** Tile (and so tf.broadcastTo) as a strided copy with stride 0 along repeated dims. */
export const tileKernel = (addon: NativeAddon): tf.KernelConfig => {
  const fallback = cpuKernel(tf.Tile)
  return {
    kernelName: tf.Tile,
    backendName: nativeBackendName,
    kernelFunc: (args) => {
      const be = cpuBackendOf(args)
      const x = args.inputs['x'] as tf.TensorInfo
      const xv = word32Values(be, x)
      const reps = (args.attrs ?? {})['reps'] as number[]
      const r = x.shape.length
      if (xv === null || reps.length !== r) return fallback(args)
      // Output dim d of size reps[d] * shape[d] splits into [reps[d], shape[d]] with strides [0, st[d]].
      const st = stridesOf(x.shape)
      const shape: number[] = []
      const strides: number[] = []
      for (let d = 0; d < r; d++) {
        if (reps[d] !== 1) {
          shape.push(reps[d])
          strides.push(0)
        }
        shape.push(x.shape[d])
        strides.push(st[d])
      }
      if (shape.length > maxRank) return fallback(args)
      const n = shape.length
      dimsScratch[0] = n
      for (let d = 0; d < n; d++) {
        dimsScratch[1 + d] = shape[d]
        dimsScratch[1 + n + d] = strides[d]
      }
      const outShape = x.shape.map((s, d) => s * reps[d])
      const out = alloc(be, x.dtype, sizeFromShape(outShape))
      addon.stridedCopy(xv, out, dimsScratch)
      return output(be, outShape, out, x.dtype === 'int32' ? 'int32' : 'float32')
    }
  }
}
