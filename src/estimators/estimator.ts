/**
 * An estimator is a declaration: a name, its surrogate as terms (src/graph/terms.ts), the formula
 * and known bias in words, and the orders at which it is claimed to be unbiased. The claims are
 * what `tmaml estimators check` and the test suite verify, never assume.
 *
 * @packageDocumentation
 */
import type { SurrogateSpec, Term } from '../graph/terms.js'

/** The derivative orders an estimator is checked at: gradient, Hessian-vector product, MAML meta-gradient. */
export type Order = 'grad' | 'hvp' | 'meta'

export interface Estimator {
  readonly name: string
  /** The surrogate, summed over time steps t of each trajectory. */
  readonly formula: string
  /** What is known about its bias (and variance), with sources. */
  readonly bias: string
  readonly spec: SurrogateSpec
  /** Claimed unbiasedness per order, under a state-dependent baseline. */
  readonly unbiased: Readonly<Record<Order, boolean>>
}

/** Declare an estimator from terms; `order: 'first'` for first-order methods. */
export const estimator = (e: {
  readonly name: string
  readonly formula: string
  readonly bias: string
  readonly terms: ReadonlyArray<Term>
  readonly unbiased: Readonly<Record<Order, boolean>>
  readonly order?: 'all' | 'first'
}): Estimator => ({
  name: e.name,
  formula: e.formula,
  bias: e.bias,
  spec: { terms: e.terms, order: e.order ?? 'all' },
  unbiased: e.unbiased
})

/**
 * The first-order variant of an estimator: the same gradient, zero higher derivatives (the inner
 * step of first-order MAML, Finn et al. 2017, section 5.2). Biased at second order and for the
 * meta-gradient by construction.
 */
export const firstOrder = (e: Estimator): Estimator => ({
  name: `${e.name}-fo`,
  formula: `${e.formula}, differentiated once (higher derivatives cut)`,
  bias: `first-order: the Hessian estimate is 0, so the Hessian-vector product and the meta-gradient are biased (the meta-gradient ignores the Jacobian of the adaptation). ${e.unbiased.grad ? 'Gradient unbiased.' : ''}`,
  spec: { ...e.spec, order: 'first' },
  unbiased: { grad: e.unbiased.grad, hvp: false, meta: false }
})
