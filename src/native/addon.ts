/**
 * Loading the compiled N-API addon (`build/Release/tmaml_native.node`, built by node-gyp from
 * `csrc/`). Never throws: a missing or unloadable addon is a value the caller reports.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** Unary op codes (csrc/kernels.h `UnaryOp`), by the name of the tfjs kernel each computes. */
export const UnaryOp = {
  Neg: 0,
  Square: 1,
  Exp: 2,
  Tanh: 3,
  Sigmoid: 4,
  Log: 5,
  Sqrt: 6,
  Rsqrt: 7,
  Reciprocal: 8,
  Abs: 9,
  Relu: 10
} as const
export type UnaryOp = (typeof UnaryOp)[keyof typeof UnaryOp]

/** Binary op codes (csrc/kernels.h `BinaryOp`), by tfjs kernel name. */
export const BinaryOp = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  SquaredDifference: 4,
  Maximum: 5,
  Minimum: 6
} as const
export type BinaryOp = (typeof BinaryOp)[keyof typeof BinaryOp]

/** Reduction op codes (csrc/kernels.h `ReduceOp`). */
export const ReduceOp = { sum: 0, mean: 1, max: 2, min: 3, prod: 4 } as const
export type ReduceOp = (typeof ReduceOp)[keyof typeof ReduceOp]

/** Which GEMM the addon multiplies with: OpenBLAS's sgemm, or its own (csrc/gemm_builtin.h). */
export type GemmKind = 'openblas' | 'builtin'

/**
 * Batched sgemm; dims = [batch, aBatch, bBatch, M, N, K, transA, transB]; aIndex / bIndex give each
 * output batch's operand matrix (null: same index, or 0 for a single matrix).
 */
export type MatMulFn = (
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  dims: Int32Array,
  aIndex: Int32Array | null,
  bIndex: Int32Array | null
) => void

/** Typed arrays of 32-bit elements (what the strided copy moves). */
export type Word32Array = Float32Array | Int32Array

/**
 * The addon's functions. Every one checks lengths against the shapes it is given and throws a
 * RangeError on a mismatch; outputs are written into caller-allocated arrays.
 */
export interface NativeAddon {
  /** out[i] = op(x[i]). */
  readonly unary: (op: UnaryOp, x: Float32Array, out: Float32Array) => void
  /** Broadcasting binary op; dims = [rank, outShape, aShape, bShape], shapes rank-aligned. */
  readonly binary: (op: BinaryOp, a: Float32Array, b: Float32Array, out: Float32Array, dims: Int32Array) => void
  /** out[idx] = x[sum idx_d * xStride_d]; dims = [rank, outShape, xStride]. */
  readonly stridedCopy: (x: Word32Array, out: Word32Array, dims: Int32Array) => void
  /** x viewed as [outer, reduce, inner] reduced over the middle axis into [outer, inner]. */
  readonly reduce: (op: ReduceOp, x: Float32Array, out: Float32Array, outer: number, r: number, inner: number) => void
  /** Batched sgemm on the build's GEMM (see MatMulFn). */
  readonly matMul: MatMulFn
  /** `matMul` on the built-in GEMM whatever the build uses (tests and benchmarks compare the two). */
  readonly matMulBuiltin: MatMulFn
  /**
   * The GEMM `matMul` uses (`openblas`, or `builtin` when the addon was built without OpenBLAS), the
   * BLAS build string (openblas_get_config, or the built-in GEMM's tile) and the SIMD level of the
   * element-wise loops and the built-in GEMM.
   */
  readonly info: () => { readonly gemm: GemmKind; readonly blas: string; readonly simd: string }
  /**
   * How many threads (the caller's included) the largest kernels — batched GEMM, element-wise loops
   * over >= 2^17 elements — split over, clamped to [1, 64]; process-wide, default 1. Results do not
   * depend on it (each output element is computed by the same code whichever thread runs it).
   */
  readonly setThreads: (n: number) => void
  /** The kernel threads set by `setThreads`. */
  readonly threads: () => number
  /** How many kernel calls were split over more than one thread since the process started. */
  readonly splitJobs: () => number
}

/** Where the built addon lives, whether running from src/ (tsx, vitest) or dist/ (tsc output). */
export const addonPath: string = fileURLToPath(
  new URL('../../src/native/build/Release/tmaml_native.node', import.meta.url)
)

const functionNames: ReadonlyArray<keyof NativeAddon> = [
  'unary',
  'binary',
  'stridedCopy',
  'reduce',
  'matMul',
  'matMulBuiltin',
  'info',
  'setThreads',
  'threads',
  'splitJobs'
]

const isAddon = (m: unknown): m is NativeAddon =>
  typeof m === 'object' &&
  m !== null &&
  functionNames.every((k) => typeof (m as Record<string, unknown>)[k] === 'function')

/** The outcome of loading the addon. */
export type AddonLoad =
  | { readonly _tag: 'Loaded'; readonly addon: NativeAddon }
  | { readonly _tag: 'Missing'; readonly reason: string }
  | { readonly _tag: 'Broken'; readonly reason: string }

/**
 * Load the addon. Sets OPENBLAS_NUM_THREADS=1 first (unless already set) so the pthreaded OpenBLAS
 * starts no thread pool; the addon also calls openblas_set_num_threads(1) when it initialises.
 */
export const loadAddon = (path: string = addonPath): AddonLoad => {
  if (!existsSync(path)) return { _tag: 'Missing', reason: `not built (${path} absent; run npm run build:native)` }
  if (process.env['OPENBLAS_NUM_THREADS'] === undefined) process.env['OPENBLAS_NUM_THREADS'] = '1'
  try {
    const m: unknown = createRequire(import.meta.url)(path)
    return isAddon(m)
      ? { _tag: 'Loaded', addon: m }
      : { _tag: 'Broken', reason: `${path} lacks the expected functions` }
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    return { _tag: 'Broken', reason: `failed to load (${why})` }
  }
}
