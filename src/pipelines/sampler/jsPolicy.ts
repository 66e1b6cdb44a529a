/**
 * The Gaussian MLP policy in plain JavaScript, for worker threads (no tfjs): the mean
 * `gaussianMlpMean(spec, params, obs)` and a preallocated, per-row batched runner that the sampler
 * calls once per time step. Float32 storage, float64 accumulation of each dot product, each layer's
 * output rounded to float32 (as tfjs' cpu backend does), so results match `mlpForward` of
 * `src/graph/nn.ts` to ~1e-6 and every row is computed by the same operations in the same order:
 * a row's result never depends on the other rows of the batch (determinism across chunkings).
 *
 * @example
 * const spec: PolicySpec = { obsDim: 17, actDim: 6, hidden: [64, 64], activation: 'tanh' }
 * const mean = gaussianMlpMean(spec, params, obs) // obs [n * 17] -> mean [n * 6]
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import type { ArrayParams } from '../../graph/nn.js'
import type { FieldIssue, TmamlError } from '../../base/errors.js'
import type { PolicySpec } from './types.js'

// -------------------------------------------------------------------------------------------------
// shapes
// -------------------------------------------------------------------------------------------------

/**
 * The parameters a policy of `spec` needs, in order: `W0, b0, ..., W{L-1}, b{L-1}, logStd`.
 *
 * @category utils
 * @since 0.1.0
 */
export const policyParamShapes = (spec: PolicySpec): ReadonlyArray<readonly [string, ReadonlyArray<number>]> => {
  const sizes = [spec.obsDim, ...spec.hidden, spec.actDim]
  const out: Array<readonly [string, ReadonlyArray<number>]> = []
  for (let l = 0; l + 1 < sizes.length; l++) {
    out.push([`W${l}`, [sizes[l], sizes[l + 1]]])
    out.push([`b${l}`, [sizes[l + 1]]])
  }
  out.push(['logStd', [spec.actDim]])
  return out
}

const sameShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

const showShape = (s: ReadonlyArray<number>): string => `[${s.join(', ')}]`

/**
 * Check one parameter set against `spec`: every parameter present, a `Float32Array` of the stated shape,
 * finite. Issues name the parameter under `path` (e.g. `params.3.W1.shape`).
 *
 * @category utils
 * @since 0.1.0
 */
export const policyParamIssues = (spec: PolicySpec, params: unknown, path: string): ReadonlyArray<FieldIssue> => {
  const issues: FieldIssue[] = []
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    return [{ path, value: params, expected: 'a record of parameter arrays' }]
  const record = params as Readonly<Record<string, unknown>>
  for (const [name, shape] of policyParamShapes(spec)) {
    const p = record[name]
    const at = `${path}.${name}`
    if (typeof p !== 'object' || p === null) {
      issues.push({ path: at, value: p, expected: `a parameter { shape: ${showShape(shape)}, values: Float32Array }` })
      continue
    }
    const { shape: got, values } = p as { readonly shape?: unknown; readonly values?: unknown }
    if (!Array.isArray(got) || !sameShape(got, shape)) {
      issues.push({
        path: `${at}.shape`,
        value: got,
        expected: `${showShape(shape)} (from policy ${showPolicy(spec)})`
      })
      continue
    }
    const size = shape.reduce((a, b) => a * b, 1)
    if (!(values instanceof Float32Array) || values.length !== size) {
      issues.push({
        path: `${at}.values`,
        value: values instanceof Float32Array ? `Float32Array(${values.length})` : values,
        expected: `a Float32Array of ${size} numbers`
      })
      continue
    }
    for (let i = 0; i < values.length; i++)
      if (!Number.isFinite(values[i])) {
        issues.push({ path: `${at}.values.${i}`, value: String(values[i]), expected: 'a finite number' })
        break
      }
  }
  return issues
}

const showPolicy = (spec: PolicySpec): string =>
  `${[spec.obsDim, ...spec.hidden, spec.actDim].join('-')} ${spec.activation}`

/**
 * `params` reduced to the parameters of `spec`, or an `InvalidInput` naming the first bad one.
 *
 * @category utils
 * @since 0.1.0
 */
export const checkPolicyParams = (spec: PolicySpec, params: ArrayParams): E.Either<TmamlError, ArrayParams> => {
  const issues = policyParamIssues(spec, params, 'params')
  if (issues.length > 0) return E.left({ _tag: 'DecodeError', source: 'policy parameters', issues })
  return E.right(Object.fromEntries(policyParamShapes(spec).map(([name]) => [name, params[name]])))
}

// -------------------------------------------------------------------------------------------------
// forward
// -------------------------------------------------------------------------------------------------

/**
 * A batched forward pass with preallocated buffers. `mean(obs, n, out, active, paramOf)` writes the
 * mean `[n * actDim]` of rows `i < n` with `active[i] !== 0` (all rows when `active` is undefined),
 * using parameter set `paramOf[i]` (set 0 when undefined). Inactive rows of `out` are left as they were.
 * No allocation per call.
 *
 * @category constructors
 * @since 0.1.0
 */
export interface MeanRunner {
  readonly mean: (
    obs: Float32Array,
    n: number,
    out: Float32Array,
    active?: Uint8Array,
    paramOf?: Int32Array | ReadonlyArray<number>
  ) => void
  /** `exp(logStd)` of parameter set `s`, rounded to float32. */
  readonly std: (s: number) => Float32Array
}

interface Layer {
  readonly nIn: number
  readonly nOut: number
  /** The weights transposed, `[out, in]`, as float64 (exact copies of the float32 values). */
  readonly wt: Float64Array
  readonly b: Float32Array
}

/** Rows evaluated together: each weight is loaded once per block of 4 rows instead of once per row. */
const blockRows = 4

/**
 * A `MeanRunner` over one or more parameter sets of `spec`. Parameters are assumed checked
 * (`checkPolicyParams`); a missing or mis-sized one is a bug and throws a `RangeError`.
 *
 * Every row's output is computed by the same operations in the same order (for each unit: a float64
 * dot product over the inputs in order, rounded to float32, plus the float32 bias, rounded; then the
 * activation, rounded), whichever rows share its block: results do not depend on the batch.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMeanRunner = (spec: PolicySpec, sets: ReadonlyArray<ArrayParams>): MeanRunner => {
  const sizes = [spec.obsDim, ...spec.hidden, spec.actDim]
  const nLayers = sizes.length - 1
  const take = (params: ArrayParams, name: string, size: number): Float32Array => {
    const p = params[name]
    if (p === undefined || !(p.values instanceof Float32Array) || p.values.length !== size)
      throw new RangeError(`gaussianMlpMean: parameter ${name} is missing or not ${size} float32 numbers`)
    return p.values
  }
  const transpose = (w: Float32Array, nIn: number, nOut: number): Float64Array => {
    const wt = new Float64Array(nIn * nOut)
    for (let k = 0; k < nIn; k++) for (let j = 0; j < nOut; j++) wt[j * nIn + k] = w[k * nOut + j]
    return wt
  }
  const layersOf = sets.map((params) =>
    Array.from({ length: nLayers }, (_, l): Layer => {
      const [nIn, nOut] = [sizes[l], sizes[l + 1]]
      return { nIn, nOut, wt: transpose(take(params, `W${l}`, nIn * nOut), nIn, nOut), b: take(params, `b${l}`, nOut) }
    })
  )
  const stds = sets.map((params) => take(params, 'logStd', spec.actDim).map((v) => Math.exp(v)))
  const width = Math.max(...sizes)
  const bufA = new Float64Array(blockRows * width)
  const bufB = new Float64Array(blockRows * width)
  const relu = spec.activation === 'relu'
  const { obsDim, actDim } = spec
  const fround = Math.fround

  /** Layer output of unit j from its dot product `s`. */
  const unit = (s: number, bias: number, hidden: boolean): number => {
    const z = fround(fround(s) + bias)
    if (!hidden) return z
    return relu ? (z > 0 ? z : 0) : fround(Math.tanh(z))
  }

  /** Rows `rows[r0 .. r0 + count)` (count <= blockRows) through the network into `out`. */
  const block = (
    layers: ReadonlyArray<Layer>,
    obs: Float32Array,
    rows: Int32Array,
    r0: number,
    count: number,
    out: Float32Array
  ): void => {
    let x = bufA
    let y = bufB
    for (let r = 0; r < count; r++) {
      const src = rows[r0 + r] * obsDim
      const dst = r * width
      for (let k = 0; k < obsDim; k++) x[dst + k] = obs[src + k]
    }
    for (let l = 0; l < nLayers; l++) {
      const { nIn, nOut, wt, b } = layers[l]
      const hidden = l < nLayers - 1
      if (count === blockRows) {
        // 4 rows x 2 units per pass: 6 loads per 8 multiply-adds (each sum still runs over k in order).
        const x1 = width
        const x2 = 2 * width
        const x3 = 3 * width
        let j = 0
        for (; j + 1 < nOut; j += 2) {
          const b0 = j * nIn
          const b1 = b0 + nIn
          let s00 = 0
          let s10 = 0
          let s20 = 0
          let s30 = 0
          let s01 = 0
          let s11 = 0
          let s21 = 0
          let s31 = 0
          for (let k = 0; k < nIn; k++) {
            const w0 = wt[b0 + k]
            const w1 = wt[b1 + k]
            const a0 = x[k]
            const a1 = x[x1 + k]
            const a2 = x[x2 + k]
            const a3 = x[x3 + k]
            s00 += a0 * w0
            s10 += a1 * w0
            s20 += a2 * w0
            s30 += a3 * w0
            s01 += a0 * w1
            s11 += a1 * w1
            s21 += a2 * w1
            s31 += a3 * w1
          }
          const bj0 = b[j]
          const bj1 = b[j + 1]
          y[j] = unit(s00, bj0, hidden)
          y[x1 + j] = unit(s10, bj0, hidden)
          y[x2 + j] = unit(s20, bj0, hidden)
          y[x3 + j] = unit(s30, bj0, hidden)
          y[j + 1] = unit(s01, bj1, hidden)
          y[x1 + j + 1] = unit(s11, bj1, hidden)
          y[x2 + j + 1] = unit(s21, bj1, hidden)
          y[x3 + j + 1] = unit(s31, bj1, hidden)
        }
        for (; j < nOut; j++) {
          const base = j * nIn
          let s0 = 0
          let s1 = 0
          let s2 = 0
          let s3 = 0
          for (let k = 0; k < nIn; k++) {
            const w = wt[base + k]
            s0 += x[k] * w
            s1 += x[x1 + k] * w
            s2 += x[x2 + k] * w
            s3 += x[x3 + k] * w
          }
          const bj = b[j]
          y[j] = unit(s0, bj, hidden)
          y[x1 + j] = unit(s1, bj, hidden)
          y[x2 + j] = unit(s2, bj, hidden)
          y[x3 + j] = unit(s3, bj, hidden)
        }
      } else {
        for (let r = 0; r < count; r++) {
          const xr = r * width
          for (let j = 0; j < nOut; j++) {
            const base = j * nIn
            let s = 0
            for (let k = 0; k < nIn; k++) s += x[xr + k] * wt[base + k]
            y[xr + j] = unit(s, b[j], hidden)
          }
        }
      }
      const swap = x
      x = y
      y = swap
    }
    for (let r = 0; r < count; r++) {
      const o = rows[r0 + r] * actDim
      const xr = r * width
      for (let j = 0; j < actDim; j++) out[o + j] = x[xr + j]
    }
  }

  // Active rows grouped by parameter set, rebuilt per call into preallocated arrays (grown on demand).
  let rowsBySet = sets.map(() => new Int32Array(0))
  const counts = new Int32Array(sets.length)

  return {
    mean: (obs, n, out, active, paramOf) => {
      if (obs.length < n * obsDim || out.length < n * actDim)
        throw new RangeError(`gaussianMlpMean: expected ${n} x ${obsDim} observations and ${n} x ${actDim} outputs`)
      if (rowsBySet[0].length < n) rowsBySet = sets.map(() => new Int32Array(n))
      counts.fill(0)
      for (let i = 0; i < n; i++) {
        if (active !== undefined && active[i] === 0) continue
        const s = paramOf === undefined ? 0 : paramOf[i]
        if (!(s >= 0 && s < sets.length))
          throw new RangeError(`gaussianMlpMean: row ${i} uses parameter set ${s} of ${sets.length}`)
        rowsBySet[s][counts[s]++] = i
      }
      for (let s = 0; s < sets.length; s++) {
        const rows = rowsBySet[s]
        const c = counts[s]
        for (let r0 = 0; r0 < c; r0 += blockRows) block(layersOf[s], obs, rows, r0, Math.min(blockRows, c - r0), out)
      }
    },
    std: (s) => stds[s]
  }
}

/**
 * The action mean of a Gaussian MLP policy: `obs` `[n * obsDim]` -> `[n * actDim]`, `n` inferred from
 * the length. Deterministic, float32 results. Throws a `RangeError` (a bug) when the parameters do not
 * fit `spec` or `obs.length` is not a multiple of `obsDim`; check inputs with `checkPolicyParams`.
 *
 * @category utils
 * @since 0.1.0
 */
export const gaussianMlpMean = (spec: PolicySpec, params: ArrayParams, obs: Float32Array): Float32Array => {
  if (obs.length % spec.obsDim !== 0)
    throw new RangeError(`gaussianMlpMean: ${obs.length} observation numbers is not a multiple of ${spec.obsDim}`)
  const n = obs.length / spec.obsDim
  const out = new Float32Array(n * spec.actDim)
  makeMeanRunner(spec, [params]).mean(obs, n, out)
  return out
}
