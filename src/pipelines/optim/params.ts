/**
 * Arithmetic on plain-array parameter sets (the representation that goes to workers, checkpoints
 * and the optimisers): flatten/unflatten in a fixed key order, axpy, dot.
 *
 * @packageDocumentation
 */
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { FiniteNumber, Float32ArrayC, PositiveInt } from '../../base/codecs.js'
import type { ArrayParams, ParamArray } from '../../graph/nn.js'

/** Keys in a fixed (sorted) order. */
export const keysOf = (p: ArrayParams): ReadonlyArray<string> => Object.keys(p).sort()

export const sizeOf = (p: ArrayParams): number => keysOf(p).reduce((a, k) => a + p[k].values.length, 0)

/** All values in key order. */
export const flatten = (p: ArrayParams): Float32Array => {
  const out = new Float32Array(sizeOf(p))
  let o = 0
  for (const k of keysOf(p)) {
    out.set(p[k].values, o)
    o += p[k].values.length
  }
  return out
}

/** The inverse of `flatten`, with `like`'s keys and shapes. */
export const unflatten = (like: ArrayParams, flat: ArrayLike<number>): ArrayParams => {
  const out: Record<string, ParamArray> = {}
  let o = 0
  for (const k of keysOf(like)) {
    const n = like[k].values.length
    out[k] = { shape: like[k].shape, values: Float32Array.from({ length: n }, (_, i) => flat[o + i]) }
    o += n
  }
  return out
}

/** x + a * y, per key. */
export const axpy = (x: ArrayParams, a: number, y: ArrayParams): ArrayParams =>
  Object.fromEntries(
    keysOf(x).map((k) => [k, { shape: x[k].shape, values: x[k].values.map((v, i) => v + a * y[k].values[i]) }])
  )

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

export const allFinite = (p: ArrayParams): boolean => keysOf(p).every((k) => p[k].values.every(Number.isFinite))

const ParamFields = t.type({ shape: t.array(PositiveInt), values: t.array(FiniteNumber) })
type ParamJson = t.TypeOf<typeof ParamFields>
const product = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a * b, 1)
/** One parameter in JSON: its shape and as many finite values as the shape holds. */
const ParamJson = new t.Type<ParamJson, ParamJson, unknown>(
  'Param',
  (u): u is ParamJson => ParamFields.is(u) && u.values.length === product(u.shape),
  (u, c) => {
    const base = ParamFields.validate(u, c)
    if (E.isLeft(base) || base.right.values.length === product(base.right.shape)) return base
    const { shape, values } = base.right
    return t.failure(
      `${values.length} values`,
      [...c, { key: 'values', type: t.unknown, actual: values }],
      `${product(shape)} values (shape [${shape.join(', ')}])`
    )
  },
  t.identity
)
/**
 * A parameter set in JSON (checkpoints, policy files): a damaged one (a shape that does not match its
 * values, 1e400, a non-integer dimension) is rejected naming the parameter.
 */
export const ParamsJson = t.record(t.string, ParamJson)
const ParamsJsonC = ParamsJson

/**
 * Parameters in memory (Float32Arrays) and in a checkpoint (number arrays): `encode` = `toJson`,
 * `decode` = `fromJson` with the fields checked.
 */
export const ArrayParamsJson = new t.Type<ArrayParams, t.TypeOf<typeof ParamsJsonC>, unknown>(
  'ArrayParams',
  (u): u is ArrayParams =>
    typeof u === 'object' &&
    u !== null &&
    Object.values(u).every(
      (p: unknown) => typeof p === 'object' && p !== null && 'values' in p && Float32ArrayC.is(p.values)
    ),
  (u, c) => {
    const j = ParamsJsonC.validate(u, c)
    return j._tag === 'Left' ? j : t.success(fromJson(j.right))
  },
  (p) => toJson(p)
)

/** To JSON-safe arrays (checkpoints) and back. Float32 values survive the round trip exactly. */
export const toJson = (p: ArrayParams): Record<string, { shape: number[]; values: number[] }> =>
  Object.fromEntries(keysOf(p).map((k) => [k, { shape: [...p[k].shape], values: Array.from(p[k].values) }]))

export const fromJson = (
  j: Readonly<Record<string, { readonly shape: ReadonlyArray<number>; readonly values: ReadonlyArray<number> }>>
): ArrayParams =>
  Object.fromEntries(
    Object.entries(j).map(([k, v]) => [k, { shape: [...v.shape], values: Float32Array.from(v.values) }])
  )
