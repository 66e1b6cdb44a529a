/**
 * The linear feature baseline, the standard of this field (Duan et al. 2016, rllab; used by MAML,
 * ProMP and TMAML): least squares of the discounted returns-to-go on per-step features
 * [clip(s, -10, 10), clip(s, -10, 10)^2, u, u^2, u^3, 1], u = t / 100, fitted per task with a ridge
 * term that grows until the solution is finite.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { type EpisodeBatch, returnsToGo } from '../episodes.js'
import { type ControlVariateKind, perState, statelessControlVariate } from './controlVariate.js'

const featureCount = (obsDim: number): number => 2 * obsDim + 4

const features = (b: EpisodeBatch, e: number, t: number, out: Float64Array): void => {
  const D = b.obsDim
  const base = (e * b.horizon + t) * D
  for (let j = 0; j < D; j++) {
    const s = Math.max(-10, Math.min(10, b.obs[base + j]))
    out[j] = s
    out[D + j] = s * s
  }
  const u = t / 100
  out[2 * D] = u
  out[2 * D + 1] = u * u
  out[2 * D + 2] = u * u * u
  out[2 * D + 3] = 1
}

/** Solve (A + reg I) x = y for symmetric positive semi-definite A (Cholesky); null if it fails. */
const solveRidge = (A: Float64Array, y: Float64Array, n: number, reg: number): Float64Array | null => {
  const L = new Float64Array(n * n)
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j] + (i === j ? reg : 0)
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k]
      if (i === j) {
        if (!(s > 0)) return null
        L[i * n + i] = Math.sqrt(s)
      } else L[i * n + j] = s / L[j * n + j]
    }
  const z = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = y[i]
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k]
    z[i] = s / L[i * n + i]
  }
  const x = new Float64Array(n)
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k]
    x[i] = s / L[i * n + i]
  }
  return x.every(Number.isFinite) ? x : null
}

/** Fitted weights of a linear feature baseline. */
export interface LinearBaseline {
  readonly weights: Float64Array
}

/** Fit on a batch's valid steps against discounted returns-to-go. */
export const fitLinearBaseline = (b: EpisodeBatch, gamma: number, initialReg = 1e-5): LinearBaseline => {
  const n = featureCount(b.obsDim)
  const A = new Float64Array(n * n)
  const y = new Float64Array(n)
  const phi = new Float64Array(n)
  const R = returnsToGo(b, gamma)
  for (let e = 0; e < b.episodes; e++)
    for (let t = 0; t < b.horizon; t++) {
      const k = e * b.horizon + t
      if (b.mask[k] === 0) continue
      features(b, e, t, phi)
      for (let i = 0; i < n; i++) {
        y[i] += phi[i] * R[k]
        const pi = phi[i]
        for (let j = 0; j <= i; j++) A[i * n + j] += pi * phi[j]
      }
    }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) A[j * n + i] = A[i * n + j]
  let reg = initialReg
  for (let attempt = 0; attempt < 8; attempt++) {
    const w = solveRidge(A, y, n, reg)
    if (w !== null) return { weights: w }
    reg *= 10
  }
  return { weights: new Float64Array(n) }
}

/** Baseline values b(s_t) for every step of a batch, [E, T] (zero where masked). */
export const predictLinearBaseline = (m: LinearBaseline, b: EpisodeBatch): Float32Array => {
  const n = featureCount(b.obsDim)
  const phi = new Float64Array(n)
  const out = new Float32Array(b.episodes * b.horizon)
  for (let e = 0; e < b.episodes; e++)
    for (let t = 0; t < b.horizon; t++) {
      const k = e * b.horizon + t
      if (b.mask[k] === 0) continue
      features(b, e, t, phi)
      let s = 0
      for (let i = 0; i < n; i++) s += m.weights[i] * phi[i]
      out[k] = s
    }
  return out
}

/** The linear feature baseline fitted on each task's batch, as a control variate (`--cv linear`). */
export const linearControlVariate: ControlVariateKind = statelessControlVariate({
  name: 'linear',
  description: 'linear feature baseline (least squares on [s, s^2, t, t^2, t^3, 1]), fitted per task',
  shape: 'per-state',
  perTask: true,
  baselines: ({ tasks, settings }) =>
    E.right(tasks.map(({ batch }) => perState(predictLinearBaseline(fitLinearBaseline(batch, settings.gamma), batch))))
})
