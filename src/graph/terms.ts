/**
 * The vocabulary estimators are declared in: symbolic, immutable expressions that the interpreter
 * (interpret.ts) compiles to tfjs. An estimator's surrogate is a sum over cost nodes and time steps
 * of terms `weight_t * value_t`, where a weight is a polynomial in magic boxes of log-probability
 * expressions (or, for the original MAML estimator, a log-probability itself).
 *
 * Log-probability expressions, for a cost c_t and the stochastic nodes it depends on
 * (l_t = log pi(a_t | s_t)):
 *   own            l_t
 *   prefix         A_t    = sum_{k<=t} l_k           (inclusive: everything c_t depends on)
 *   before         A_{<t} = sum_{k<t} l_k           (exclusive)
 *   discounted(L)  w_t    = sum_{k<=t} L^(t-k) l_k  (Loaded DiCE's discounted dependencies)
 *   shiftBack(x)   x_{t-1}, 0 at t = 0
 *   other(x)       x of another, independent trajectory of the batch (the next one, cyclically)
 *   plus(x, y)     x + y
 *
 * Values (gradient-stopped except `reward`, which may carry a pathwise gradient):
 *   reward         gamma^t r_t
 *   rewardToGo     sum_{t'>=t} gamma^t' r_t'
 *   baseline       gamma^t b_t  (the control variate attached to the stochastic node)
 *   advantage      rewardToGo - baseline
 *   constant(c)    gamma^t c   (a constant baseline written into the terms, no control variate needed)
 *
 * @example
 * // DiCE with the baseline of Mao et al. (2019), in the vocabulary:
 * const terms = [term(box(prefix), 'reward'), term(mul(oneMinus(box(own)), box(before)), 'baseline')]
 *
 * @packageDocumentation
 */

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export type LogProbExpr =
  | { readonly _tag: 'Own' }
  | { readonly _tag: 'Prefix'; readonly inclusive: boolean; readonly discount: number }
  | { readonly _tag: 'ShiftBack'; readonly of: LogProbExpr }
  | { readonly _tag: 'OtherTrajectory'; readonly of: LogProbExpr }
  | { readonly _tag: 'Plus'; readonly terms: ReadonlyArray<LogProbExpr> }

/** coef * box(sum of `boxes`); an empty `boxes` is box(0) = 1, a constant. */
export interface Monomial {
  readonly coef: number
  readonly boxes: ReadonlyArray<LogProbExpr>
}

/** A polynomial in magic boxes. box(x) box(y) = box(x + y), so products stay polynomials. */
export interface BoxPoly {
  readonly _tag: 'BoxPoly'
  readonly monomials: ReadonlyArray<Monomial>
}

/**
 * A log-probability used as a weight directly (value x, derivative dx, second derivative d2x): the
 * policy-gradient surrogate of the original MAML code, whose Hessian lacks the score products.
 */
export interface Linear {
  readonly _tag: 'Linear'
  readonly of: LogProbExpr
  readonly coef: number
}

export type Weight = BoxPoly | Linear

/** gamma^t c at every valid step: a baseline that is one number (e.g. an average return). */
export interface Constant {
  readonly _tag: 'Constant'
  readonly value: number
}

export type Value = 'reward' | 'rewardToGo' | 'baseline' | 'advantage' | Constant

/** weight_t * value_t, summed over time steps and cost nodes. */
export interface Term {
  readonly weight: Weight
  readonly value: Value
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

export const own: LogProbExpr = { _tag: 'Own' }
export const prefix: LogProbExpr = { _tag: 'Prefix', inclusive: true, discount: 1 }
export const before: LogProbExpr = { _tag: 'Prefix', inclusive: false, discount: 1 }

/** w_t = sum_{k<=t} lambda^(t-k) l_k. `discounted(1)` is `prefix`. */
export const discounted = (lambda: number): LogProbExpr => {
  if (!(lambda >= 0 && lambda <= 1)) throw new RangeError(`discounted: lambda must be in [0, 1], got ${lambda}`)
  return { _tag: 'Prefix', inclusive: true, discount: lambda }
}

export const shiftBack = (of: LogProbExpr): LogProbExpr => ({ _tag: 'ShiftBack', of })
export const other = (of: LogProbExpr): LogProbExpr => ({ _tag: 'OtherTrajectory', of })
export const plus = (...terms: ReadonlyArray<LogProbExpr>): LogProbExpr => ({ _tag: 'Plus', terms })

/** box(x) = exp(x - stop(x)): value 1, derivative box(x) dx. */
export const box = (x: LogProbExpr): BoxPoly => ({ _tag: 'BoxPoly', monomials: [{ coef: 1, boxes: [x] }] })

/** The constant 1 (= box(0)). */
export const one: BoxPoly = { _tag: 'BoxPoly', monomials: [{ coef: 1, boxes: [] }] }

/** The log-probability x as a weight (see `Linear`). */
export const linear = (x: LogProbExpr): Linear => ({ _tag: 'Linear', of: x, coef: 1 })

const asPoly = (w: Weight, op: string): BoxPoly => {
  if (w._tag === 'Linear') throw new TypeError(`${op}: a linear weight cannot be combined with boxes`)
  return w
}

export const add = (a: BoxPoly, b: BoxPoly): BoxPoly => ({
  _tag: 'BoxPoly',
  monomials: [...a.monomials, ...b.monomials]
})

export const scale = (c: number, w: Weight): Weight =>
  w._tag === 'Linear'
    ? { ...w, coef: w.coef * c }
    : { _tag: 'BoxPoly', monomials: w.monomials.map((m) => ({ ...m, coef: m.coef * c })) }

export const neg = (w: BoxPoly): BoxPoly => scale(-1, w) as BoxPoly

export const sub = (a: BoxPoly, b: BoxPoly): BoxPoly => add(a, neg(b))

/** Product of two box polynomials, expanded (box(x) box(y) = box(x + y)). */
export const mul = (a: Weight, b: Weight): BoxPoly => {
  const pa = asPoly(a, 'mul')
  const pb = asPoly(b, 'mul')
  return {
    _tag: 'BoxPoly',
    monomials: pa.monomials.flatMap((x) =>
      pb.monomials.map((y) => ({ coef: x.coef * y.coef, boxes: [...x.boxes, ...y.boxes] }))
    )
  }
}

/** 1 - w. */
export const oneMinus = (w: BoxPoly): BoxPoly => sub(one, w)

export const term = (weight: Weight, value: Value): Term => ({ weight, value })

/**
 * The value gamma^t c: a constant baseline. DiCE with the constant baseline c, for instance:
 * `[term(box(prefix), 'reward'), term(mul(oneMinus(box(own)), box(before)), constant(c))]`.
 */
export const constant = (c: number): Constant => {
  if (!Number.isFinite(c)) throw new RangeError(`constant: the value must be finite, got ${c}`)
  return { _tag: 'Constant', value: c }
}

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/** Whether an expression reads another trajectory (the interpreter then needs batch size >= 2). */
export const readsOtherTrajectory = (x: LogProbExpr): boolean => {
  switch (x._tag) {
    case 'OtherTrajectory':
      return true
    case 'ShiftBack':
      return readsOtherTrajectory(x.of)
    case 'Plus':
      return x.terms.some(readsOtherTrajectory)
    default:
      return false
  }
}

/**
 * What the interpreter compiles: terms, and whether derivatives beyond the first are meaningful.
 * `order: 'first'` marks a first-order method: its gradient is the terms' gradient, and its
 * higher derivatives are zero (the inner step of first-order MAML does not differentiate it).
 */
export interface SurrogateSpec {
  readonly terms: ReadonlyArray<Term>
  readonly order: 'all' | 'first'
}
