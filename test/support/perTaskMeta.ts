/**
 * The meta-objectives computed task by task, one small graph per task (the layout of the ProMP/TMAML
 * reference code and of this project before the task-batched problem): the reference the batched
 * `src/pipelines/meta.ts` is checked against. Deliberately plain: per-task `policyGraph`, per-task
 * data and behaviour log-probabilities from the unbatched policy.
 */
import * as tf from '@tensorflow/tfjs-core'
import { type Params, disposeParams } from '../../src/graph/autodiff.js'
import { behaviourLogProbKey, surrogateOrThrow } from '../../src/graph/interpret.js'
import type { GraphData } from '../../src/graph/nodes.js'
import { stopGradient } from '../../src/graph/ops.js'
import type { Estimator } from '../../src/estimators/estimator.js'
import { adaptedParams } from '../../src/estimators/maml.js'
import { type WithBaseline, graphData, outerAdvantages } from '../../src/pipelines/episodes.js'
import {
  type PolicySpec,
  policyGraph,
  policyKl,
  policyLogProb,
  policyLogProbPerDim,
  toTensors
} from '../../src/pipelines/policy.js'

export interface PerTaskProblem {
  readonly policy: PolicySpec
  readonly estimator: Estimator
  readonly alpha: number
  readonly gamma: number
  readonly pre: ReadonlyArray<ReadonlyArray<GraphData>>
  readonly post: ReadonlyArray<GraphData>
  readonly advantages: ReadonlyArray<tf.Tensor>
}

const rows = (x: tf.Tensor): tf.Tensor => tf.reshape(x, [x.shape[0] * (x.shape[1] as number), x.shape[2] as number])

export const makePerTask = (args: {
  readonly policy: PolicySpec
  readonly estimator: Estimator
  readonly alpha: number
  readonly gamma: number
  readonly normalizeAdvantages: boolean
  readonly pre: ReadonlyArray<ReadonlyArray<WithBaseline>>
  readonly post: ReadonlyArray<WithBaseline>
}): PerTaskProblem => ({
  policy: args.policy,
  estimator: args.estimator,
  alpha: args.alpha,
  gamma: args.gamma,
  pre: args.pre.map((steps) =>
    steps.map((s) => {
      const d = graphData(s.batch, s.baseline)
      const q = toTensors(s.sampledWith)
      const lp = tf.tidy(() =>
        tf.reshape(policyLogProbPerDim(args.policy, q, rows(d['obs']), rows(d['action'])), d['action'].shape)
      )
      disposeParams(q)
      return { ...d, [behaviourLogProbKey('action')]: lp }
    })
  ),
  post: args.post.map((p) => graphData(p.batch, p.baseline)),
  advantages: args.post.map((p) =>
    tf.tensor1d(outerAdvantages(p.batch, p.baseline, args.gamma, args.normalizeAdvantages))
  )
})

export const disposePerTask = (m: PerTaskProblem): void => {
  m.pre.flat().forEach((d) => tf.dispose(Object.values(d)))
  m.post.forEach((d) => tf.dispose(Object.values(d)))
  tf.dispose([...m.advantages])
}

const steps = (d: GraphData): number => d['rewards'].shape[0] * (d['rewards'].shape[1] as number)

export const adaptTask =
  (m: PerTaskProblem, k: number) =>
  (theta: Params): Params =>
    adaptedParams({
      graph: policyGraph(m.policy),
      estimator: m.estimator,
      data: (s) => m.pre[k][s],
      alpha: m.alpha / steps(m.pre[k][0]),
      steps: m.pre[k].length,
      options: { discount: m.gamma, reduction: 'sum' }
    })(theta)

const meanOverTasks = (m: PerTaskProblem, f: (k: number) => tf.Tensor): tf.Scalar =>
  tf.div(tf.addN(m.post.map((_, k) => f(k))), m.post.length) as tf.Scalar

const maskedMean = (x: tf.Tensor, mask: tf.Tensor): tf.Tensor =>
  tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1))

const maskOf = (m: PerTaskProblem, k: number): tf.Tensor => tf.reshape(m.post[k]['mask'], [-1])

const postLogProb = (m: PerTaskProblem, k: number, p: Params): tf.Tensor =>
  policyLogProb(m.policy, p, rows(m.post[k]['obs']), rows(m.post[k]['action']))

export const vpgObjective =
  (m: PerTaskProblem) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() =>
      meanOverTasks(m, (k) =>
        tf.div(
          surrogateOrThrow(policyGraph(m.policy), m.estimator.spec, { discount: m.gamma, reduction: 'sum' })(
            adaptTask(m, k)(theta),
            m.post[k]
          ),
          steps(m.post[k])
        )
      )
    )

export const oldAdapted = (m: PerTaskProblem, thetaOld: Params): ReadonlyArray<Params> =>
  m.post.map((_, k) => tf.tidy(() => adaptTask(m, k)(thetaOld)))

const ratio = (m: PerTaskProblem, k: number, theta: Params, old: ReadonlyArray<Params>): tf.Tensor =>
  tf.exp(tf.sub(postLogProb(m, k, adaptTask(m, k)(theta)), stopGradient(postLogProb(m, k, old[k]))))

export const lrObjective =
  (m: PerTaskProblem, old: ReadonlyArray<Params>) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() => meanOverTasks(m, (k) => maskedMean(tf.mul(ratio(m, k, theta, old), m.advantages[k]), maskOf(m, k))))

export const metaKl =
  (m: PerTaskProblem, old: ReadonlyArray<Params>) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() =>
      meanOverTasks(m, (k) =>
        maskedMean(policyKl(m.policy, old[k], adaptTask(m, k)(theta), rows(m.post[k]['obs'])), maskOf(m, k))
      )
    )

export const clippedObjective =
  (m: PerTaskProblem, old: ReadonlyArray<Params>, thetaOld: Params, clip: number, klPenalty: number) =>
  (theta: Params): tf.Scalar =>
    tf.tidy(() => {
      const clipped = meanOverTasks(m, (k) => {
        const r = ratio(m, k, theta, old)
        const A = m.advantages[k]
        return maskedMean(tf.minimum(tf.mul(r, A), tf.mul(tf.clipByValue(r, 1 - clip, 1 + clip), A)), maskOf(m, k))
      })
      const innerKl = meanOverTasks(m, (k) => {
        const pre = m.pre[k][0]
        return maskedMean(policyKl(m.policy, thetaOld, theta, rows(pre['obs'])), tf.reshape(pre['mask'], [-1]))
      })
      return tf.sub(clipped, tf.mul(innerKl, klPenalty)) as tf.Scalar
    })
