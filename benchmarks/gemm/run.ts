/**
 * `npm run bench:gemm`: the native addon's built-in GEMM (csrc/gemm_builtin.h, what a machine without
 * OpenBLAS builds) against OpenBLAS's sgemm, on the products the policy's forward and backward passes
 * make: X W ([rows, in] x [in, 64]), dZ W^T and X^T dZ, for rows 2000..40000 and in 17..64, plus the
 * output layer (64 -> 6). Both run in this one process on the same arrays, interleaved repetition by
 * repetition, so a loaded machine slows both alike: the ratio is the figure to read, not the
 * milliseconds. Needs an addon built with OpenBLAS (the default when libopenblas-dev is installed;
 * TMAML_NATIVE_ADDON picks another build).
 *
 * Flags: --reps N (timed repetitions per shape, default 20; the minimum is reported), --json.
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { type MatMulFn, addonPath, loadAddon } from '../../src/native/addon.js'

interface Shape {
  readonly name: string
  readonly M: number
  readonly N: number
  readonly K: number
  readonly transA: boolean
  readonly transB: boolean
}

const shapes = (): ReadonlyArray<Shape> => {
  const out: Shape[] = []
  for (const rows of [2000, 10000, 40000])
    for (const inDim of [17, 64]) {
      out.push({
        name: `X W        [${rows}, ${inDim}] x [${inDim}, 64]`,
        M: rows,
        N: 64,
        K: inDim,
        transA: false,
        transB: false
      })
      out.push({
        name: `dZ W^T     [${rows}, 64] x [64, ${inDim}]`,
        M: rows,
        N: inDim,
        K: 64,
        transA: false,
        transB: true
      })
      out.push({
        name: `X^T dZ     [${inDim}, ${rows}] x [${rows}, 64]`,
        M: inDim,
        N: 64,
        K: rows,
        transA: true,
        transB: false
      })
    }
  for (const rows of [2000, 40000]) {
    out.push({ name: `H W_out    [${rows}, 64] x [64, 6]`, M: rows, N: 6, K: 64, transA: false, transB: false })
    out.push({ name: `dY W_out^T [${rows}, 6] x [6, 64]`, M: rows, N: 64, K: 6, transA: false, transB: true })
  }
  return out
}

const random = (n: number, seed: number): Float32Array => {
  const v = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    v[i] = s / 2 ** 32 - 0.5
  }
  return v
}

const main = (): number => {
  const { values } = parseArgs({
    options: { reps: { type: 'string', default: '20' }, json: { type: 'boolean', default: false } }
  })
  const reps = Number(values.reps)
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${values.reps}`)
  const path = process.env['TMAML_NATIVE_ADDON'] ?? addonPath
  const loaded = loadAddon(path)
  if (loaded._tag !== 'Loaded') {
    console.error(`bench:gemm: the native addon is unavailable (${loaded.reason}); npm run build:native`)
    return 1
  }
  const { addon } = loaded
  const info = addon.info()
  if (info.gemm !== 'openblas') {
    console.error(
      `bench:gemm: ${path} multiplies with the built-in GEMM (no OpenBLAS to compare with); build with OpenBLAS: apt-get install libopenblas-dev pkg-config && npm run build:native`
    )
    return 1
  }
  const loadStart = loadavg()[0]
  const rows = shapes().map((s, i) => {
    const a = random(s.M * s.K, 2 * i + 1)
    const b = random(s.K * s.N, 2 * i + 2)
    const outs = [new Float32Array(s.M * s.N), new Float32Array(s.M * s.N)]
    const dims = Int32Array.from([1, 1, 1, s.M, s.N, s.K, s.transA ? 1 : 0, s.transB ? 1 : 0])
    const fns: ReadonlyArray<MatMulFn> = [addon.matMul, addon.matMulBuiltin]
    const best = [Infinity, Infinity]
    // One untimed call each (page faults, caches), then alternate which goes first.
    fns.forEach((f, j) => f(a, b, outs[j], dims, null, null))
    for (let r = 0; r < reps; r++)
      for (const j of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const t0 = performance.now()
        fns[j](a, b, outs[j], dims, null, null)
        best[j] = Math.min(best[j], performance.now() - t0)
      }
    let num = 0
    let den = 0
    for (let k = 0; k < outs[0].length; k++) {
      num += (outs[1][k] - outs[0][k]) ** 2
      den += outs[0][k] ** 2
    }
    return {
      shape: s.name.replace(/\s+/g, ' '),
      M: s.M,
      N: s.N,
      K: s.K,
      transA: s.transA,
      transB: s.transB,
      openblasMs: best[0],
      builtinMs: best[1],
      ratio: best[1] / best[0],
      relDiff: Math.sqrt(num / Math.max(den, 1e-30))
    }
  })
  const geomean = Math.exp(rows.reduce((acc, r) => acc + Math.log(r.ratio), 0) / rows.length)
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          openblas: info.blas,
          builtin: info.simd,
          reps,
          loadAverage: [loadStart, loadavg()[0]],
          geomeanRatio: geomean,
          rows
        },
        null,
        2
      )
    )
    return 0
  }
  console.log(`built-in GEMM (${info.simd}) vs ${info.blas}, one thread, minimum of ${reps} interleaved runs`)
  console.log(
    `1-min load average ${loadStart.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end: read the ratios (same run, same data), not the milliseconds`
  )
  console.log('| product | OpenBLAS ms | built-in ms | built-in / OpenBLAS | rel. diff |')
  console.log('|---|---|---|---|---|')
  for (const r of rows)
    console.log(
      `| ${r.shape} | ${r.openblasMs.toFixed(3)} | ${r.builtinMs.toFixed(3)} | ${r.ratio.toFixed(2)} | ${r.relDiff.toExponential(1)} |`
    )
  console.log(`geometric mean of built-in / OpenBLAS: ${geomean.toFixed(2)}`)
  return 0
}

process.exitCode = main()
