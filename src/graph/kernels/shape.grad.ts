// Gradients of kernels that move, copy or select values without arithmetic. Each is the adjoint
// data movement (reshape <-> reshape, slice <-> pad, concat <-> split, gather <-> segment sum ...).
import * as tf from '@tensorflow/tfjs-core'
import { zeroGrad } from './elementwise.grad.js'
import { unbroadcast } from './unbroadcast.js'

const inversePermutation = (perm: ReadonlyArray<number>): number[] => {
  const inv = new Array<number>(perm.length)
  perm.forEach((p, i) => (inv[p] = i))
  return inv
}

const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis)

/** The slice [offset, offset + size) of `t` along `axis`, everything along the other axes. */
const sliceAlong = (t: tf.Tensor, axis: number, offset: number, size: number): tf.Tensor =>
  tf.slice(
    t,
    t.shape.map((_, i) => (i === axis ? offset : 0)),
    t.shape.map((d, i) => (i === axis ? size : d))
  )

/** Scatter-add `values` (first axis indexed by `indices`) into a tensor of `x`'s shape, along `axis`. */
const gatherAdjoint = (
  values: tf.Tensor,
  indices: tf.Tensor,
  xShape: ReadonlyArray<number>,
  axis: number
): tf.Tensor => {
  const outer = xShape.slice(0, axis)
  const inner = xShape.slice(axis + 1)
  const flatIdx = tf.reshape(indices, [indices.size])
  const v = tf.reshape(values, [...outer, indices.size, ...inner])
  // Bring the gathered axis to the front, segment-sum over it, move it back.
  const perm = [outer.length, ...outer.map((_, i) => i), ...inner.map((_, i) => outer.length + 1 + i)]
  const summed = tf.unsortedSegmentSum(tf.transpose(v, perm), tf.cast(flatIdx, 'int32') as tf.Tensor1D, xShape[axis])
  return tf.transpose(summed, inversePermutation(perm))
}

export const shapeGrads: ReadonlyArray<tf.GradConfig> = [
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as tf.Tensor, saved[0].shape) })
  },
  {
    kernelName: tf.ExpandDims,
    inputsToSave: ['input'],
    gradFunc: (dy, saved) => ({ input: () => tf.reshape(dy as tf.Tensor, saved[0].shape) })
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => ({
      x: () => tf.transpose(dy as tf.Tensor, inversePermutation(attrs['perm'] as number[]))
    })
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => ({
      x: () => {
        const x = saved[0]
        const [begin, size] = tf.slice_util.parseSliceParams(x, attrs['begin'] as number[], attrs['size'] as number[])
        const paddings = x.shape.map((d, i): [number, number] => [begin[i], d - begin[i] - size[i]])
        return tf.pad(dy as tf.Tensor, paddings)
      }
    })
  },
  {
    kernelName: tf.PadV2,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => ({
      x: () => {
        const begin = (attrs['paddings'] as Array<[number, number]>).map((p) => p[0])
        return tf.slice(dy as tf.Tensor, begin, saved[0].shape)
      }
    })
  },
  {
    // Each thunk runs in its own tidy scope, so each slices its own piece (a shared split would have
    // its other pieces disposed by the first thunk's scope).
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = normAxis(attrs['axis'] as number, saved[0].rank)
      const offsets = saved.map((_, i) => saved.slice(0, i).reduce((acc, t) => acc + t.shape[axis], 0))
      return Object.fromEntries(
        saved.map((t, i) => [i, () => sliceAlong(dy as tf.Tensor, axis, offsets[i], t.shape[axis])])
      )
    }
  },
  {
    kernelName: tf.SplitV,
    gradFunc: (dys, _saved, attrs) => ({ x: () => tf.concat(dys as tf.Tensor[], attrs['axis'] as number) })
  },
  {
    kernelName: tf.Pack,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = normAxis(attrs['axis'] as number, saved[0].rank + 1)
      return Object.fromEntries(
        saved.map((t, i) => [i, () => tf.reshape(sliceAlong(dy as tf.Tensor, axis, i, 1), t.shape)])
      )
    }
  },
  {
    kernelName: tf.Unpack,
    gradFunc: (dys, _saved, attrs) => ({ value: () => tf.stack(dys as tf.Tensor[], attrs['axis'] as number) })
  },
  {
    // tf.broadcastTo runs Tile. The adjoint sums the tiles: view dy as [r0, d0, r1, d1, ...] and
    // sum the r axes.
    kernelName: tf.Tile,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => ({
      x: () => {
        const x = saved[0]
        const reps = attrs['reps'] as number[]
        if (reps.every((r) => r === 1)) return tf.clone(dy as tf.Tensor)
        const interleaved = x.shape.flatMap((d, i) => [reps[i], d])
        const repAxes = x.shape.map((_, i) => 2 * i)
        return tf.reshape(tf.sum(tf.reshape(dy as tf.Tensor, interleaved), repAxes), x.shape)
      }
    })
  },
  {
    kernelName: tf.Reverse,
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.reverse(dy as tf.Tensor, attrs['dims'] as number | number[]) })
  },
  {
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved
      const batchDims = (attrs['batchDims'] as number | undefined) ?? 0
      if (batchDims !== 0)
        throw new Error('gather gradient: batchDims != 0 is not supported (and wrong on wasm, tfjs#8658)')
      const axis = tf.util.parseAxisParam(attrs['axis'] as number, x.shape)[0]
      return {
        x: () => gatherAdjoint(dy as tf.Tensor, indices, x.shape, axis),
        indices: () => zeroGrad(indices)
      }
    }
  },
  {
    // out[s] = sum_{i: ids[i] = s} x[i]  =>  dx[i] = dy[ids[i]].
    kernelName: tf.UnsortedSegmentSum,
    inputsToSave: ['segmentIds'],
    gradFunc: (dy, saved) => ({
      x: () => tf.gather(dy as tf.Tensor, saved[0], 0),
      segmentIds: () => zeroGrad(saved[0])
    })
  },
  {
    kernelName: tf.Select,
    inputsToSave: ['condition', 't', 'e'],
    gradFunc: (dy, saved) => {
      const [condition, t, e] = saved
      const g = dy as tf.Tensor
      const zeros = () => tf.zerosLike(g)
      return {
        condition: () => zeroGrad(condition),
        t: () => unbroadcast(tf.where(condition, g, zeros()), t.shape),
        e: () => unbroadcast(tf.where(condition, zeros(), g), e.shape)
      }
    }
  },
  ...[tf.OneHot, tf.ZerosLike, tf.OnesLike].map((kernelName): tf.GradConfig => ({
    kernelName,
    inputsToSave: [kernelName === tf.OneHot ? 'indices' : 'x'],
    gradFunc: (_dy, saved) => ({ [kernelName === tf.OneHot ? 'indices' : 'x']: () => zeroGrad(saved[0]) })
  }))
]
