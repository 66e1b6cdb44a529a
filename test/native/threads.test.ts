// Kernel threads (csrc/parallel.cc): the split kernels give bit-for-bit the results of one thread,
// whatever the thread count, on both GEMMs; the work was really split (the addon counts split jobs);
// `withKernelThreads` restores the count, also on a throw; and a PPO and a TRPO step of the pipeline
// are identical at 1 and 3 threads. Splitting a folded GEMM's rows per thread (one OpenBLAS call per
// thread's rows, instead of fixed blocks) fails the kernel test: 31,370 of 532,160 outputs differed.
import { afterEach, beforeAll, expect, it } from 'vitest'
import { initBackendOrThrow, withKernelThreads } from '../../src/graph/backend.js'
import { type NativeAddon, loadAddon, setNativeKernelThreads } from '../../src/native/index.js'
import { UnaryOp, BinaryOp } from '../../src/native/addon.js'
import { makePipelineData, pipelineProblem, runPipeline } from '../../benchmarks/autodiff/pipelineWorkload.js'
import { disposeMetaProblem } from '../../src/pipelines/meta.js'
import { describeNative } from '../support/backends.js'

/** Values from a small LCG in [-scale, scale). */
const fill = (n: number, seed: number, scale = 3): Float32Array => {
  const v = new Float32Array(n)
  let s = (seed * 2654435761 + 12345) >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    v[i] = scale * (2 * (s / 2 ** 32) - 1)
  }
  return v
}

const dims = (...xs: ReadonlyArray<number>): Int32Array => Int32Array.from(xs)

/** Each case computes one kernel into a fresh output. */
const cases = (addon: NativeAddon): Readonly<Record<string, () => Float32Array>> => {
  // Large enough to be split (>= 2^17 elements, >= 2^22 multiply-adds), with ragged tails.
  const n = (1 << 17) * 3 + 37
  const x = fill(n, 1)
  const y = fill(n, 2)
  const rows = 4096 * 2 + 123
  const a17 = fill(rows * 17, 3)
  const w = fill(17 * 64, 4, 0.5)
  const h = fill(rows * 64, 5)
  const w64 = fill(64 * 64, 6, 0.2)
  const bA = fill(12 * 700 * 64, 7)
  const bB = fill(12 * 64 * 64, 8, 0.2)
  const unary = (op: UnaryOp) => () => {
    const out = new Float32Array(n)
    addon.unary(op, x, out)
    return out
  }
  const matMul =
    (mm: NativeAddon['matMul'], A: Float32Array, B: Float32Array, d: Int32Array, size: number) => (): Float32Array => {
      const out = new Float32Array(size)
      mm(A, B, out, d, null, null)
      return out
    }
  const out: Record<string, () => Float32Array> = {
    tanh: unary(UnaryOp.Tanh),
    exp: unary(UnaryOp.Exp),
    log: () => {
      const out = new Float32Array(n)
      addon.unary(UnaryOp.Log, x.map(Math.abs), out)
      return out
    },
    'add (rank 1)': () => {
      const out = new Float32Array(n)
      addon.binary(BinaryOp.Add, x, y, out, dims(1, n, n, n))
      return out
    },
    'multiply (rows x broadcast row)': () => {
      const out = new Float32Array(rows * 64)
      addon.binary(BinaryOp.Multiply, h, w64.subarray(0, 64), out, dims(2, rows, 64, rows, 64, 1, 64))
      return out
    }
  }
  for (const [name, mm] of [
    ['openblas-or-build', addon.matMul],
    ['builtin', addon.matMulBuiltin]
  ] as const) {
    // folded: one B for all rows
    out[`${name}: [rows, 17] x [17, 64]`] = matMul(mm, a17, w, dims(1, 1, 1, rows, 64, 17, 0, 0), rows * 64)
    out[`${name}: [rows, 64] x [64, 64]^T`] = matMul(mm, h, w64, dims(1, 1, 1, rows, 64, 64, 0, 1), rows * 64)
    // batched: one B per batch item, with and without transposes
    out[`${name}: batched`] = matMul(mm, bA, bB, dims(12, 12, 12, 700, 64, 64, 0, 0), 12 * 700 * 64)
    out[`${name}: batched A^T B`] = matMul(mm, bA, bA, dims(12, 12, 12, 64, 64, 700, 1, 0), 12 * 64 * 64)
  }
  return out
}

describeNative('kernel threads', () => {
  const loaded = loadAddon()
  const addon = loaded._tag === 'Loaded' ? loaded.addon : undefined

  beforeAll(async () => {
    await initBackendOrThrow('native')
  })
  afterEach(() => addon?.setThreads(1))

  it('clamps the count to [1, 64] and defaults to 1', () => {
    if (addon === undefined) return expect.fail('the addon did not load')
    expect(addon.threads()).toBe(1)
    addon.setThreads(0)
    expect(addon.threads()).toBe(1)
    addon.setThreads(-3)
    expect(addon.threads()).toBe(1)
    addon.setThreads(3)
    expect(addon.threads()).toBe(3)
  })

  it('gives every split kernel bit for bit the one-thread result, at 2 and 3 threads, and splits it', () => {
    if (addon === undefined) return expect.fail('the addon did not load')
    for (const [name, f] of Object.entries(cases(addon))) {
      addon.setThreads(1)
      const before = addon.splitJobs()
      const one = f()
      expect(addon.splitJobs(), `${name} split at 1 thread`).toBe(before)
      for (const t of [2, 3]) {
        addon.setThreads(t)
        const split = addon.splitJobs()
        const many = f()
        expect(addon.splitJobs(), `${name} was not split at ${t} threads`).toBeGreaterThan(split)
        let differ = 0
        for (let i = 0; i < one.length; i++) if (!Object.is(one[i], many[i])) differ++
        expect(differ, `${name} at ${t} threads: outputs that differ from 1 thread`).toBe(0)
      }
    }
  })

  it('does not split small work', () => {
    if (addon === undefined) return expect.fail('the addon did not load')
    addon.setThreads(2)
    const before = addon.splitJobs()
    const out = new Float32Array(1000)
    addon.unary(UnaryOp.Tanh, fill(1000, 9), out)
    addon.matMul(
      fill(64 * 64, 1),
      fill(64 * 64, 2),
      new Float32Array(64 * 64),
      dims(1, 1, 1, 64, 64, 64, 0, 0),
      null,
      null
    )
    expect(addon.splitJobs()).toBe(before)
  })

  it('withKernelThreads sets the count for f only, restoring it after a return and a throw', () => {
    if (addon === undefined) return expect.fail('the addon did not load')
    expect(withKernelThreads(3, () => addon.threads())).toBe(3)
    expect(addon.threads()).toBe(1)
    expect(() =>
      withKernelThreads(2, () => {
        throw new Error('boom')
      })
    ).toThrow('boom')
    expect(addon.threads()).toBe(1)
    expect(withKernelThreads(0, () => addon.threads())).toBeGreaterThanOrEqual(1)
    expect(setNativeKernelThreads(1)).toBe(1)
  })

  it('a PPO and a TRPO step of the pipeline are identical at 1 and 3 kernel threads', () => {
    if (addon === undefined) return expect.fail('the addon did not load')
    // 8 tasks x 10 episodes x 100 steps: 8000 rows, two folded GEMM blocks, 512k-element activations.
    const d = makePipelineData(3, { tasks: 8, episodes: 10, horizon: 100, obsDim: 17, actDim: 6, hidden: [64, 64] })
    const m = pipelineProblem(d)
    try {
      for (const what of ['ppoStep', 'trpoStep'] as const) {
        const one = withKernelThreads(1, () => runPipeline(m, d, what))
        const before = addon.splitJobs()
        const three = withKernelThreads(3, () => runPipeline(m, d, what))
        expect(addon.splitJobs(), `${what} ran no split kernel`).toBeGreaterThan(before)
        expect(Array.from(three.result), what).toEqual(Array.from(one.result))
        expect(three.stats, what).toEqual(one.stats)
      }
    } finally {
      disposeMetaProblem(m)
    }
  })
})
