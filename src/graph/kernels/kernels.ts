// Forward kernels tmaml-ts registers on tfjs backends: the stop-gradient primitive (an alias of the
// backend's own Identity) and UnsortedSegmentSum for wasm, which tfjs-backend-wasm lacks (the
// gradient of gather needs it).
import * as tf from '@tensorflow/tfjs-core'
import { StopGradient } from './names.js'

/** Register StopGradient on `backendName` as that backend's Identity (no copy, one tape node). */
export const registerStopGradientKernel = (backendName: string): void => {
  if (tf.getKernel(StopGradient, backendName) !== undefined) return
  const identity = tf.getKernel(tf.Identity, backendName)
  if (identity === undefined)
    throw new Error(`backend '${backendName}' has no Identity kernel to alias StopGradient to`)
  tf.registerKernel({ kernelName: StopGradient, backendName, kernelFunc: identity.kernelFunc })
}

/** The parts of the wasm and cpu backends' interfaces this kernel uses (one of the two makers). */
interface BackendLike {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues
  makeOutput?: (
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues
  ) => tf.TensorInfo
  makeTensorInfo?: (shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues) => tf.TensorInfo
}

/**
 * out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s; ids outside [0, numSegments) are
 * dropped (TensorFlow's rule). One pass, O(size of x). It runs in the backward pass of every gather:
 * wasm has no kernel for it, and the cpu backend's loops over segments with a full mask each time
 * (O(numSegments x size), tens of GB for a gather from a table of 10^5 rows).
 */
const unsortedSegmentSumJs: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo }
  const numSegments = (attrs as { numSegments: number }).numSegments
  const be = backend as unknown as BackendLike
  const xv = be.readSync(x.dataId) as Float32Array | Int32Array
  const ids = be.readSync(segmentIds.dataId) as Int32Array
  const n = ids.length
  const inner = n === 0 ? 0 : xv.length / n
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner)
  for (let i = 0; i < n; i++) {
    const s = ids[i]
    if (s < 0 || s >= numSegments) continue
    const src = i * inner
    const dst = s * inner
    for (let j = 0; j < inner; j++) out[dst + j] += xv[src + j]
  }
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)]
  // cpu's makeOutput takes (values, shape, dtype); wasm has only makeOutput(shape, dtype, offset, values).
  if (be.makeTensorInfo !== undefined) return be.makeTensorInfo(outShape, x.dtype, out)
  if (be.makeOutput !== undefined) return be.makeOutput(outShape, x.dtype, undefined, out)
  throw new Error('UnsortedSegmentSum: backend can make no output tensor')
}

/** Backends whose UnsortedSegmentSum is replaced by the one-pass JS kernel. */
const segmentSumBackends: ReadonlySet<string> = new Set(['wasm', 'cpu', 'native'])

/**
 * Register the one-pass UnsortedSegmentSum on `backendName` (wasm, cpu and cpu-derived backends;
 * others keep their own).
 */
export const registerSegmentSum = (backendName: string): void => {
  if (!segmentSumBackends.has(backendName)) return
  const existing = tf.getKernel(tf.UnsortedSegmentSum, backendName)
  if (existing?.kernelFunc === unsortedSegmentSumJs) return
  if (existing !== undefined) tf.unregisterKernel(tf.UnsortedSegmentSum, backendName)
  tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName, kernelFunc: unsortedSegmentSumJs })
}
