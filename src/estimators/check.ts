/**
 * The unbiasedness check: for an estimator, on random tabular MDPs whose exact gradient,
 * Hessian-vector product and MAML meta-gradient are known, draw R independent estimates of each,
 * z-test their Monte-Carlo mean against the exact value (Bonferroni-corrected over coordinates and
 * MDPs), and report the Monte-Carlo variance. Optionally also the exact mean of the estimator (by
 * enumerating trajectories), which shows the bias without sampling error.
 *
 * Rare events. A z-test trusts the central limit theorem, which a Monte-Carlo mean does not obey when
 * the estimate is driven by an event that the R draws see only a few times: with a (state, action)
 * pair of probability 0.001, 2,000 replicates gave |z| = 40 for DiCE, whose exact bias is 1e-7
 * (test/estimators/rareEvents.test.ts). So before a verdict the check computes, exactly, how many
 * times the replicates are expected to take the rarest (state, action) pair; below
 * `minExpectedCount` it draws more replicates (up to `maxSamples`), and if that is still not enough a
 * failed z-test is reported as 'inconclusive', never as 'biased'.
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
import { type MdpSize, expectedVisits, policyTable } from './groundTruth/tabularMdp.js'
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
  /** Expected visits of the rarest (state, action) pair over all replicates needed for a verdict. */
  readonly minExpectedCount: number
  /** Replicates drawn at most when `samples` does not reach `minExpectedCount`. */
  readonly maxSamples: number
  /** The orders to check (default all three). */
  readonly orders: ReadonlyArray<Order>
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
  exact: false,
  minExpectedCount: 100,
  maxSamples: 400_000,
  orders: ['grad', 'hvp', 'meta']
}

/** One row of the report; the JSON of `tmaml estimators check` is an array of these. */
export interface CheckResult {
  readonly estimator: string
  readonly order: Order
  /** Largest |z| over coordinates and MDPs. */
  readonly maxAbsZ: number
  /** The Bonferroni threshold maxAbsZ was compared with. */
  readonly threshold: number
  /**
   * 'biased': the z-test failed on an MDP where the replicates see every (state, action) pair often
   * enough (`minExpectedCount`); 'inconclusive': it failed only where they do not; else 'unbiased'.
   */
  readonly verdict: 'unbiased' | 'biased' | 'inconclusive'
  /** `verdict !== 'biased'`: not shown to be biased. */
  readonly unbiased: boolean
  /** Replicates drawn (the largest over the MDPs: more where events are rare). */
  readonly samples: number
  /** Expected visits, over all replicates, of the rarest (state, action) pair (the smallest over the MDPs). */
  readonly rarestCount: number
  /** What the estimator's declaration claims. */
  readonly claimed: boolean
  /** Mean over coordinates (and MDPs) of the per-coordinate variance of one estimate. */
  readonly variance: number
  /** Largest |exact mean - exact value| over coordinates and MDPs, when `exact` was requested. */
  readonly exactMaxAbsBias: number | null
}

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

/**
 * Expected visits of the rarest (state, action) pair by one replicate's trajectories (`groupSize` of
 * them; for the meta-gradient, the inner ones at theta and the outer ones at theta').
 */
export const rarestPerReplicate = (p: GroundTruthProblem, order: Order, groupSize: number): number => {
  const rarest = (theta: Float32Array) => Math.min(...expectedVisits(p.mdp, policyTable(p.mdp, theta)))
  return groupSize * (order === 'meta' ? Math.min(rarest(p.theta), rarest(p.adaptedTheta)) : rarest(p.theta))
}

/** Check estimators at the configured orders on the configuration's MDPs. */
export const checkEstimators = (
  estimators: ReadonlyArray<Estimator>,
  config: Partial<CheckConfig> = {},
  progress: (msg: string) => void = () => undefined
): ReadonlyArray<CheckResult> =>
  checkOnProblems(estimators, problemsOf({ ...defaultCheckConfig, ...config }), config, progress)

/** `checkEstimators` on given problems (e.g. an MDP of your own, `makeProblem(seed, { logits })`). */
export const checkOnProblems = (
  estimators: ReadonlyArray<Estimator>,
  problems: ReadonlyArray<GroundTruthProblem>,
  config: Partial<CheckConfig> = {},
  progress: (msg: string) => void = () => undefined
): ReadonlyArray<CheckResult> => {
  const c: CheckConfig = { ...defaultCheckConfig, ...config }
  if (!(Number.isInteger(c.samples) && c.samples >= 2))
    throw new RangeError(`samples must be an integer >= 2, got ${c.samples}`)
  const targets = problems.map(exactTargets)
  const dim = problems[0].mdp.states * problems[0].mdp.actions
  const threshold = bonferroniThreshold(c.falseAlarm, dim * problems.length)
  const results: CheckResult[] = []
  for (const e of estimators) {
    for (const order of c.orders) {
      progress(`${e.name} ${order}`)
      let worstZ = 0
      let varianceSum = 0
      let worstExact = 0
      let biasedSomewhere = false
      let failedUnreliably = false
      let samples = 0
      let rarestCount = Infinity
      problems.forEach((p, i) => {
        const perReplicate = rarestPerReplicate(p, order, c.groupSize)
        const needed = Math.ceil(c.minExpectedCount / perReplicate)
        const R = Math.max(c.samples, Math.min(needed, c.maxSamples))
        const reliable = R * perReplicate >= c.minExpectedCount
        samples = Math.max(samples, R)
        rarestCount = Math.min(rarestCount, R * perReplicate)
        const batch: Batch = drawBatch(p, rngAt(c.seed, e.name, order, i), R, c.groupSize, order === 'meta')
        const est = estimate(order)(p, e, batch)
        const m = columnMoments(est.values, est.replicates, est.dim)
        const target = targets[i][order]
        const z = maxAbs(zScores(m.mean, m.variance, target, est.replicates))
        worstZ = Math.max(worstZ, z)
        if (z >= threshold) {
          if (reliable) biasedSomewhere = true
          else failedUnreliably = true
        }
        varianceSum += m.variance.reduce((a, v) => a + v, 0) / est.dim
        if (c.exact) {
          const mean =
            order === 'meta'
              ? exactMetaMean(p, e, needsPairs(e))
              : exactMoments(p, e, order, c.groupSize, needsPairs(e)).mean
          worstExact = Math.max(worstExact, maxAbs(mean.map((x, j) => x - target[j])))
        }
      })
      const verdict = biasedSomewhere ? 'biased' : failedUnreliably ? 'inconclusive' : 'unbiased'
      results.push({
        estimator: e.name,
        order,
        maxAbsZ: worstZ,
        threshold,
        verdict,
        unbiased: verdict !== 'biased',
        samples,
        rarestCount,
        claimed: e.unbiased[order],
        variance: varianceSum / problems.length,
        exactMaxAbsBias: c.exact ? worstExact : null
      })
    }
  }
  return results
}
