// Reductions (Sum, Mean, Max, Min, Prod) over any set of axes. Reduced and kept axes are grouped;
// when the reduced axes form one block the addon reduces x viewed as [outer, reduce, inner] in place,
// otherwise x is first transposed (strided copy) so that they come last.
import * as tf from '@tensorflow/tfjs-core'
import { type NativeAddon, ReduceOp } from '../addon.js'
import {
  allocFloat32,
  f32Values,
  maxRank,
  nativeKernel,
  output,
  recycle,
  sizeFromShape,
  stridedDims,
  stridesOf
} from './support.js'

/** The tfjs reduction kernels, their axis attribute, and the addon op. */
export const reduceKernelOps: ReadonlyArray<readonly [string, string, ReduceOp]> = [
  [tf.Sum, 'axis', ReduceOp.sum],
  [tf.Mean, 'axis', ReduceOp.mean],
  [tf.Max, 'reductionIndices', ReduceOp.max],
  [tf.Min, 'axis', ReduceOp.min],
  [tf.Prod, 'axis', ReduceOp.prod]
]

/** How to run a reduction: [outer, reduce, inner] after an optional permutation of x. */
interface Plan {
  readonly perm: ReadonlyArray<number> | null
  readonly outer: number
  readonly reduce: number
  readonly inner: number
}

/**
 * Group `shape`'s axes into [outer, reduce, inner] when the reduced `axes` form one block (size-1
 * dims ignored), else a permutation that moves them last (then inner = 1).
 */
export const planReduction = (shape: ReadonlyArray<number>, axes: ReadonlyArray<number>): Plan => {
  const reduced = shape.map((_, d) => axes.includes(d))
  // Size-1 dims can join either group; ignore them when looking for one reduced block.
  const live = shape.map((s, d) => [s, reduced[d]] as const).filter(([s]) => s !== 1)
  const first = live.findIndex(([, r]) => r)
  const last = live.length - 1 - [...live].reverse().findIndex(([, r]) => r)
  const contiguous = first === -1 || live.slice(first, last + 1).every(([, r]) => r)
  if (contiguous) {
    const size = (xs: ReadonlyArray<readonly [number, boolean]>): number => xs.reduce((p, [s]) => p * s, 1)
    if (first === -1) return { perm: null, outer: sizeFromShape(shape), reduce: 1, inner: 1 }
    return {
      perm: null,
      outer: size(live.slice(0, first)),
      reduce: size(live.slice(first, last + 1)),
      inner: size(live.slice(last + 1))
    }
  }
  const kept = shape.map((_, d) => d).filter((d) => !reduced[d])
  const red = shape.map((_, d) => d).filter((d) => reduced[d])
  return {
    perm: [...kept, ...red],
    outer: kept.reduce((p, d) => p * shape[d], 1),
    reduce: red.reduce((p, d) => p * shape[d], 1),
    inner: 1
  }
}

/** A float32 fast path for a reduction kernel; other dtypes (and empty Max/Min) go to the cpu kernel. */
export const reduceKernel = (addon: NativeAddon, kernelName: string, axisAttr: string, op: ReduceOp): tf.KernelConfig =>
  nativeKernel(kernelName, (be, args) => {
    const x = args.inputs['x'] as tf.TensorInfo
    const xv = f32Values(be, x)
    if (xv === null || x.shape.length > maxRank) return null
    const attrs = args.attrs ?? {}
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape)
    const keepDims = attrs['keepDims'] === true
    const plan = planReduction(x.shape, axes)
    if (plan.reduce === 0 && (op === ReduceOp.max || op === ReduceOp.min)) return null
    let src = xv
    if (plan.perm !== null) {
      const perm = plan.perm
      const st = stridesOf(x.shape)
      src = allocFloat32(be, xv.length)
      addon.stridedCopy(
        xv,
        src,
        stridedDims(
          perm.map((p) => x.shape[p]),
          perm.map((p) => st[p])
        )
      )
    }
    const out = allocFloat32(be, plan.outer * plan.inner)
    addon.reduce(op, src, out, plan.outer, plan.reduce, plan.inner)
    if (src !== xv) recycle(be, src)
    const outShape = keepDims
      ? x.shape.map((s, d) => (axes.includes(d) ? 1 : s))
      : x.shape.filter((_, d) => !axes.includes(d))
    return output(be, outShape, out)
  })

/** The native reduction kernel configs (one per entry of reduceKernelOps). */
export const reduceKernels = (addon: NativeAddon): ReadonlyArray<tf.KernelConfig> =>
  reduceKernelOps.map(([name, attr, op]) => reduceKernel(addon, name, attr, op))
