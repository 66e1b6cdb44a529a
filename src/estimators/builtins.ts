/**
 * The built-in estimators, each a few lines of terms. Notation (per trajectory, summed over t):
 * l_t = log pi(a_t|s_t), A_t = sum_{k<=t} l_k, A_{<t} = sum_{k<t} l_k, box(x) = exp(x - stop(x)),
 * r_t reward, R_t = sum_{t'>=t} r_t' reward-to-go, b_t = b(s_t) the control variate.
 *
 * @packageDocumentation
 */
import {
  before,
  box,
  discounted,
  linear,
  mul,
  neg,
  oneMinus,
  other,
  own,
  prefix,
  shiftBack,
  sub,
  term
} from '../graph/terms.js'
import { type Estimator, estimator, firstOrder } from './estimator.js'

const all = { grad: true, hvp: true, meta: true } as const
const firstOnly = { grad: true, hvp: false, meta: false } as const

/** DiCE, Foerster et al. 2018 (arXiv:1802.05098), paper Eq. 5. */
export const dice: Estimator = estimator({
  name: 'dice',
  formula: 'sum_t box(A_t) r_t',
  bias: 'unbiased at every order; high variance (no control variate)',
  terms: [term(box(prefix), 'reward')],
  unbiased: all
})

/** DiCE with the baseline of Mao et al. 2019 ("A Baseline for Any Order Gradient Estimation in Stochastic Computation Graphs", ICML). */
export const diceBaseline: Estimator = estimator({
  name: 'dice-baseline',
  formula: 'sum_t box(A_t) r_t + (1 - box(l_t)) box(A_{<t}) b_t',
  bias: 'unbiased at every order for any b(s_t); the baseline reduces variance of all orders',
  terms: [term(box(prefix), 'reward'), term(mul(oneMinus(box(own)), box(before)), 'baseline')],
  unbiased: all
})

/**
 * The estimator of the original MAML code (Finn et al. 2017): the policy-gradient surrogate
 * l_t (R_t - b_t), differentiated twice as if the sampling distribution did not depend on theta.
 */
export const maml: Estimator = estimator({
  name: 'maml',
  formula: 'sum_t l_t (R_t - b_t)',
  bias: 'gradient unbiased; Hessian biased: E[sum_t grad^2 l_t (R_t - b_t)] lacks every score product grad l grad l^T (Rothfuss et al. 2019), so the meta-gradient is biased',
  terms: [term(linear(own), 'advantage')],
  unbiased: firstOnly
})

/** LVC, the low-variance curvature surrogate of ProMP (Rothfuss et al. 2019, arXiv:1810.06784), paper Eq. 6. */
export const lvc: Estimator = estimator({
  name: 'lvc',
  formula: 'sum_t box(l_t) (R_t - b_t)',
  bias: 'gradient unbiased; Hessian biased (keeps grad l_t grad l_t^T, drops the cross-time score products), lower variance than DiCE',
  terms: [term(box(own), 'advantage')],
  unbiased: firstOnly
})

/**
 * Loaded DiCE, Farquhar et al. 2019 (NeurIPS, arXiv:1909.10549): dependencies discounted by lambda,
 * w_t = sum_{k<=t} lambda^(t-k) l_k. At lambda = 1 it equals DiCE with the Mao baseline.
 */
export const loadedDice = (lambda: number): Estimator =>
  estimator({
    name: `loaded-dice(${lambda})`,
    formula: `sum_t (box(w_t) - box(w_{t-1})) (R_t - b_t), w_t = sum_{k<=t} ${lambda}^(t-k) l_k`,
    bias:
      lambda === 1
        ? 'unbiased at every order (equals dice-baseline)'
        : 'lambda < 1 trades bias for variance: higher orders are biased; the gradient is unbiased only when b is the exact value function',
    terms: [term(sub(box(discounted(lambda)), box(shiftBack(discounted(lambda)))), 'advantage')],
    unbiased: lambda === 1 ? all : firstOnly
  })

/** TMAML exactly as printed in the paper (Liu et al. 2019, Eq. 7), added to DiCE as in Algorithm 2. */
export const tmamlEq7: Estimator = estimator({
  name: 'tmaml-eq7',
  formula: 'sum_t box(A_t) r_t + [1 - box(A_t)] (1 - box(l_t)) b_t',
  bias: 'gradient unbiased (the control-variate term has zero gradient); Hessian BIASED: with the inclusive prefix A_t the term contributes 2 b(s_t) grad l_t grad l_t^T, whose expectation is 2 b(s_t) F(s_t) (Fisher information), not 0. Also reported by Tang et al. (NeurIPS 2021).',
  terms: [term(box(prefix), 'reward'), term(mul(oneMinus(box(prefix)), oneMinus(box(own))), 'baseline')],
  unbiased: firstOnly
})

/**
 * The control-variate form found in the authors' published code: the exclusive prefix of another
 * trajectory of the batch, times box(l_t) rather than 1 - box(l_t).
 */
export const tmamlReference: Estimator = estimator({
  name: 'tmaml-reference',
  formula: "sum_t box(A_t) r_t + [1 - box(A'_{<t})] box(l_t) b_t   (A' from another, independent trajectory)",
  bias: "unbiased at every order (the added terms are zero-mean because A' is independent of the trajectory), but they do not cancel DiCE's noise: no variance reduction, more variance at first order",
  terms: [term(box(prefix), 'reward'), term(mul(oneMinus(box(other(before))), box(own)), 'baseline')],
  unbiased: all
})

/**
 * TMAML, corrected (the default): DiCE, a first-order baseline, and the second-order control variate
 * with the EXCLUSIVE prefix. Expanded it equals DiCE with the Mao et al. baseline; declared here in
 * the TMAML decomposition.
 */
export const tmaml: Estimator = estimator({
  name: 'tmaml',
  formula: 'sum_t box(A_t) r_t + (1 - box(l_t)) b_t - [1 - box(A_{<t})] (1 - box(l_t)) b_t',
  bias: 'unbiased at every order for any state-dependent b; the lowest variance of the family with a good b. Eq. 7 of the paper uses the inclusive prefix, which biases the Hessian (see tmaml-eq7)',
  terms: [
    term(box(prefix), 'reward'),
    term(oneMinus(box(own)), 'baseline'),
    term(neg(mul(oneMinus(box(before)), oneMinus(box(own)))), 'baseline')
  ],
  unbiased: all
})

export const diceFirstOrder: Estimator = firstOrder(dice)
export const tmamlFirstOrder: Estimator = firstOrder(tmaml)

/** Every built-in estimator, by name. */
export const builtinEstimators: ReadonlyArray<Estimator> = [
  maml,
  dice,
  diceBaseline,
  lvc,
  loadedDice(1),
  loadedDice(0.9),
  tmamlEq7,
  tmamlReference,
  tmaml,
  diceFirstOrder,
  tmamlFirstOrder
]

/** Look an estimator up by name (`loaded-dice(0.5)` builds one for any lambda in [0, 1]). */
export const estimatorByName = (name: string): Estimator | undefined => {
  const found = builtinEstimators.find((e) => e.name === name)
  if (found !== undefined) return found
  const m = /^loaded-dice\(([0-9.]+)\)$/.exec(name)
  if (m !== null) {
    const lambda = Number(m[1])
    if (lambda >= 0 && lambda <= 1) return loadedDice(lambda)
  }
  return undefined
}
