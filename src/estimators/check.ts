/**
 * The unbiasedness check: for an estimator, on random tabular MDPs whose exact gradient,
 * Hessian-vector product and MAML meta-gradient are known, draw R independent estimates of each,
 * z-test their Monte-Carlo mean against the exact value (Bonferroni-corrected over coordinates and
 * MDPs), and report the Monte-Carlo variance. Optionally also the exact mean of the estimator (by
 * enumerating trajectories), which shows the bias without sampling error.
 *
 * @example
 * const results = checkEstimators([tmaml, tmamlEq7], { samples: 20000, seed: 1, mdps: 3 })
 * // [{ estimator: 'tmaml', order: 'hvp', maxAbsZ: 1.9, unbiased: true, variance: 0.02, ... }, ...]
 *
 * @packageDocumentation
 */
import { rngAt } from '../base/rng.js'
import { readsOtherTrajectory } from '../graph/terms.js'
import type { Estimator, Order } from './estimator.js'
import {
  type Batch,
  type BaselineKind,
  type GroundTruthProblem,
  drawBatch,
  exactMetaMean,
  exactMoments,
  exactTargets,
  gradientEstimates,
  hvpEstimates,
  makeProblem,
  metaEstimates
} from './groundTruth/problem.js'
import type { MdpSize } from './groundTruth/tabularMdp.js'
import { bonferroniThreshold, columnMoments, maxAbs, zScores } from './statistics.js'

export interface CheckConfig {
  /** Independent estimates per (estimator, order, MDP). */
  readonly samples: number
  /** Trajectories per estimate (>= 2 so estimators reading another trajectory work). */
  readonly groupSize: number
  readonly seed: number
  /** Number of random MDPs. */
  readonly mdps: number
  readonly size: MdpSize
  readonly baseline: BaselineKind
  /** Family-wise false-alarm rate of the z-test per (estimator, order). */
  readonly falseAlarm: number
  /** Inner step size of the meta-gradient. */
  readonly alpha: number
  /** Also compute the exact mean by enumeration (small MDPs only). */
  readonly exact: boolean
}

export const defaultCheckConfig: CheckConfig = {
  samples: 20000,
  groupSize: 2,
  seed: 1,
  mdps: 3,
  size: { states: 3, actions: 2, horizon: 3, rewardMean: 0.5 },
  baseline: 'value',
  falseAlarm: 1e-3,
  alpha: 0.5,
  exact: false
}

/** One row of the report; the JSON of `tmaml estimators check` is an array of these. */
export interface CheckResult {
  readonly estimator: string
  readonly order: Order
  /** Largest |z| over coordinates and MDPs. */
  readonly maxAbsZ: number
  /** The Bonferroni threshold maxAbsZ was compared with. */
  readonly threshold: number
  /** The verdict: maxAbsZ below the threshold. */
  readonly unbiased: boolean
  /** What the estimator's declaration claims. */
  readonly claimed: boolean
  /** Mean over coordinates (and MDPs) of the per-coordinate variance of one estimate. */
  readonly variance: number
  /** Largest |exact mean - exact value| over coordinates and MDPs, when `exact` was requested. */
  readonly exactMaxAbsBias: number | null
}

const orders: ReadonlyArray<Order> = ['grad', 'hvp', 'meta']

const estimate = (order: Order) =>
  order === 'grad' ? gradientEstimates : order === 'hvp' ? hvpEstimates : metaEstimates

/** The problems of a configuration (one per MDP). */
export const problemsOf = (c: CheckConfig): ReadonlyArray<GroundTruthProblem> =>
  Array.from({ length: c.mdps }, (_, i) =>
    makeProblem(c.seed * 1000 + i, { size: c.size, baseline: c.baseline, alpha: c.alpha })
  )

const needsPairs = (e: Estimator): boolean =>
  e.spec.terms.some((t) =>
    t.weight._tag === 'Linear'
      ? readsOtherTrajectory(t.weight.of)
      : t.weight.monomials.some((m) => m.boxes.some(readsOtherTrajectory))
  )

/** Check estimators at every order on the configuration's MDPs. */
export const checkEstimators = (
  estimators: ReadonlyArray<Estimator>,
  config: Partial<CheckConfig> = {},
  progress: (msg: string) => void = () => undefined
): ReadonlyArray<CheckResult> => {
  const c: CheckConfig = { ...defaultCheckConfig, ...config }
  if (!(Number.isInteger(c.samples) && c.samples >= 2))
    throw new RangeError(`samples must be an integer >= 2, got ${c.samples}`)
  const problems = problemsOf(c)
  const targets = problems.map(exactTargets)
  const dim = c.size.states * c.size.actions
  const threshold = bonferroniThreshold(c.falseAlarm, dim * problems.length)
  const results: CheckResult[] = []
  for (const e of estimators) {
    for (const order of orders) {
      progress(`${e.name} ${order}`)
      let worstZ = 0
      let varianceSum = 0
      let worstExact = 0
      problems.forEach((p, i) => {
        const batch: Batch = drawBatch(p, rngAt(c.seed, e.name, order, i), c.samples, c.groupSize, order === 'meta')
        const est = estimate(order)(p, e, batch)
        const m = columnMoments(est.values, est.replicates, est.dim)
        const target = targets[i][order]
        worstZ = Math.max(worstZ, maxAbs(zScores(m.mean, m.variance, target, est.replicates)))
        varianceSum += m.variance.reduce((a, v) => a + v, 0) / est.dim
        if (c.exact) {
          const mean =
            order === 'meta'
              ? exactMetaMean(p, e, needsPairs(e))
              : exactMoments(p, e, order, c.groupSize, needsPairs(e)).mean
          worstExact = Math.max(worstExact, maxAbs(mean.map((x, j) => x - target[j])))
        }
      })
      results.push({
        estimator: e.name,
        order,
        maxAbsZ: worstZ,
        threshold,
        unbiased: worstZ < threshold,
        claimed: e.unbiased[order],
        variance: varianceSum / problems.length,
        exactMaxAbsBias: c.exact ? worstExact : null
      })
    }
  }
  return results
}
