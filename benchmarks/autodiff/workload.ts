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
 */
import * as tf from '@tensorflow/tfjs-core'
import { rngAt } from '../../src/base/rng.js'
import { type Params, dotParams, gradients, innerStep } from '../../src/graph/autodiff.js'
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
  return { size, params, direction, tasks }
}

export const disposeWorkload = (w: Workload): void => {
  tf.dispose([...Object.values(w.params), ...Object.values(w.direction), ...w.tasks.flatMap((t) => Object.values(t))])
}

const policy = (size: WorkloadSize) => {
  const spec = mlpSpec([size.obsDim, ...size.hidden, size.actDim], 'tanh')
  const mean = (p: Params, obs: tf.Tensor): tf.Tensor => mlpForward(spec, p, obs)
  const logProb = (p: Params, obs: tf.Tensor, act: tf.Tensor): tf.Tensor =>
    diagGaussianLogProb(mean(p, obs), p['logStd'], act)
  return { mean, logProb }
}

/** theta'_i for every task (differentiable in theta when called under a gradient). */
const adaptedParams = (w: Workload, params: Params): ReadonlyArray<Params> => {
  const pi = policy(w.size)
  return w.tasks.map((t) =>
    innerStep(
      (p) => tf.mean(tf.mul(magicBox(pi.logProb(p, t['preObs'], t['preAct'])), t['preAdv'])) as tf.Scalar,
      w.size.alpha
    )(params)
  )
}

/** The MAML meta-gradient grad_theta L(theta). */
export const metaGradient = (w: Workload): Params => {
  const pi = policy(w.size)
  return gradients((params) =>
    tf.tidy(() => {
      const adapted = adaptedParams(w, params)
      const perTask = w.tasks.map((t, i) => {
        const ratio = tf.exp(tf.sub(pi.logProb(adapted[i], t['postObs'], t['postAct']), t['postLogpOld']))
        return tf.mean(tf.mul(ratio, t['postAdv']))
      })
      return tf.div(tf.addN(perTask), w.tasks.length) as tf.Scalar
    })
  )(w.params)
}

/** The meta-KL objective K(theta) (zero-valued at theta; its Hessian is the meta Fisher). */
export const metaKl = (w: Workload) => {
  const pi = policy(w.size)
  return (params: Params): tf.Scalar =>
    tf.tidy(() => {
      const adapted = adaptedParams(w, params)
      const perTask = w.tasks.map((t, i) => {
        const m = pi.mean(adapted[i], t['postObs'])
        const ls = adapted[i]['logStd']
        return tf.mean(diagGaussianKl(stopGradient(m), stopGradient(ls), m, ls))
      })
      return tf.div(tf.addN(perTask), w.tasks.length) as tf.Scalar
    })
}

/** The meta-KL Hessian-vector product at theta along the workload's direction. */
export const metaKlHvp = (w: Workload): Params =>
  gradients((p) => tf.tidy(() => dotParams(gradients(metaKl(w))(p), w.direction)))(w.params)

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
