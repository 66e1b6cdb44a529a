/**
 * Arithmetic on plain-array parameter sets (the representation that goes to workers, checkpoints
 * and the optimisers): flatten/unflatten in a fixed key order, axpy, dot.
 *
 * @packageDocumentation
 */
import * as t from 'io-ts'
import { Float32ArrayC } from '../../base/codecs.js'
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

const ParamsJsonC = t.record(t.string, t.type({ shape: t.array(t.number), values: t.array(t.number) }))

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
