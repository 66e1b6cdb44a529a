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

/** The part of the wasm backend's interface this kernel uses. */
interface WasmBackendLike {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues
  ): tf.TensorInfo
}

/**
 * out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s; ids outside [0, numSegments) are
 * dropped (TensorFlow's rule). Computed in JS: it only runs in the backward pass of gathers.
 */
const unsortedSegmentSumJs: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo }
  const numSegments = (attrs as { numSegments: number }).numSegments
  const be = backend as unknown as WasmBackendLike
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
  return be.makeOutput(outShape, x.dtype, undefined, out)
}

/** Register the JS UnsortedSegmentSum on wasm, unless a future tfjs provides one. */
export const registerWasmSegmentSum = (): void => {
  if (tf.getKernel(tf.UnsortedSegmentSum, 'wasm') !== undefined) return
  tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName: 'wasm', kernelFunc: unsortedSegmentSumJs })
}
