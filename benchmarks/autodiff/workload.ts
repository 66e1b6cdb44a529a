/**
 * The autodiff benchmark's workload: one MAML meta-gradient and one meta-KL Hessian-vector product
 * for a Gaussian MLP policy (obs 20 -> 64 -> 64 -> 6, tanh, learned log-std), 20 tasks with 1000
 * pre-adaptation and 1000 post-adaptation samples each. Data are synthetic (seeded normals): the cost
 * of differentiating does not depend on where the numbers came from.
 *
 * Maths (the PyTorch reference in benchmarks/reference/ computes exactly this):
 *   inner  J_i(th)   = mean_n box(logpi_th(a_n|s_n)) A_n                  (pre samples of task i)
 *   adapt  th'_i     = th + alpha grad J_i(th)                            (alpha = 0.1, one step)
 *   outer  L(th)     = mean_i mean_n exp(logpi_th'_i(a|s) - logp_old) A    (post samples)
 *   meta-gradient    = grad_th L
 *   meta-KL  K(th)   = mean_i mean_n KL(pi_stop(th'_i) || pi_th'_i)        (post observations)
 *   HVP              = grad_th < grad_th K(th), v >                        (third order through adapt)
 *   CG               = 10 conjugate-gradient iterations on (HVP + damping I) x = v, x0 = 0, damping 0.01
 *                      (as TRPO/ProMP solve for their step direction; every iteration is one HVP)
 *
 * Two formulations compute the same numbers:
 *   per-task  a loop over tasks of [N, .] ops (the layout of the ProMP/TMAML reference code);
 *   batched   one [tasks, N, .] computation: theta is tiled to Theta [tasks, ...] (a Tile kernel,
 *             whose gradient sums over tasks), the inner objective sum_i J_i(Theta_i) is
 *             differentiated with respect to Theta (task i's gradient lands in slice i), and the
 *             layers are batched matMuls. Same maths, ~20x fewer kernel calls.
 */
import * as tf from '@tensorflow/tfjs-core'
import { rngAt } from '../../src/base/rng.js'
import {
  type Objective,
  type Params,
  disposeParams,
  dotParams,
  gradientStep,
  gradients,
  mapParams
} from '../../src/graph/autodiff.js'
import { diagGaussianKl, diagGaussianLogProb } from '../../src/graph/distributions.js'
import { type ParamArray, initMlpArrays, mlpForward, mlpSpec } from '../../src/graph/nn.js'
import { magicBox, stopGradient } from '../../src/graph/ops.js'

export interface WorkloadSize {
  readonly obsDim: number
  readonly actDim: number
  readonly hidden: ReadonlyArray<number>
  readonly tasks: number
  readonly samples: number
  readonly alpha: number
}

export const defaultSize: WorkloadSize = {
  obsDim: 20,
  actDim: 6,
  hidden: [64, 64],
  tasks: 20,
  samples: 1000,
  alpha: 0.1
}

/** Raw workload numbers (row-major Float32Arrays), shared with the PyTorch reference as JSON. */
export interface WorkloadData {
  readonly size: WorkloadSize
  readonly params: Readonly<Record<string, ParamArray>>
  readonly tasks: ReadonlyArray<{
    readonly preObs: Float32Array
    readonly preAct: Float32Array
    readonly preAdv: Float32Array
    readonly postObs: Float32Array
    readonly postAct: Float32Array
    readonly postAdv: Float32Array
    readonly postLogpOld: Float32Array
  }>
  readonly direction: Readonly<Record<string, Float32Array>>
}

const normals = (rng: ReturnType<typeof rngAt>, n: number, scale = 1): Float32Array => {
  const a = new Float32Array(n)
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal()
  return a
}

/** Generate the workload's numbers from a seed (no tfjs needed). */
export const makeWorkloadData = (seed: number, size: WorkloadSize = defaultSize): WorkloadData => {
  const spec = mlpSpec([size.obsDim, ...size.hidden, size.actDim], 'tanh')
  const params: Record<string, ParamArray> = {
    ...initMlpArrays(spec, rngAt(seed, 'params'), 0.1),
    logStd: { shape: [size.actDim], values: new Float32Array(size.actDim).fill(-0.5) }
  }
  const n = size.samples
  const tasks = Array.from({ length: size.tasks }, (_, i) => {
    const r = rngAt(seed, 'task', i)
    return {
      preObs: normals(r, n * size.obsDim),
      preAct: normals(r, n * size.actDim, 0.6),
      preAdv: normals(r, n),
      postObs: normals(r, n * size.obsDim),
      postAct: normals(r, n * size.actDim, 0.6),
      postAdv: normals(r, n),
      postLogpOld: normals(r, n, 0.1).map((v) => v - 6)
    }
  })
  const rd = rngAt(seed, 'direction')
  const direction = Object.fromEntries(
    Object.entries(params).map(([k, p]) => [k, normals(rd, p.values.length)] as const)
  )
  return { size, params, tasks, direction }
}

/** Tensors of a workload on the active backend. Dispose with `disposeWorkload`. */
export interface Workload {
  readonly size: WorkloadSize
  readonly params: Params
  readonly direction: Params
  readonly tasks: ReadonlyArray<Readonly<Record<string, tf.Tensor>>>
  /** The same data stacked over tasks: obs/act [tasks, N, d], adv/logpOld [tasks, N]. */
  readonly stacked: Readonly<Record<string, tf.Tensor>>
}

/** How the tasks are laid out in tfjs ops (see the header). */
export type Formulation = 'per-task' | 'batched'
export const formulations: ReadonlyArray<Formulation> = ['per-task', 'batched']

const stack = (parts: ReadonlyArray<Float32Array>, shape: ReadonlyArray<number>): tf.Tensor => {
  const n = parts.reduce((a, p) => a + p.length, 0)
  const all = new Float32Array(n)
  let o = 0
  for (const p of parts) {
    all.set(p, o)
    o += p.length
  }
  return tf.tensor(all, [...shape])
}

export const toTensors = (data: WorkloadData): Workload => {
  const { size } = data
  const n = size.samples
  const params = Object.fromEntries(Object.entries(data.params).map(([k, p]) => [k, tf.tensor(p.values, [...p.shape])]))
  const direction = Object.fromEntries(
    Object.entries(data.direction).map(([k, v]) => [k, tf.tensor(v, [...data.params[k].shape])])
  )
  const tasks = data.tasks.map((t) => ({
    preObs: tf.tensor2d(t.preObs, [n, size.obsDim]),
    preAct: tf.tensor2d(t.preAct, [n, size.actDim]),
    preAdv: tf.tensor1d(t.preAdv),
    postObs: tf.tensor2d(t.postObs, [n, size.obsDim]),
    postAct: tf.tensor2d(t.postAct, [n, size.actDim]),
    postAdv: tf.tensor1d(t.postAdv),
    postLogpOld: tf.tensor1d(t.postLogpOld)
  }))
  const T = data.tasks.length
  const col = (k: keyof WorkloadData['tasks'][number]) => data.tasks.map((t) => t[k])
  const stacked = {
    preObs: stack(col('preObs'), [T, n, size.obsDim]),
    preAct: stack(col('preAct'), [T, n, size.actDim]),
    preAdv: stack(col('preAdv'), [T, n]),
    postObs: stack(col('postObs'), [T, n, size.obsDim]),
    postAct: stack(col('postAct'), [T, n, size.actDim]),
    postAdv: stack(col('postAdv'), [T, n]),
    postLogpOld: stack(col('postLogpOld'), [T, n])
  }
  return { size, params, direction, tasks, stacked }
}

export const disposeWorkload = (w: Workload): void => {
  tf.dispose([
    ...Object.values(w.params),
    ...Object.values(w.direction),
    ...w.tasks.flatMap((t) => Object.values(t)),
    ...Object.values(w.stacked)
  ])
}

const policy = (size: WorkloadSize) => {
  const spec = mlpSpec([size.obsDim, ...size.hidden, size.actDim], 'tanh')
  const mean = (p: Params, obs: tf.Tensor): tf.Tensor => mlpForward(spec, p, obs)
  const logProb = (p: Params, obs: tf.Tensor, act: tf.Tensor): tf.Tensor =>
    diagGaussianLogProb(mean(p, obs), p['logStd'], act)
  return { mean, logProb }
}

/** One differentiable inner step theta + alpha grad J(theta). */
const ascend = (inner: Objective, params: Params, alpha: number): Params =>
  tf.tidy(() => gradientStep(params, gradients(inner)(params), alpha))

/** theta'_i for every task (differentiable in theta when called under a gradient). */
const adaptedParams = (w: Workload, params: Params): ReadonlyArray<Params> => {
  const pi = policy(w.size)
  return w.tasks.map((t) =>
    ascend(
      (p) => tf.mean(tf.mul(magicBox(pi.logProb(p, t['preObs'], t['preAct'])), t['preAdv'])) as tf.Scalar,
      params,
      w.size.alpha
    )
  )
}

/** theta tiled over tasks: W [in, out] -> [tasks, in, out], b and logStd [d] -> [tasks, 1, d]. */
const tileOverTasks = (p: Params, tasks: number): Params =>
  mapParams(p, (x) => {
    const m = tf.reshape(x, x.rank === 1 ? [1, 1, x.shape[0]] : [1, ...x.shape])
    return tf.tile(m, [tasks, 1, 1])
  })

/** The policy mean for batched parameters: obs [tasks, N, obs] -> [tasks, N, act] (batched matMuls). */
const batchedMean = (size: WorkloadSize, p: Params, obs: tf.Tensor): tf.Tensor => {
  const layers = size.hidden.length + 1
  let h = obs
  for (let l = 0; l < layers; l++) {
    const z = tf.add(tf.matMul(h, p[`W${l}`]), p[`b${l}`]) // [tasks, N, out]
    h = l < layers - 1 ? tf.tanh(z) : z
  }
  return h
}

/** Theta'_i for all tasks at once, as [tasks, ...] tensors (differentiable in theta). */
const adaptedBatched = (w: Workload, params: Params): Params => {
  const s = w.stacked
  const inner = (p: Params): tf.Scalar => {
    const logp = diagGaussianLogProb(batchedMean(w.size, p, s['preObs']), p['logStd'], s['preAct']) // [tasks, N]
    return tf.sum(tf.mean(tf.mul(magicBox(logp), s['preAdv']), 1)) as tf.Scalar // sum_i J_i(Theta_i)
  }
  return ascend(inner, tileOverTasks(params, w.size.tasks), w.size.alpha)
}

/** The outer objective L(theta). */
const outerObjective =
  (w: Workload, formulation: Formulation) =>
  (params: Params): tf.Scalar =>
    tf.tidy(() => {
      if (formulation === 'batched') {
        const s = w.stacked
        const a = adaptedBatched(w, params)
        const logp = diagGaussianLogProb(batchedMean(w.size, a, s['postObs']), a['logStd'], s['postAct'])
        return tf.mean(tf.mul(tf.exp(tf.sub(logp, s['postLogpOld'])), s['postAdv'])) as tf.Scalar
      }
      const pi = policy(w.size)
      const adapted = adaptedParams(w, params)
      const perTask = w.tasks.map((t, i) => {
        const ratio = tf.exp(tf.sub(pi.logProb(adapted[i], t['postObs'], t['postAct']), t['postLogpOld']))
        return tf.mean(tf.mul(ratio, t['postAdv']))
      })
      return tf.div(tf.addN(perTask), w.tasks.length) as tf.Scalar
    })

/** The MAML meta-gradient grad_theta L(theta). */
export const metaGradient = (w: Workload, formulation: Formulation = 'per-task'): Params =>
  gradients(outerObjective(w, formulation))(w.params)

/** The meta-KL objective K(theta) (zero-valued at theta; its Hessian is the meta Fisher). */
export const metaKl = (w: Workload, formulation: Formulation = 'per-task') => {
  const pi = policy(w.size)
  return (params: Params): tf.Scalar =>
    tf.tidy(() => {
      if (formulation === 'batched') {
        const a = adaptedBatched(w, params)
        const m = batchedMean(w.size, a, w.stacked['postObs']) // [tasks, N, act]
        const ls = a['logStd'] // [tasks, 1, act]
        return tf.mean(diagGaussianKl(stopGradient(m), stopGradient(ls), m, ls)) as tf.Scalar
      }
      const adapted = adaptedParams(w, params)
      const perTask = w.tasks.map((t, i) => {
        const m = pi.mean(adapted[i], t['postObs'])
        const ls = adapted[i]['logStd']
        return tf.mean(diagGaussianKl(stopGradient(m), stopGradient(ls), m, ls))
      })
      return tf.div(tf.addN(perTask), w.tasks.length) as tf.Scalar
    })
}

/** The meta-KL Hessian-vector product at theta along `v` (default: the workload's direction). */
export const metaKlHvp = (w: Workload, formulation: Formulation = 'per-task', v: Params = w.direction): Params =>
  gradients((p) => tf.tidy(() => dotParams(gradients(metaKl(w, formulation))(p), v)))(w.params)

/** Conjugate-gradient settings of the benchmark (see the header). */
export const cgIterations = 10
export const cgDamping = 0.01

/**
 * `iters` conjugate-gradient iterations on (A + damping I) x = b from x = 0, with `A v` given by
 * `apply` (a fresh tensor set per call). Step sizes are read back as numbers, as TRPO/ProMP do.
 */
export const conjugateGradient = (
  apply: (v: Params) => Params,
  b: Params,
  iters: number = cgIterations,
  damping: number = cgDamping
): Params => {
  let x = mapParams(b, (t) => tf.zerosLike(t))
  let r = mapParams(b, (t) => tf.clone(t))
  let p = mapParams(b, (t) => tf.clone(t))
  const dot = (a: Params, c: Params): number => {
    const s = dotParams(a, c)
    const v = s.dataSync()[0]
    s.dispose()
    return v
  }
  let rr = dot(r, r)
  for (let i = 0; i < iters; i++) {
    const ap0 = apply(p)
    const ap = tf.tidy(() => mapParams(ap0, (t, k) => tf.add(t, tf.mul(p[k], damping))))
    disposeParams(ap0)
    const alpha = rr / dot(p, ap)
    const next = tf.tidy(() => ({
      x: mapParams(x, (t, k) => tf.add(t, tf.mul(p[k], alpha))),
      r: mapParams(r, (t, k) => tf.sub(t, tf.mul(ap[k], alpha)))
    }))
    disposeParams(ap)
    disposeParams(x)
    disposeParams(r)
    x = next.x
    r = next.r
    const rrNext = dot(r, r)
    const beta = rrNext / rr
    rr = rrNext
    const pNext = tf.tidy(() => mapParams(r, (t, k) => tf.add(t, tf.mul(p[k], beta))))
    disposeParams(p)
    p = pNext
  }
  disposeParams(r)
  disposeParams(p)
  return x
}

/** CG on the meta-KL Hessian with the workload's direction as right-hand side. */
export const metaKlCg = (w: Workload, formulation: Formulation = 'per-task'): Params =>
  conjugateGradient((v) => metaKlHvp(w, formulation, v), w.direction)

/** Flatten a parameter set in key order (for comparing backends and the reference). */
export const flatten = (p: Params): Float32Array => {
  const parts = Object.keys(p)
    .sort()
    .map((k) => p[k].dataSync() as Float32Array)
  const out = new Float32Array(parts.reduce((a, x) => a + x.length, 0))
  let o = 0
  for (const x of parts) {
    out.set(x, o)
    o += x.length
  }
  return out
}
