// Every native kernel against the stock tfjs cpu kernel, on random shapes (fast-check): transposes,
// batch broadcasting, subarray inputs (non-zero byteOffset), empty and size-1 dims, keepDims.
// Kernels are called directly on one NativeBackend instance, so both sides read the same storage.
import * as tf from '@tensorflow/tfjs-core'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { addonPath, loadAddon, nativeBackendName, nativeStatus } from '../../src/native/index.js'
import { matMulKernel } from '../../src/native/kernels/matMul.js'
import { describeNative } from '../support/backends.js'
import { NativeBackend } from '../../src/native/storage.js'

const status = nativeStatus()

const be = new NativeBackend()
afterAll(() => be.dispose())

type Dtype = 'float32' | 'int32'

interface Input {
  readonly shape: ReadonlyArray<number>
  readonly values: Float32Array | Int32Array
}

interface Output {
  readonly shape: ReadonlyArray<number>
  readonly values: Float32Array | Int32Array
  readonly dtype: string
}

const sizeOf = (s: ReadonlyArray<number>): number => s.reduce((p, d) => p * d, 1)

/** Values from a small LCG; `special` mixes in NaN, +-Inf, +-0, subnormals and huge numbers. */
const fill = (n: number, seed: number, scale: number, special: boolean): Float32Array => {
  const v = new Float32Array(n)
  let s = (seed * 2654435761 + 12345) >>> 0
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
  const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -3e-39, 3e38, -1e30, 88.8, -103.5, 9.1, -0.5]
  for (let i = 0; i < n; i++)
    v[i] = special && next() < 0.15 ? specials[Math.floor(next() * specials.length)] : (next() * 2 - 1) * scale
  return v
}

/**
 * A tensor's storage: a fresh array, or (offset > 0) a subarray of a larger array with garbage
 * around it, so the addon must honour byteOffset.
 */
const place = <A extends Float32Array | Int32Array>(values: A, offset: number): A => {
  if (offset === 0) return values
  const Ctor = values.constructor as { new (n: number): A }
  const big = new Ctor(values.length + offset + 3)
  big.fill(-7 as never)
  big.set(values as never, offset)
  return big.subarray(offset, offset + values.length) as A
}

/** Run kernel `name` registered for `backendName` on the shared backend; dispose inputs and output. */
const runKernel = (
  backendName: string,
  name: string,
  inputs: Readonly<Record<string, Input & { readonly dtype?: Dtype; readonly offset?: number }>>,
  attrs: tf.NamedAttrMap
): Output => {
  const k = tf.getKernel(name, backendName)
  if (k === undefined) throw new Error(`no ${name} on ${backendName}`)
  const infos: Record<string, tf.TensorInfo> = {}
  for (const [key, x] of Object.entries(inputs)) {
    const dtype = x.dtype ?? 'float32'
    const stored = place(x.values, x.offset ?? 0)
    infos[key] = be.makeTensorInfo([...x.shape], dtype, stored)
    // The cpu backend stores what it is given: the subarray really is what the kernel reads.
    expect(be.data.get(infos[key].dataId)?.values).toBe(stored)
  }
  const out = k.kernelFunc({ inputs: infos, backend: be, attrs }) as tf.TensorInfo
  const values = (be.data.get(out.dataId)?.values as Float32Array | Int32Array).slice()
  for (const t of [...Object.values(infos), out]) be.disposeData(t.dataId, true)
  return { shape: out.shape, values, dtype: out.dtype }
}

/**
 * `values` of `shape` ([...batch, rows, cols]) expanded to the batch shape `outBatch` (numpy
 * broadcasting of the batch dims), as a tensor input with identical batch dims.
 */
const expandBatch = (values: Float32Array, shape: number[], outBatch: number[]): Input => {
  const mat = shape.slice(-2)
  const matSize = sizeOf(mat)
  const batch = shape.slice(0, -2)
  const aligned = outBatch.map((_, d) => {
    const j = d - (outBatch.length - batch.length)
    return j >= 0 ? batch[j] : 1
  })
  const total = sizeOf(outBatch)
  const out = new Float32Array(total * matSize)
  for (let i = 0; i < total; i++) {
    let rem = i
    let src = 0
    let stride = 1
    for (let d = outBatch.length - 1; d >= 0; d--) {
      const pos = rem % outBatch[d]
      rem = Math.floor(rem / outBatch[d])
      if (aligned[d] !== 1) src += pos * stride
      stride *= aligned[d]
    }
    out.set(values.subarray(src * matSize, (src + 1) * matSize), i * matSize)
  }
  return { shape: [...outBatch, ...mat], values: out }
}

const both = (
  name: string,
  inputs: Parameters<typeof runKernel>[2],
  attrs: tf.NamedAttrMap = {}
): { got: Output; want: Output } => ({
  got: runKernel('native', name, inputs, attrs),
  want: runKernel('cpu', name, inputs, attrs)
})

const f32 = new Float32Array(1)
const i32 = new Int32Array(f32.buffer)
/** Position of a float32 on the number line in units of ulp (+0 and -0 both 0). */
const ordinal = (x: number): number => {
  f32[0] = x
  const i = i32[0]
  return i < 0 ? -(i & 0x7fffffff) : i
}
/** Distance in float32 ulps; 0 for two NaNs, Infinity for NaN against a number. */
const ulps = (a: number, b: number): number =>
  Number.isNaN(a) || Number.isNaN(b)
    ? Number.isNaN(a) && Number.isNaN(b)
      ? 0
      : Infinity
    : Math.abs(ordinal(a) - ordinal(b))

const expectSameShape = (got: Output, want: Output): void => {
  expect(got.shape).toEqual(want.shape)
  expect(got.dtype).toBe(want.dtype)
  expect(got.values.length).toBe(want.values.length)
}

/** Bitwise equality (NaN equals NaN; -0 differs from +0). */
const expectExact = (got: Output, want: Output): void => {
  expectSameShape(got, want)
  for (let i = 0; i < want.values.length; i++) {
    const ok = Object.is(got.values[i], want.values[i]) || (Number.isNaN(got.values[i]) && Number.isNaN(want.values[i]))
    if (!ok) expect(`[${i}] ${got.values[i]}`).toBe(`[${i}] ${want.values[i]}`)
  }
}

const expectUlps = (got: Output, want: Output, maxUlps: number): void => {
  expectSameShape(got, want)
  for (let i = 0; i < want.values.length; i++) {
    const d = ulps(got.values[i], want.values[i])
    if (d > maxUlps) expect(`[${i}] ${got.values[i]} (${d} ulps)`).toBe(`[${i}] ${want.values[i]}`)
  }
}

/** |got - want| <= bound[i] elementwise (bounds from an error analysis of the computation). */
const expectWithin = (got: Output, want: Output, bound: (i: number) => number): void => {
  expectSameShape(got, want)
  for (let i = 0; i < want.values.length; i++) {
    const g = got.values[i]
    const w = want.values[i]
    const ok = (Number.isNaN(g) && Number.isNaN(w)) || g === w || Math.abs(g - w) <= bound(i)
    if (!ok) expect(`[${i}] ${g} (bound ${bound(i)})`).toBe(`[${i}] ${w}`)
  }
}

// ---------------------------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------------------------

const dim = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(0, 1) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 6 }) }
)
const shapeArb = (maxRank: number) => fc.array(dim, { minLength: 0, maxLength: maxRank })
const offsetArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9 }))
const seedArb = fc.integer({ min: 0, max: 2 ** 30 })

/** A shape that broadcasts to `out`: a suffix of it with some dims set to 1. */
const broadcastOf = (out: ReadonlyArray<number>) =>
  fc
    .integer({ min: 0, max: out.length })
    .chain((k) =>
      fc
        .array(fc.boolean(), { minLength: k, maxLength: k })
        .map((ones) => out.slice(out.length - k).map((d, i) => (ones[i] ? 1 : d)))
    )

const runs = { numRuns: 150 }

// The built-in GEMM (csrc/gemm_builtin.h) is in every build: its BatchMatMul is registered under a
// backend name of its own, so it is checked here even when the build multiplies with OpenBLAS.
const builtinGemmBackend = `${nativeBackendName}-builtin-gemm`
if (status.active) {
  const loaded = loadAddon(process.env['TMAML_NATIVE_ADDON'] ?? addonPath)
  if (loaded._tag !== 'Loaded') throw new Error(`the active addon does not load again: ${loaded.reason}`)
  const kernel = matMulKernel({ ...loaded.addon, matMul: loaded.addon.matMulBuiltin })
  tf.registerKernel({ ...kernel, backendName: builtinGemmBackend })
}

describeNative('native kernels vs the tfjs cpu kernels', () => {
  describe.each([
    [nativeBackendName, `the build's GEMM (${status.gemm ?? '?'})`],
    [builtinGemmBackend, 'the built-in GEMM']
  ])('BatchMatMul on %s', (backendName, gemm) => {
    it(`is within float32 accumulation error of the cpu kernel for any transposes and batch broadcasting: ${gemm}`, () => {
      const arb = fc
        .record({
          batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
          // 17, 33 and 64 rows: ragged and whole register tiles; 300: two KC blocks; 270 columns: two NC blocks.
          m: fc.oneof(dim, fc.constantFrom(17, 33, 64)),
          n: fc.oneof(dim, fc.constantFrom(17, 40, 270)),
          k: fc.oneof(dim, fc.constantFrom(20, 64, 300)),
          tA: fc.boolean(),
          tB: fc.boolean(),
          offA: offsetArb,
          offB: offsetArb,
          seed: seedArb
        })
        .chain((r) => fc.record({ r: fc.constant(r), ba: broadcastOf(r.batch), bb: broadcastOf(r.batch) }))
      fc.assert(
        fc.property(arb, ({ r, ba, bb }) => {
          const aShape = [...ba, ...(r.tA ? [r.k, r.m] : [r.m, r.k])]
          const bShape = [...bb, ...(r.tB ? [r.n, r.k] : [r.k, r.n])]
          const a = fill(sizeOf(aShape), r.seed, 2, false)
          const b = fill(sizeOf(bShape), r.seed + 1, 2, false)
          const attrs = { transposeA: r.tA, transposeB: r.tB }
          const got = runKernel(
            backendName,
            tf.BatchMatMul,
            { a: { shape: aShape, values: a, offset: r.offA }, b: { shape: bShape, values: b, offset: r.offB } },
            attrs
          )
          // The reference: the cpu kernel on operands expanded to the full batch shape (the cpu kernel
          // indexes broadcast batches modulo their count, which is not numpy broadcasting when e.g.
          // [2, 2] meets [2, 1]; native follows numpy, like the gradient layer's unbroadcast).
          const outBatch = tf.backend_util.assertAndGetBroadcastShape(ba, bb)
          const full = (v: Float32Array, shape: number[]) => expandBatch(v, shape, outBatch)
          const ref = (f: (x: number) => number) =>
            runKernel('cpu', tf.BatchMatMul, { a: full(a.map(f), aShape), b: full(b.map(f), bShape) }, attrs)
          const want = ref((x) => x)
          // sgemm accumulates in float32: |error| <= k eps sum_k |a_ik| |b_kj| (+ the final rounding).
          const absProd = ref(Math.abs)
          expectWithin(got, want, (i) => (r.k + 2) * 2 ** -23 * absProd.values[i])
        }),
        runs
      )
    })
  })

  describe('unary kernels', () => {
    const cases: ReadonlyArray<readonly [string, number, number]> = [
      // kernel, max ulps from the cpu kernel (which computes in double and rounds), input scale
      [tf.Neg, 0, 10],
      [tf.Square, 0, 10],
      [tf.Abs, 0, 10],
      [tf.Relu, 0, 10],
      [tf.Sqrt, 0, 10],
      [tf.Reciprocal, 0, 10],
      [tf.Rsqrt, 0, 10],
      [tf.Log, 1, 10],
      [tf.Exp, 4, 30],
      [tf.Tanh, 4, 6],
      [tf.Sigmoid, 4, 30]
    ]
    for (const [name, maxUlps, scale] of cases) {
      it(`${name} is within ${maxUlps} ulp of the cpu kernel, special values included`, () => {
        fc.assert(
          fc.property(shapeArb(4), seedArb, offsetArb, fc.boolean(), (shape, seed, offset, special) => {
            const x = fill(sizeOf(shape), seed, scale, special)
            const { got, want } = both(name, { x: { shape, values: x, offset } })
            expectUlps(got, want, maxUlps)
          }),
          runs
        )
      })
    }

    it('tanh and exp stay within 4 ulp over a dense sweep of their whole range', () => {
      const n = 200_003
      const x = new Float32Array(n)
      for (let i = 0; i < n; i++) x[i] = -110 + (220 * i) / (n - 1)
      for (const name of [tf.Tanh, tf.Exp, tf.Sigmoid]) {
        const { got, want } = both(name, { x: { shape: [n], values: x } })
        expectUlps(got, want, 4)
      }
      const small = x.map((v) => v / 128) // the polynomial branch of tanh, |x| < 0.86
      const { got, want } = both(tf.Tanh, { x: { shape: [n], values: small } })
      expectUlps(got, want, 4)
    })

    it('int32 inputs fall back to the cpu kernel', () => {
      const x = Int32Array.from([3, -4, 0, 7])
      const { got, want } = both(tf.Neg, { x: { shape: [4], values: x, dtype: 'int32' } })
      expectExact(got, want)
    })
  })

  describe('binary kernels', () => {
    const names = [tf.Add, tf.Sub, tf.Multiply, tf.RealDiv, tf.SquaredDifference, tf.Maximum, tf.Minimum]
    const arb = shapeArb(5).chain((out) =>
      fc.record({
        out: fc.constant(out),
        a: broadcastOf(out),
        b: broadcastOf(out),
        offA: offsetArb,
        offB: offsetArb,
        seed: seedArb,
        special: fc.boolean(),
        swap: fc.boolean()
      })
    )
    for (const name of names) {
      it(`${name} equals the cpu kernel bit for bit under broadcasting`, () => {
        fc.assert(
          fc.property(arb, (r) => {
            // `swap` lets the full-shape operand be either a or b.
            const [sa, sb] = r.swap ? [r.out, r.a] : [r.a, r.b]
            const a = fill(sizeOf(sa), r.seed, 5, r.special)
            const b = fill(sizeOf(sb), r.seed + 7, 5, r.special)
            const { got, want } = both(name, {
              a: { shape: sa, values: a, offset: r.offA },
              b: { shape: sb, values: b, offset: r.offB }
            })
            expectExact(got, want)
          }),
          runs
        )
      })
    }

    it('the broadcast shapes the workload emits match exactly', () => {
      const shapes: ReadonlyArray<readonly [number[], number[]]> = [
        [
          [20, 1000, 64],
          [20, 1, 64]
        ],
        [[1000, 64], [64]],
        [[20, 1000, 6], []],
        [[], [20, 1000, 64]],
        [
          [1000, 1],
          [1000, 6]
        ],
        [
          [20, 1000, 6],
          [20, 1, 6]
        ],
        [
          [20, 1, 6],
          [20, 1000, 6]
        ]
      ]
      for (const [sa, sb] of shapes)
        for (const name of names) {
          const { got, want } = both(name, {
            a: { shape: sa, values: fill(sizeOf(sa), 1, 3, false) },
            b: { shape: sb, values: fill(sizeOf(sb), 2, 3, false) }
          })
          expectExact(got, want)
        }
    })

    it('mixed and int32 dtypes fall back to the cpu kernel', () => {
      const { got, want } = both(tf.Add, {
        a: { shape: [2, 2], values: Int32Array.from([1, 2, 3, 4]), dtype: 'int32' },
        b: { shape: [2], values: Int32Array.from([10, 20]), dtype: 'int32' }
      })
      expectExact(got, want)
      expect(got.dtype).toBe('int32')
    })
  })

  describe('reductions', () => {
    const arb = shapeArb(5).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        axes: fc.subarray(
          shape.map((_, i) => i),
          { minLength: 0 }
        ),
        negative: fc.boolean(),
        all: fc.boolean(),
        keepDims: fc.boolean(),
        offset: offsetArb,
        seed: seedArb,
        special: fc.boolean()
      })
    )
    // tf.sum(x) etc. pass axis null for "all axes", which NamedAttrMap's type does not admit.
    const attrFor = (name: string, axis: number[] | null, keepDims: boolean): tf.NamedAttrMap =>
      (name === tf.Max ? { reductionIndices: axis, keepDims } : { axis, keepDims }) as unknown as tf.NamedAttrMap
    const axisOf = (r: { shape: ReadonlyArray<number>; axes: number[]; negative: boolean; all: boolean }) =>
      r.all ? null : r.negative ? r.axes.map((a) => a - r.shape.length) : r.axes

    for (const name of [tf.Max, tf.Min]) {
      it(`${name} equals the cpu kernel over any axes, keepDims or not`, () => {
        fc.assert(
          fc.property(arb, (r) => {
            const x = fill(sizeOf(r.shape), r.seed, 5, r.special)
            const { got, want } = both(
              name,
              { x: { shape: r.shape, values: x, offset: r.offset } },
              attrFor(name, axisOf(r), r.keepDims)
            )
            expectExact(got, want)
          }),
          runs
        )
      })
    }

    for (const name of [tf.Sum, tf.Mean, tf.Prod]) {
      it(`${name} is within float32 rounding of the cpu kernel over any axes, keepDims or not`, () => {
        fc.assert(
          fc.property(arb, (r) => {
            const x = fill(sizeOf(r.shape), r.seed, name === tf.Prod ? 1.5 : 5, r.special)
            const attrs = attrFor(name, axisOf(r), r.keepDims)
            const { got, want } = both(name, { x: { shape: r.shape, values: x, offset: r.offset } }, attrs)
            // Both accumulate in double but in different orders (and cpu Mean divides each term
            // first): allow 2 ulp of the result plus double-level error of sum |x| ...
            const absSum = runKernel(
              'cpu',
              tf.Sum,
              { x: { shape: r.shape, values: x.map(Math.abs) } },
              attrFor(tf.Sum, axisOf(r), r.keepDims)
            )
            const n = Math.max(1, sizeOf(r.shape) / Math.max(1, want.values.length))
            expectWithin(got, want, (i) => {
              const w = want.values[i]
              const ulp = Math.abs(w) * 2 ** -23 + 1e-45
              // ... and, for Mean, cpu's per-term rounding: half an ulp of each |x| / n.
              const meanTerm = name === tf.Mean ? (absSum.values[i] / n) * 2 ** -23 : 0
              return 2 * ulp + absSum.values[i] * 2 ** -40 + meanTerm
            })
          }),
          runs
        )
      })
    }

    it('int32 inputs fall back to the cpu kernel', () => {
      const { got, want } = both(
        tf.Sum,
        { x: { shape: [2, 3], values: Int32Array.from([1, 2, 3, 4, 5, 6]), dtype: 'int32' } },
        { axis: [1], keepDims: true }
      )
      expectExact(got, want)
    })
  })

  describe('Cumsum', () => {
    it('equals the cpu kernel bit for bit on any axis, exclusive and reverse, special values included', () => {
      const arb = shapeArb(4)
        .filter((shape) => shape.length > 0)
        .chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: fc.integer({ min: 0, max: shape.length - 1 }),
            exclusive: fc.boolean(),
            reverse: fc.boolean(),
            offset: offsetArb,
            seed: seedArb,
            special: fc.boolean()
          })
        )
      fc.assert(
        fc.property(arb, (r) => {
          const { got, want } = both(
            tf.Cumsum,
            { x: { shape: r.shape, values: fill(sizeOf(r.shape), r.seed, 100, r.special), offset: r.offset } },
            { axis: r.axis, exclusive: r.exclusive, reverse: r.reverse }
          )
          expectExact(got, want)
        }),
        runs
      )
    })

    it("equals the cpu kernel on the estimators' shape, [tasks x episodes, T] along T", () => {
      for (const [exclusive, reverse] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true]
      ]) {
        const { got, want } = both(
          tf.Cumsum,
          { x: { shape: [800, 100], values: fill(80000, 7, 3, false) } },
          { axis: 1, exclusive, reverse }
        )
        expectExact(got, want)
      }
    })
  })

  describe('Transpose and Tile', () => {
    const permArb = shapeArb(6).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        perm: fc.shuffledSubarray(
          shape.map((_, i) => i),
          { minLength: shape.length, maxLength: shape.length }
        ),
        int: fc.boolean(),
        offset: offsetArb,
        seed: seedArb
      })
    )
    it('Transpose equals the cpu kernel for any permutation, float32 and int32', () => {
      fc.assert(
        fc.property(permArb, (r) => {
          const f = fill(sizeOf(r.shape), r.seed, 100, true)
          const values = r.int ? Int32Array.from(f, (v) => (Number.isFinite(v) ? Math.trunc(v) : 5)) : f
          const { got, want } = both(
            tf.Transpose,
            { x: { shape: r.shape, values, offset: r.offset, dtype: r.int ? 'int32' : 'float32' } },
            { perm: r.perm }
          )
          expectExact(got, want)
        }),
        runs
      )
    })

    it('Transpose of large last-two-axes swaps (the blocked path) equals the cpu kernel', () => {
      for (const shape of [
        [3, 70, 45],
        [129, 64],
        [2, 64, 1000]
      ]) {
        const perm = shape.length === 2 ? [1, 0] : [0, 2, 1]
        const { got, want } = both(tf.Transpose, { x: { shape, values: fill(sizeOf(shape), 4, 1, false) } }, { perm })
        expectExact(got, want)
      }
    })

    it('Tile equals the cpu kernel for any repetitions', () => {
      const arb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
        fc.record({
          shape: fc.constant(shape),
          reps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: shape.length, maxLength: shape.length }),
          offset: offsetArb,
          seed: seedArb
        })
      )
      fc.assert(
        fc.property(arb, (r) => {
          const x = fill(sizeOf(r.shape), r.seed, 10, true)
          const { got, want } = both(tf.Tile, { x: { shape: r.shape, values: x, offset: r.offset } }, { reps: r.reps })
          expectExact(got, want)
        }),
        runs
      )
    })
  })
})
