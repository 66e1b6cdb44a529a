// Every kernel tmaml-ts differentiates, on every backend: first and second (and for the
// score-function primitives, third) directional derivatives against finite differences of the
// next-lower autodiff derivative. Inputs are drawn by fast-check (fixed seed) inside each op's
// domain and away from its kinks; tolerances are explained in src/graph/derivativeCheck.ts
// (atol = rtol = 2e-3 for float32 with h = 1e-2 and Richardson extrapolation).
import * as tf from '@tensorflow/tfjs-core'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Rng, rngAt } from '../../src/base/rng.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { checkDirectionalDerivative } from '../../src/graph/derivativeCheck.js'
import { differentiableKernels } from '../../src/graph/kernels/registerAll.js'
import { logSoftmax, logSumExp, magicBox, stopGradient } from '../../src/graph/ops.js'
import { availableBackends } from '../support/backends.js'

type Fn = (xs: ReadonlyArray<tf.Tensor>) => tf.Scalar
type Sampler = (r: Rng, size: number) => Float32Array

interface OpCase {
  readonly name: string
  /** Input shapes, drawn per run. */
  readonly shapes: (r: Rng) => ReadonlyArray<ReadonlyArray<number>>
  /** Values for input i (default: uniform on [-1.5, 1.5]). */
  readonly values?: (i: number, r: Rng, size: number, all: ReadonlyArray<Float32Array>) => Float32Array
  readonly fn: Fn
  /** For functions with stop-gradients: `fn` with the stopped parts frozen at the inputs `at`. */
  readonly frozen?: (at: ReadonlyArray<tf.Tensor>) => Fn
  readonly orders: ReadonlyArray<number>
}

const fill = (size: number, f: () => number): Float32Array => Float32Array.from({ length: size }, f)
const uniform =
  (lo: number, hi: number): Sampler =>
  (r, size) =>
    fill(size, () => r.uniform(lo, hi))
/** |x| in [lo, hi] with a random sign: away from a kink at 0. */
const awayFromZero =
  (lo: number, hi: number): Sampler =>
  (r, size) =>
    fill(size, () => (r.next() < 0.5 ? -1 : 1) * r.uniform(lo, hi))
/** Distinct values at least `gap` apart (for max/min: no ties, no swaps within a step of h). */
const distinct = (r: Rng, size: number, gap = 0.15): Float32Array => {
  const perm = Array.from({ length: size }, (_, i) => i)
  for (let i = size - 1; i > 0; i--) {
    const j = r.int(i + 1)
    ;[perm[i], perm[j]] = [perm[j], perm[i]]
  }
  // Positive, so that squares and cubes of the values are distinct too.
  return Float32Array.from(perm, (p) => 0.3 + p * gap + r.uniform(-0.01, 0.01))
}

/** A fixed, position-dependent weighting so readouts are not symmetric in their inputs. */
const weights = (shape: ReadonlyArray<number>): tf.Tensor => {
  const n = shape.reduce((a, b) => a * b, 1)
  return tf.tensor(
    Float32Array.from({ length: n }, (_, i) => 0.5 + ((i * 7) % 5) / 5),
    shape as number[]
  )
}
/** A scalar readout with non-zero derivatives of every order: sum(w * (t + t^3 / 3)). */
const readout = (t: tf.Tensor): tf.Scalar =>
  tf.sum(tf.mul(weights(t.shape), tf.add(t, tf.div(tf.mul(tf.mul(t, t), t), 3))))

/** The size of axis i (tfjs types shapes as tuples that may be shorter). */
const dim = (t: tf.Tensor, i: number): number => t.shape[i] as number
const dims = (r: Rng, lo = 1, hi = 4): number => lo + r.int(hi - lo + 1)
const same =
  (n: number) =>
  (r: Rng): ReadonlyArray<ReadonlyArray<number>> => {
    const s = [dims(r), dims(r)]
    return Array.from({ length: n }, () => s)
  }
const unaryCase = (
  name: string,
  op: (x: tf.Tensor) => tf.Tensor,
  sampler: Sampler = uniform(-1.5, 1.5),
  orders = [1, 2]
): OpCase => ({
  name,
  shapes: same(1),
  values: (_i, r, size) => sampler(r, size),
  fn: ([x]) => readout(op(x)),
  orders
})
const binaryCase = (name: string, op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, sampleB?: Sampler): OpCase => ({
  name,
  // b broadcasts along the first axis half of the time: exercises unbroadcast.
  shapes: (r) => {
    const s = [dims(r), dims(r)]
    return [s, r.next() < 0.5 ? s : [1, s[1]]]
  },
  values: (i, r, size) => (i === 1 && sampleB !== undefined ? sampleB(r, size) : uniform(-1.5, 1.5)(r, size)),
  fn: ([a, b]) => readout(op(a, b)),
  orders: [1, 2]
})

const cases: ReadonlyArray<OpCase> = [
  // Unary element-wise.
  unaryCase('exp', tf.exp, uniform(-1.5, 1.5), [1, 2, 3]),
  unaryCase('log', tf.log, uniform(0.5, 2), [1, 2, 3]),
  unaryCase('tanh', tf.tanh, uniform(-1.5, 1.5), [1, 2, 3]),
  unaryCase('tanh(x^2)', (x) => tf.tanh(tf.square(x)), uniform(-1.2, 1.2), [1, 2, 3]),
  {
    name: 'magic box',
    shapes: same(1),
    fn: ([x]) => readout(tf.mul(magicBox(tf.mul(x, x)), tf.add(x, 2))),
    frozen:
      ([x0]) =>
      ([x]) =>
        readout(tf.mul(tf.exp(tf.sub(tf.mul(x, x), tf.mul(x0, x0))), tf.add(x, 2))),
    orders: [1, 2, 3]
  },
  unaryCase('expm1', tf.expm1),
  unaryCase('log1p', tf.log1p, uniform(-0.5, 1.5)),
  unaryCase('sigmoid', tf.sigmoid, uniform(-2, 2), [1, 2, 3]),
  unaryCase('softplus', tf.softplus),
  unaryCase('sqrt', tf.sqrt, uniform(0.5, 2)),
  unaryCase('rsqrt', tf.rsqrt, uniform(0.5, 2)),
  unaryCase('square', tf.square),
  unaryCase('reciprocal', tf.reciprocal, awayFromZero(0.5, 2)),
  unaryCase('neg', tf.neg),
  unaryCase('abs', tf.abs, awayFromZero(0.1, 1.5)),
  unaryCase('sin', tf.sin),
  unaryCase('cos', tf.cos),
  unaryCase('erf', tf.erf),
  unaryCase('relu', tf.relu, awayFromZero(0.1, 1.5)),
  unaryCase('leakyRelu', (x) => tf.leakyRelu(x, 0.2), awayFromZero(0.1, 1.5)),
  unaryCase('elu', tf.elu, awayFromZero(0.1, 1.5)),
  unaryCase(
    'clipByValue',
    (x) => tf.clipByValue(x, -0.5, 0.5),
    (r, size) => fill(size, () => [r.uniform(-1, -0.6), r.uniform(-0.4, 0.4), r.uniform(0.6, 1)][r.int(3)])
  ),
  unaryCase('clone (Identity) and cast', (x) => tf.cast(tf.clone(x), 'float32')),
  {
    name: 'stopGradient',
    shapes: same(1),
    fn: ([x]) => readout(tf.add(tf.mul(stopGradient(x), x), tf.square(stopGradient(x)))),
    frozen:
      ([x0]) =>
      ([x]) =>
        readout(tf.add(tf.mul(x0, x), tf.square(x0))),
    orders: [1, 2, 3]
  },
  unaryCase(
    'piecewise-constant ops have zero derivative',
    (x) => {
      const step = tf.add(tf.add(tf.sign(x), tf.floor(x)), tf.add(tf.ceil(x), tf.round(x)))
      const flags = tf.cast(tf.logicalNot(tf.logicalOr(tf.isNaN(x), tf.isInf(x))), 'float32')
      const finite = tf.cast(tf.isFinite(x), 'float32')
      return tf.mul(tf.add(tf.mul(step, 0.1), tf.mul(flags, finite)), tf.square(x))
    },
    // Away from integers and half-integers, where floor/ceil/round jump.
    (r, size) => fill(size, () => (r.next() < 0.5 ? -1 : 1) * (r.int(2) + r.uniform(0.1, 0.4)))
  ),
  // Binary, broadcasting.
  binaryCase('add', tf.add),
  binaryCase('sub', tf.sub),
  binaryCase('mul', tf.mul),
  binaryCase('div', tf.div, awayFromZero(0.5, 2)),
  binaryCase('squaredDifference', tf.squaredDifference),
  {
    name: 'pow (base and exponent)',
    shapes: same(2),
    values: (i, r, size) => (i === 0 ? uniform(0.5, 2)(r, size) : uniform(-1.5, 1.5)(r, size)),
    fn: ([a, b]) => readout(tf.pow(a, b)),
    orders: [1, 2]
  },
  {
    name: 'maximum / minimum',
    shapes: same(2),
    values: (i, r, size, all) =>
      i === 0 ? uniform(-1.5, 1.5)(r, size) : all[0].map((a) => a + awayFromZero(0.2, 1)(r, 1)[0]),
    fn: ([a, b]) => readout(tf.add(tf.maximum(a, b), tf.mul(tf.minimum(a, b), 0.5))),
    orders: [1, 2]
  },
  {
    name: 'comparisons, logical ops and select (where)',
    shapes: same(2),
    values: (i, r, size, all) =>
      i === 0 ? uniform(-1.5, 1.5)(r, size) : all[0].map((a) => a + awayFromZero(0.2, 1)(r, 1)[0]),
    fn: ([a, b]) => {
      const gt = tf.greater(a, b)
      const mixed = tf.logicalAnd(tf.greaterEqual(a, b), tf.logicalOr(tf.less(a, b), tf.lessEqual(b, a)))
      const eq = tf.cast(tf.logicalOr(tf.equal(a, b), tf.notEqual(a, b)), 'float32')
      const fd = tf.floorDiv(tf.mul(a, 10), 3)
      const picked = tf.where(gt, tf.mul(a, a), tf.mul(tf.mul(b, b), b))
      return readout(tf.add(tf.mul(picked, eq), tf.mul(tf.cast(mixed, 'float32'), tf.add(a, tf.mul(fd, 0)))))
    },
    orders: [1, 2]
  },
  {
    name: 'addN',
    shapes: same(3),
    fn: ([a, b, c]) => readout(tf.addN([a, tf.mul(b, b), c])),
    orders: [1, 2]
  },
  // Reductions and scans.
  {
    name: 'sum / mean over an axis, keepDims',
    shapes: same(1),
    fn: ([x]) => readout(tf.add(tf.sum(tf.mul(x, x), 0, true), tf.mean(tf.exp(x), 1, true))),
    orders: [1, 2]
  },
  {
    name: 'sum / mean over all axes',
    shapes: same(1),
    fn: ([x]) => readout(tf.add(tf.sum(tf.tanh(x)), tf.mean(tf.mul(x, x)))),
    orders: [1, 2]
  },
  {
    name: 'max / min reductions',
    shapes: same(1),
    values: (_i, r, size) => distinct(r, size),
    fn: ([x]) => readout(tf.add(tf.max(tf.mul(x, x), 1), tf.min(tf.mul(tf.mul(x, x), x), 1))),
    orders: [1, 2]
  },
  {
    name: 'cumsum on every axis, exclusive and reverse',
    shapes: (r) => [[dims(r, 2), dims(r, 2), dims(r, 2)]],
    fn: ([x]) =>
      readout(
        tf.addN([
          tf.cumsum(x, 0),
          tf.cumsum(tf.mul(x, x), 1, true),
          tf.cumsum(x, 2, false, true),
          tf.cumsum(x, 1, true, true)
        ])
      ),
    orders: [1, 2, 3]
  },
  {
    name: 'softmax, logSoftmax, logSumExp',
    shapes: same(1),
    fn: ([x]) => readout(tf.addN([tf.softmax(x), logSoftmax(x), tf.mul(logSumExp(x, 1, true), tf.onesLike(x))])),
    orders: [1, 2, 3]
  },
  // Data movement.
  {
    name: 'reshape, transpose, reverse',
    shapes: (r) => [[dims(r, 2), dims(r, 2), dims(r, 1)]],
    fn: ([x]) =>
      readout(
        tf.add(
          tf.reverse(tf.reshape(tf.transpose(x, [2, 0, 1]), [-1]), 0),
          tf.mul(tf.reshape(tf.expandDims(tf.reshape(x, [-1]), 0), [-1]), 0.5)
        )
      ),
    orders: [1, 2]
  },
  {
    name: 'slice, pad',
    shapes: (r) => [[dims(r, 3), dims(r, 3)]],
    fn: ([x]) =>
      readout(
        tf.add(
          tf.pad(tf.slice(x, [1, 0], [-1, 2]), [
            [1, 0],
            [0, dim(x, 1) - 2]
          ]),
          tf.mul(x, 0.1)
        )
      ),
    orders: [1, 2]
  },
  {
    name: 'concat, split, stack, unstack',
    shapes: (r) => {
      const n = dims(r)
      return [
        [n, dims(r)],
        [n, dims(r)]
      ]
    },
    fn: ([a, b]) => {
      const c = tf.concat([tf.mul(a, a), b], 1)
      const [p, q] = tf.split(c, [dim(a, 1), dim(b, 1)], 1)
      const s = tf.stack([tf.sum(p, 1), tf.sum(tf.mul(q, q), 1)], 1)
      const [u, v] = tf.unstack(s, 1)
      return readout(tf.add(tf.mul(u, v), tf.sum(c)))
    },
    orders: [1, 2]
  },
  {
    name: 'tile and broadcastTo',
    shapes: (r) => [[1, dims(r)]],
    fn: ([x]) =>
      readout(
        tf.add(
          tf.tile(x, [3, 2]),
          tf.concat([tf.broadcastTo(tf.mul(x, x), [3, dim(x, 1)]), tf.broadcastTo(x, [3, dim(x, 1)])], 1)
        )
      ),
    orders: [1, 2]
  },
  {
    name: 'gather on axes 0 and 1 (and the segment sum in its gradient)',
    shapes: (r) => {
      const n = dims(r, 2)
      return [[n, n]]
    },
    fn: ([x]) => {
      const i0 = tf.tensor1d([dim(x, 0) - 1, 0, dim(x, 0) - 1], 'int32')
      const i1 = tf.tensor1d([1, 1, 0], 'int32')
      return readout(tf.add(tf.gather(tf.mul(x, x), i0, 0), tf.transpose(tf.gather(tf.exp(x), i1, 1))))
    },
    orders: [1, 2, 3]
  },
  {
    name: 'unsortedSegmentSum',
    shapes: (r) => [[4, dims(r)]],
    fn: ([x]) => readout(tf.unsortedSegmentSum(tf.mul(x, x), tf.tensor1d([2, 0, 2, 1], 'int32'), 3)),
    orders: [1, 2]
  },
  {
    name: 'argMax/argMin, oneHot, zerosLike/onesLike on the path',
    shapes: same(1),
    values: (_i, r, size) => distinct(r, size),
    fn: ([x]) => {
      const k = dim(x, 1)
      const hard = tf.add(tf.oneHot(tf.argMax(x, 1) as tf.Tensor1D, k), tf.oneHot(tf.argMin(x, 1) as tf.Tensor1D, k))
      return readout(
        tf.add(tf.mul(tf.cast(hard, 'float32'), tf.mul(x, x)), tf.add(tf.zerosLike(x), tf.mul(tf.onesLike(x), x)))
      )
    },
    orders: [1, 2]
  },
  // Matrix products, all transpose combinations, and batch broadcasting.
  ...(
    [
      [false, false],
      [false, true],
      [true, false],
      [true, true]
    ] as const
  ).map(([tA, tB]): OpCase => ({
    name: `matMul transposeA=${tA} transposeB=${tB}`,
    shapes: (r) => {
      const [m, k, n] = [dims(r), dims(r), dims(r)]
      return [tA ? [k, m] : [m, k], tB ? [n, k] : [k, n]]
    },
    fn: ([a, b]) => readout(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, tA, tB)),
    orders: [1, 2, 3]
  })),
  {
    name: 'batched matMul with a broadcast batch',
    shapes: (r) => {
      const [m, k, n] = [dims(r), dims(r), dims(r)]
      return [
        [2, m, k],
        [1, k, n]
      ]
    },
    fn: ([a, b]) => readout(tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D)),
    orders: [1, 2]
  }
]

const makeInputs = (c: OpCase, seed: number): { xs: tf.Tensor[]; us: tf.Tensor[] } => {
  const r = rngAt(seed, c.name)
  const shapes = c.shapes(r)
  const values: Float32Array[] = []
  shapes.forEach((s, i) => {
    const size = s.reduce((a, b) => a * b, 1)
    values.push(c.values ? c.values(i, r, size, values) : uniform(-1.5, 1.5)(r, size))
  })
  const xs = shapes.map((s, i) => tf.tensor(values[i], s as number[]))
  const us = shapes.map((s) => {
    const u = fill(
      s.reduce((a, b) => a * b, 1),
      () => r.uniform(-1, 1)
    )
    return tf.tensor(u, s as number[])
  })
  return { xs, us }
}

const backends = await availableBackends()

describe.each(backends)('higher-order derivatives on %s', (backend) => {
  beforeAll(async () => {
    await initBackendOrThrow(backend)
  })

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { xs, us } = makeInputs(c, seed)
        for (const order of c.orders) {
          const check = checkDirectionalDerivative(c.fn, xs, us, order, { reference: c.frozen?.(xs) })
          if (!check.ok)
            throw new Error(
              `${c.name} order ${order}: autodiff ${check.autodiff} vs finite difference ${check.finiteDifference} (error ratio ${check.errorRatio.toFixed(2)})`
            )
        }
        tf.dispose([...xs, ...us])
      }),
      { seed: 20190611, numRuns: 8 }
    )
  })

  it('exercises every kernel of the gradient layer', async () => {
    const seen = new Set<string>()
    for (const c of cases) {
      const { xs, us } = makeInputs(c, 1)
      const info = await tf.profile(() => {
        checkDirectionalDerivative(c.fn, xs, us, 2, { reference: c.frozen?.(xs) })
      })
      info.kernelNames.forEach((k) => seen.add(k))
      tf.dispose([...xs, ...us])
    }
    const missing = differentiableKernels.filter((k) => !seen.has(k))
    expect(missing).toEqual([])
  })
})
