/**
 * The start-up self-check: a few native kernels against the stock cpu kernels on small inputs, run
 * directly on a private backend instance (no engine, no tape). A build that computes wrong numbers
 * (a broken BLAS, a miscompiled loop) is never activated.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import { NativeBackend } from './storage.js'

interface Case {
  readonly kernel: string
  readonly inputs: Readonly<Record<string, { readonly shape: ReadonlyArray<number>; readonly seed: number }>>
  readonly attrs: tf.NamedAttrMap
}

const cases: ReadonlyArray<Case> = [
  { kernel: tf.BatchMatMul, inputs: { a: { shape: [5, 7], seed: 1 }, b: { shape: [7, 3], seed: 2 } }, attrs: {} },
  {
    kernel: tf.BatchMatMul,
    inputs: { a: { shape: [2, 7, 5], seed: 3 }, b: { shape: [3, 7], seed: 4 } },
    attrs: { transposeA: true, transposeB: true }
  },
  // Two KC blocks of the built-in GEMM (K > 256), a ragged last row strip and narrow column panels.
  {
    kernel: tf.BatchMatMul,
    inputs: { a: { shape: [29, 300], seed: 13 }, b: { shape: [22, 300], seed: 14 } },
    attrs: { transposeB: true }
  },
  { kernel: tf.Tanh, inputs: { x: { shape: [67], seed: 5 } }, attrs: {} },
  { kernel: tf.Exp, inputs: { x: { shape: [67], seed: 6 } }, attrs: {} },
  { kernel: tf.Add, inputs: { a: { shape: [4, 6], seed: 7 }, b: { shape: [6], seed: 8 } }, attrs: {} },
  { kernel: tf.Multiply, inputs: { a: { shape: [4, 1], seed: 9 }, b: { shape: [1, 6], seed: 10 } }, attrs: {} },
  { kernel: tf.Sum, inputs: { x: { shape: [4, 6, 5], seed: 11 } }, attrs: { axis: [0, 2], keepDims: false } },
  { kernel: tf.Transpose, inputs: { x: { shape: [3, 4, 5], seed: 12 } }, attrs: { perm: [2, 0, 1] } }
]

/** Deterministic values in [-3, 3) (a small LCG: no dependency on the project's RNG). */
const values = (n: number, seed: number): Float32Array => {
  const v = new Float32Array(n)
  let s = (seed * 2654435761) >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    v[i] = (s / 2 ** 32) * 6 - 3
  }
  return v
}

/**
 * Run every case with the kernel registered for `backendName` and with the cpu kernel; return null
 * when all agree within `tol` (relative to each output's largest magnitude), else what differed.
 */
export const selfCheck = (backendName: string, tol = 1e-5): string | null => {
  const be = new NativeBackend()
  try {
    for (const c of cases) {
      const nat = tf.getKernel(c.kernel, backendName)
      const ref = tf.getKernel(c.kernel, 'cpu')
      if (nat === undefined || ref === undefined) return `no '${c.kernel}' kernel`
      const inputs: tf.NamedTensorInfoMap = Object.fromEntries(
        Object.entries(c.inputs).map(([k, s]) => {
          const n = s.shape.reduce((p, d) => p * d, 1)
          return [k, be.makeTensorInfo([...s.shape], 'float32', values(n, s.seed))]
        })
      )
      const got = nat.kernelFunc({ inputs, backend: be, attrs: c.attrs }) as tf.TensorInfo
      const want = ref.kernelFunc({ inputs, backend: be, attrs: c.attrs }) as tf.TensorInfo
      const g = be.readSync(got.dataId) as Float32Array
      const w = be.readSync(want.dataId) as Float32Array
      if (got.shape.join() !== want.shape.join()) return `${c.kernel}: shape [${got.shape}] != [${want.shape}]`
      const scale = w.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-30)
      for (let i = 0; i < w.length; i++) {
        if (!(Math.abs(g[i] - w[i]) <= tol * scale))
          return `${c.kernel}: element ${i} is ${g[i]}, the cpu kernel gives ${w[i]}`
      }
      for (const t of [...Object.keys(c.inputs).map((k) => inputs[k] as tf.TensorInfo), got, want])
        be.disposeData(t.dataId, true)
    }
    return null
  } catch (err) {
    return `threw ${err instanceof Error ? err.message : String(err)}`
  } finally {
    be.dispose()
  }
}
