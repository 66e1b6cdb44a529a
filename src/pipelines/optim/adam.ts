/**
 * Adam (Kingma & Ba 2015) on plain-array parameter sets: a pure function from (parameters, gradient,
 * state) to new parameters and state, so the optimiser state goes into checkpoints as data.
 *
 * @packageDocumentation
 */
import * as t from 'io-ts'
import { NonNegativeInt } from '../../base/codecs.js'
import type { ArrayParams } from '../../graph/nn.js'
import { ArrayParamsJson, keysOf } from './params.js'

/** Adam's state: the step count and the moment estimates; as a codec, in memory and as checkpoint JSON. */
export const AdamState = t.type({ step: NonNegativeInt, m: ArrayParamsJson, v: ArrayParamsJson }, 'AdamState')
export type AdamState = t.TypeOf<typeof AdamState>

export interface AdamOptions {
  readonly lr: number
  readonly beta1?: number
  readonly beta2?: number
  readonly eps?: number
}

const zerosLike = (p: ArrayParams): ArrayParams =>
  Object.fromEntries(keysOf(p).map((k) => [k, { shape: p[k].shape, values: new Float32Array(p[k].values.length) }]))

export const adamInit = (p: ArrayParams): AdamState => ({ step: 0, m: zerosLike(p), v: zerosLike(p) })

/**
 * One step of gradient DESCENT on `grad` (pass the negated gradient to ascend). Returns the new
 * parameters and state; inputs are not modified.
 */
export const adamStep = (
  p: ArrayParams,
  grad: ArrayParams,
  s: AdamState,
  o: AdamOptions
): { params: ArrayParams; state: AdamState } => {
  const b1 = o.beta1 ?? 0.9
  const b2 = o.beta2 ?? 0.999
  const eps = o.eps ?? 1e-8
  const step = s.step + 1
  const c1 = 1 - b1 ** step
  const c2 = 1 - b2 ** step
  const params: Record<string, { shape: ReadonlyArray<number>; values: Float32Array }> = {}
  const m: Record<string, { shape: ReadonlyArray<number>; values: Float32Array }> = {}
  const v: Record<string, { shape: ReadonlyArray<number>; values: Float32Array }> = {}
  for (const k of keysOf(p)) {
    const g = grad[k].values
    const mk = new Float32Array(g.length)
    const vk = new Float32Array(g.length)
    const pk = new Float32Array(g.length)
    for (let i = 0; i < g.length; i++) {
      mk[i] = b1 * s.m[k].values[i] + (1 - b1) * g[i]
      vk[i] = b2 * s.v[k].values[i] + (1 - b2) * g[i] * g[i]
      pk[i] = p[k].values[i] - (o.lr * (mk[i] / c1)) / (Math.sqrt(vk[i] / c2) + eps)
    }
    params[k] = { shape: p[k].shape, values: pk }
    m[k] = { shape: p[k].shape, values: mk }
    v[k] = { shape: p[k].shape, values: vk }
  }
  return { params, state: { step, m, v } }
}
