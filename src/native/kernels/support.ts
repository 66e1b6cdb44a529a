// What every native kernel shares: reading float32 storage off the cpu-style backend, allocating
// outputs, and handing a call over to the stock cpu kernel when there is no fast path.
import * as tf from '@tensorflow/tfjs-core'
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu'
import { NativeBackend } from '../storage.js'

/** The tfjs backend name the native kernels register under. */
export const nativeBackendName = 'native'

/** The argument of a tfjs kernel function. */
export type KernelArgs = Parameters<tf.KernelFunc>[0]

/** The backend a native kernel runs on: a MathBackendCPU (its storage is plain typed arrays). */
export const cpuBackendOf = (args: KernelArgs): MathBackendCPU => args.backend as MathBackendCPU

const sizeOf = (shape: ReadonlyArray<number>): number => {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/**
 * The float32 values of `t`, or null when `t` is not a float32 tensor stored as a Float32Array of
 * exactly its size (then the caller falls back to the cpu kernel). The array may be a subarray with a
 * non-zero byteOffset: the addon reads it through the offset-adjusted pointer.
 */
export const f32Values = (be: MathBackendCPU, t: tf.TensorInfo): Float32Array | null => {
  if (t.dtype !== 'float32') return null
  const v = be.data.get(t.dataId)?.values
  return v instanceof Float32Array && v.length === sizeOf(t.shape) ? v : null
}

/** Like f32Values, for kernels that only move 32-bit words (float32 or int32). */
export const word32Values = (be: MathBackendCPU, t: tf.TensorInfo): Float32Array | Int32Array | null => {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') return null
  const v = be.data.get(t.dataId)?.values
  return (v instanceof Float32Array || v instanceof Int32Array) && v.length === sizeOf(t.shape) ? v : null
}

/**
 * An output array of `n` elements that the kernel must fill completely: recycled from the backend's
 * pool when it is a NativeBackend (contents unspecified), else fresh.
 */
export const allocFloat32 = (be: MathBackendCPU, n: number): Float32Array =>
  be instanceof NativeBackend ? (be.alloc('float32', n) as Float32Array) : new Float32Array(n)

/** allocFloat32 for int32 outputs. */
export const allocInt32 = (be: MathBackendCPU, n: number): Int32Array =>
  be instanceof NativeBackend ? (be.alloc('int32', n) as Int32Array) : new Int32Array(n)

/** Give a kernel's scratch array (from allocFloat32, never made a tensor) back to the pool. */
export const recycle = (be: MathBackendCPU, values: Float32Array | Int32Array): void => {
  if (be instanceof NativeBackend) be.recycle(values)
}

/** Register `values` (float32 or int32, of `shape`), just filled by the addon, as a new tensor. */
export const output = (
  be: MathBackendCPU,
  shape: ReadonlyArray<number>,
  values: Float32Array | Int32Array,
  dtype: 'float32' | 'int32' = 'float32'
): tf.TensorInfo =>
  be instanceof NativeBackend ? be.adopt([...shape], dtype, values) : be.makeTensorInfo([...shape], dtype, values)

/** The stock cpu kernel for `kernelName`: where a native kernel has no fast path, it calls this. */
export const cpuKernel = (kernelName: string): tf.KernelFunc => {
  const k = tf.getKernel(kernelName, 'cpu')
  if (k === undefined) throw new Error(`native: tfjs-backend-cpu has no '${kernelName}' kernel to fall back to`)
  return k.kernelFunc
}

/**
 * A native kernel: `fast(be, args)` computes the output, or returns null for what it does not handle
 * (other dtypes, shapes, ranks above `maxRank`), which then runs the stock cpu kernel.
 */
export const nativeKernel = (
  kernelName: string,
  fast: (be: MathBackendCPU, args: KernelArgs) => tf.TensorInfo | null
): tf.KernelConfig => {
  const fallback = cpuKernel(kernelName)
  return {
    kernelName,
    backendName: nativeBackendName,
    kernelFunc: (args) => fast(cpuBackendOf(args), args) ?? fallback(args)
  }
}

/** `dimsScratch` as [rank, shape, strides]: the descriptor of the addon's strided copy. */
export const stridedDims = (shape: ReadonlyArray<number>, strides: ReadonlyArray<number>): Int32Array => {
  const r = shape.length
  dimsScratch[0] = r
  for (let d = 0; d < r; d++) {
    dimsScratch[1 + d] = shape[d]
    dimsScratch[1 + r + d] = strides[d]
  }
  return dimsScratch
}

/** Product of a shape. */
export const sizeFromShape = sizeOf

/** Row-major strides of a shape, in elements. */
export const stridesOf = (shape: ReadonlyArray<number>): number[] => {
  const s = new Array<number>(shape.length)
  let st = 1
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = st
    st *= shape[d]
  }
  return s
}

/** The largest rank the addon's strided kernels accept (csrc/kernels.h kMaxRank). */
export const maxRank = 8

/** Scratch for shape descriptors passed to the addon (read synchronously, so one buffer suffices). */
export const dimsScratch = new Int32Array(1 + 3 * maxRank)
