/**
 * The outer optimisers, each one pure step from (parameters, optimiser state, iteration problem) to
 * new parameters and state, with diagnostics: VPG with Adam, TRPO (conjugate gradient on the
 * meta-KL Hessian-vector product through the adaptation, backtracking line search under a KL
 * constraint), and PPO/ProMP (clipped ratio, inner-KL penalty, several Adam steps).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import type { ArrayParams } from '../graph/nn.js'
import { type TmamlError, numericalError } from '../base/errors.js'
import { type Params, disposeParams, valueAndGrads } from '../graph/autodiff.js'
import type { ExperimentConfig } from './config.js'
import {
  type MetaProblem,
  type OldAdapted,
  disposeOldAdapted,
  clippedObjective,
  disposeMetaProblem,
  firstTasks,
  klAndClipFraction,
  lrAndKl,
  lrObjective,
  metaKlHessianProduct,
  oldAdapted,
  vpgObjective
} from './meta.js'
import { type AdamState, adamInit, adamStep } from './optim/adam.js'
import { allFinite, axpy, dot, flatten, unflatten } from './optim/params.js'
import { toArrays, toTensors } from './policy.js'

export interface OuterResult {
  readonly params: ArrayParams
  readonly adam: AdamState
  /** Diagnostics for the metrics: gradient norm, KL of the step, line-search steps ... */
  readonly stats: Readonly<Record<string, number>>
}

const withTensors = <A>(p: ArrayParams, f: (t: Params) => A): A => {
  const t = toTensors(p)
  try {
    return f(t)
  } finally {
    disposeParams(t)
  }
}

const gradientArrays = (p: ArrayParams, objective: (t: Params) => tf.Scalar): { value: number; grad: ArrayParams } =>
  withTensors(p, (theta) => {
    const { value: v, grads } = valueAndGrads(objective)(theta)
    const grad = toArrays(grads)
    disposeParams(grads)
    const value = v.dataSync()[0]
    v.dispose()
    return { value, grad }
  })

/** Two scalars of one evaluation at p (objectives that share an adaptation), as numbers. */
const pairAt = (p: ArrayParams, f: (t: Params) => readonly [tf.Scalar, tf.Scalar]): readonly [number, number] =>
  withTensors(p, (theta) => {
    const [a, b] = f(theta)
    const r = [a.dataSync()[0], b.dataSync()[0]] as const
    tf.dispose([a, b])
    return r
  })

const norm = (p: ArrayParams): number => Math.sqrt(dot(flatten(p), flatten(p)))

const negate = (p: ArrayParams): ArrayParams => axpy(p, -2, p)

const checkFinite = (where: string, p: ArrayParams, value: number): E.Either<TmamlError, void> =>
  allFinite(p) && Number.isFinite(value)
    ? E.right(undefined)
    : E.left(
        numericalError(
          where,
          `the ${where} is not finite (NaN or Infinity); the run stops here, the last checkpoint is intact`
        )
      )

/**
 * A finite gradient can still overflow Adam's float32 second moment (|g| > 1.8e19): the update is then
 * 0/inf and the state unwritable. Stop there, as for a non-finite gradient.
 */
const checkAdam = (next: { readonly params: ArrayParams; readonly state: AdamState }): E.Either<TmamlError, void> =>
  allFinite(next.params) && allFinite(next.state.m) && allFinite(next.state.v)
    ? E.right(undefined)
    : E.left(
        numericalError(
          'outer step',
          'the optimiser state overflowed (a gradient too large for float32); the run stops here, the last checkpoint is intact'
        )
      )

/** One VPG step: Adam ascent on the meta-objective. */
export const vpgStep = (
  m: MetaProblem,
  p: ArrayParams,
  adam: AdamState,
  cfg: ExperimentConfig
): E.Either<TmamlError, OuterResult> => {
  const { value, grad } = gradientArrays(p, vpgObjective(m))
  const ok = checkFinite('meta-gradient', grad, value)
  if (E.isLeft(ok)) return ok
  const next = adamStep(p, negate(grad), adam, { lr: cfg.outerLr })
  const moved = checkAdam(next)
  if (E.isLeft(moved)) return moved
  return E.right({ params: next.params, adam: next.state, stats: { surrogate: value, gradNorm: norm(grad) } })
}

/**
 * Conjugate gradient for F x = g, F given as a product. Also returns x'Fx, from the residual
 * r = g - F x (x'Fx = x'g - x'r), which saves TRPO one product.
 */
export const conjugateGradientWithCurvature = (
  fvp: (v: Float32Array) => Float32Array,
  g: Float32Array,
  iters: number,
  tol = 1e-10
): { readonly x: Float32Array; readonly xFx: number } => {
  const x = new Float32Array(g.length)
  const r = Float32Array.from(g)
  const d = Float32Array.from(g)
  let rr = dot(r, r)
  for (let i = 0; i < iters && rr > tol; i++) {
    const Fd = fvp(d)
    const alpha = rr / Math.max(dot(d, Fd), 1e-30)
    for (let j = 0; j < x.length; j++) {
      x[j] += alpha * d[j]
      r[j] -= alpha * Fd[j]
    }
    const rrNew = dot(r, r)
    const beta = rrNew / rr
    for (let j = 0; j < d.length; j++) d[j] = r[j] + beta * d[j]
    rr = rrNew
  }
  return { x, xFx: dot(x, g) - dot(x, r) }
}

/** Conjugate gradient for F x = g, F given as a product. */
export const conjugateGradient = (
  fvp: (v: Float32Array) => Float32Array,
  g: Float32Array,
  iters: number,
  tol = 1e-10
): Float32Array => conjugateGradientWithCurvature(fvp, g, iters, tol).x

/**
 * Run `f` with the current parameters as tensors (theta_old) and the adapted parameters they give on
 * each task, both frozen for the step; they are disposed however `f` returns.
 */
const withOldPolicy = <A>(m: MetaProblem, p: ArrayParams, f: (thetaOld: Params, old: OldAdapted) => A): A => {
  const thetaOld = toTensors(p)
  const old = oldAdapted(m, thetaOld)
  try {
    return f(thetaOld, old)
  } finally {
    disposeOldAdapted(old)
    disposeParams(thetaOld)
  }
}

/** One TRPO step on the meta-objective (ProMP's TRPO-MAML): natural gradient, line search, KL <= maxKl. */
export const trpoStep = (
  m: MetaProblem,
  p: ArrayParams,
  adam: AdamState,
  cfg: ExperimentConfig
): E.Either<TmamlError, OuterResult> =>
  withOldPolicy(m, p, (thetaOld, old) => {
    const L = lrObjective(m, old)
    const LK = lrAndKl(m, old)
    const { value: L0, grad } = gradientArrays(p, L)
    const ok = checkFinite('meta-gradient', grad, L0)
    if (E.isLeft(ok)) return ok
    const g = flatten(grad)
    const fisherTasks = Math.max(1, Math.round(cfg.trpo.fisherSubsample * m.tasks))
    const sub = fisherTasks < m.tasks ? firstTasks(m, fisherTasks) : m
    const subOld = sub === m ? old : oldAdapted(sub, thetaOld)
    const curvature = metaKlHessianProduct(sub, subOld, thetaOld)
    const fvp = (v: Float32Array): Float32Array => {
      const direction = toTensors(unflatten(p, v))
      const hv = curvature(direction)
      const out = flatten(toArrays(hv))
      disposeParams(hv)
      disposeParams(direction)
      for (let i = 0; i < out.length; i++) out[i] += cfg.trpo.damping * v[i]
      return out
    }
    const { x, xFx } = (() => {
      try {
        return conjugateGradientWithCurvature(fvp, g, cfg.trpo.cgIters)
      } finally {
        if (sub !== m) {
          disposeOldAdapted(subOld)
          disposeMetaProblem(sub)
        }
      }
    })()
    if (!(xFx > 0) || !Number.isFinite(xFx))
      return E.left(numericalError('TRPO', `the natural-gradient curvature x'Fx = ${xFx} is not positive`))
    const scale = Math.sqrt((2 * cfg.trpo.maxKl) / xFx)
    const step = unflatten(
      p,
      x.map((v) => v * scale)
    )
    const expected = dot(g, x) * scale
    // The KL of the full step, which the step was sized to make maxKl: reported so that a mismatch
    // between the quadratic model and the measured constraint shows in the metrics.
    let klFullStep = NaN
    for (let i = 0; i < cfg.trpo.lineSearchSteps; i++) {
      const frac = cfg.trpo.backtrack ** i
      const candidate = axpy(p, frac, step)
      const [Li, Ki] = pairAt(candidate, LK)
      if (i === 0) klFullStep = Ki
      if (Number.isFinite(Li) && Number.isFinite(Ki) && Li > L0 && Ki <= cfg.trpo.maxKl)
        return E.right({
          params: candidate,
          adam,
          stats: {
            surrogate: L0,
            improvement: Li - L0,
            expectedImprovement: expected * frac,
            kl: Ki,
            klFullStep,
            lineSearch: i,
            gradNorm: Math.sqrt(dot(g, g))
          }
        })
    }
    // No acceptable step: keep the parameters (as TRPO does) and say so in the stats.
    return E.right({
      params: p,
      adam,
      stats: {
        surrogate: L0,
        improvement: 0,
        kl: 0,
        klFullStep,
        lineSearch: cfg.trpo.lineSearchSteps,
        gradNorm: Math.sqrt(dot(g, g))
      }
    })
  })

/** PPO/ProMP: `steps` Adam steps on the clipped objective with the inner-KL penalty. */
export const ppoStep = (
  m: MetaProblem,
  p: ArrayParams,
  adam: AdamState,
  cfg: ExperimentConfig
): E.Either<TmamlError, OuterResult> =>
  withOldPolicy(m, p, (_, old) => {
    let params = p
    let state = adam
    let first = NaN
    let last = NaN
    let gradNorm = NaN
    for (let s = 0; s < cfg.ppo.steps; s++) {
      const { value, grad } = gradientArrays(params, clippedObjective(m, old, cfg.ppo.clip, cfg.ppo.innerKlPenalty))
      const ok = checkFinite('meta-gradient', grad, value)
      if (E.isLeft(ok)) return ok
      if (s === 0) {
        first = value
        gradNorm = norm(grad)
      }
      last = value
      const next = adamStep(params, negate(grad), state, { lr: cfg.outerLr })
      const moved = checkAdam(next)
      if (E.isLeft(moved)) return moved
      params = next.params
      state = next.state
    }
    const [kl, clipped] = pairAt(params, klAndClipFraction(m, old, cfg.ppo.clip))
    return E.right({
      params,
      adam: state,
      stats: { surrogate: first, surrogateLast: last, kl, clipFraction: clipped, gradNorm }
    })
  })

export const initOuterState = (p: ArrayParams): AdamState => adamInit(p)

/** The step of the configured outer algorithm. */
export const outerStep = (
  m: MetaProblem,
  p: ArrayParams,
  adam: AdamState,
  cfg: ExperimentConfig
): E.Either<TmamlError, OuterResult> =>
  cfg.outer === 'vpg'
    ? vpgStep(m, p, adam, cfg)
    : cfg.outer === 'trpo'
      ? trpoStep(m, p, adam, cfg)
      : ppoStep(m, p, adam, cfg)
