// BatchMatMul on OpenBLAS sgemm: transposes are sgemm flags (no copies); batch dimensions broadcast
// (numpy rules); a batch of A against one B folds into a single sgemm.
import * as tf from '@tensorflow/tfjs-core'
import type { NativeAddon } from '../addon.js'
import { allocFloat32, f32Values, nativeKernel, output, sizeFromShape, stridesOf } from './support.js'

const dims = new Int32Array(8)

/**
 * For each output batch (row-major over `outBatch`), the flat index of the operand matrix with batch
 * shape `batch` (rank-aligned to the right, size-1 dims broadcast). Null when no index is needed:
 * the operand has one matrix, or exactly the output's batch layout.
 */
const batchIndex = (batch: ReadonlyArray<number>, outBatch: ReadonlyArray<number>): Int32Array | null => {
  const n = sizeFromShape(batch)
  const total = sizeFromShape(outBatch)
  if (n === 1 || n === total) return null
  const r = outBatch.length
  const aligned = outBatch.map((_, d) => (d - (r - batch.length) >= 0 ? batch[d - (r - batch.length)] : 1))
  const st = stridesOf(aligned)
  const idx = new Int32Array(total)
  const pos = new Array<number>(r).fill(0)
  for (let i = 0; i < total; i++) {
    let flat = 0
    for (let d = 0; d < r; d++) if (aligned[d] !== 1) flat += pos[d] * st[d]
    idx[i] = flat
    for (let d = r - 1; d >= 0; d--) {
      if (++pos[d] < outBatch[d]) break
      pos[d] = 0
    }
  }
  return idx
}

/** BatchMatMul for float32 inputs of rank >= 2; anything else goes to the cpu kernel. */
export const matMulKernel = (addon: NativeAddon): tf.KernelConfig =>
  nativeKernel(tf.BatchMatMul, (be, args) => {
    const a = args.inputs['a'] as tf.TensorInfo
    const b = args.inputs['b'] as tf.TensorInfo
    const attrs = args.attrs ?? {}
    const tA = attrs['transposeA'] === true
    const tB = attrs['transposeB'] === true
    const ra = a.shape.length
    const rb = b.shape.length
    if (ra < 2 || rb < 2) return null
    const av = f32Values(be, a)
    const bv = av === null ? null : f32Values(be, b)
    if (av === null || bv === null) return null
    const M = tA ? a.shape[ra - 1] : a.shape[ra - 2]
    const K = tA ? a.shape[ra - 2] : a.shape[ra - 1]
    const Kb = tB ? b.shape[rb - 1] : b.shape[rb - 2]
    const N = tB ? b.shape[rb - 2] : b.shape[rb - 1]
    if (K !== Kb) return null // the cpu kernel raises tfjs's own error
    const aBatch = a.shape.slice(0, -2)
    const bBatch = b.shape.slice(0, -2)
    const outBatch = tf.backend_util.assertAndGetBroadcastShape(aBatch, bBatch)
    const batch = sizeFromShape(outBatch)
    const out = allocFloat32(be, batch * M * N)
    dims[0] = batch
    dims[1] = sizeFromShape(aBatch)
    dims[2] = sizeFromShape(bBatch)
    dims[3] = M
    dims[4] = N
    dims[5] = K
    dims[6] = tA ? 1 : 0
    dims[7] = tB ? 1 : 0
    addon.matMul(av, bv, out, dims, batchIndex(aBatch, outBatch), batchIndex(bBatch, outBatch))
    return output(be, [...outBatch, M, N], out)
  })
