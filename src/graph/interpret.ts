/**
 * The interpreter: (graph, surrogate spec, parameters, data) -> a scalar tfjs surrogate whose k-th
 * derivatives are the estimator's k-th order gradient estimates. This is the only module that
 * applies magic boxes.
 *
 * Per cost node, the log-probabilities of the stochastic nodes it depends on are arranged on the
 * cost's time axis according to the cost's causality (an MDP's reward r_t depends on a_0..a_t), so
 * `prefix`, `before` and their discounted forms are prefix sums over time — vectorised, never one op
 * per step. Batch-plate stochastic ancestors (drawn once per trajectory) precede every step.
 *
 * @example
 * const g = validate(nodes)                                 // Either<GraphError, ValidGraph>
 * const L = surrogate(g.right, dice.spec)(params, data)     // Either<GraphError, tf.Scalar>
 * const grads = gradients((p) => surrogateOrThrow(g.right, dice.spec)(p, data))(params)
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { absurd } from 'fp-ts/lib/function.js'
import { type Params, gradients } from './autodiff.js'
import { type GraphError, type ValidGraph, showGraphError } from './graph.js'
import type { Cost, GraphData, Node, NodeId, Stochastic } from './nodes.js'
import { stopGradient } from './ops.js'
import type { LogProbExpr, SurrogateSpec, Term, Value, Weight } from './terms.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export interface InterpretOptions {
  /** gamma: rewards are weighted gamma^t (default 1). */
  readonly discount?: number
  /**
   * How per-trajectory surrogates become a scalar: their mean (default), their sum, or the sum over
   * groups of each group's mean (`groupSize` trajectories form a group: independent replicates whose
   * parameters are stacked along a leading axis get their own mean-estimator gradients).
   */
  readonly reduction?: 'mean' | 'sum' | 'groupMean'
  /** Data key of a [B, T] 0/1 mask of valid steps (default 'mask'; used when present). */
  readonly maskKey?: string
  /**
   * Trajectories form consecutive independent groups of this size (default: the whole batch is one
   * group); `other(x)` reads the next trajectory within the group, cyclically.
   */
  readonly groupSize?: number
}

/** Thrown inside the interpreter (deep in tensor code) and turned into a `Left` at its boundary. */
interface GraphFailure {
  readonly [graphFailure]: true
  readonly error: GraphError
}
const graphFailure = Symbol('GraphFailure')

const isGraphFailure = (u: unknown): u is GraphFailure => typeof u === 'object' && u !== null && graphFailure in u

const fail = (error: GraphError): never => {
  const failure: GraphFailure = { [graphFailure]: true, error }
  throw failure
}

/** What one cost node sees: its rewards, baseline and the log-probabilities it depends on. */
interface CostView {
  readonly cost: Cost
  readonly steps: number
  /** gamma^t r_t, [B, Tc]. */
  readonly reward: tf.Tensor
  /** gamma^t b_t, [B, Tc] (zeros without a control variate). */
  readonly baseline: tf.Tensor
  /** gamma^t at the valid steps, 0 at masked ones, [B, Tc]: what a constant value is scaled by. */
  readonly discount: tf.Tensor
  /** l_t: log-probability of the step's own stochastic values, [B, Tc]. */
  readonly own: tf.Tensor
  /** Log-probability of values drawn before step 0 (batch-plate ancestors), [B, 1]. */
  readonly offset: tf.Tensor
  /** Total log-probability of ancestors the cost depends on as a whole ('all' causality), [B, 1]. */
  readonly total: tf.Tensor | null
  readonly causality: Cost['causality']
  /**
   * With a per-factor control variate on a factored ancestor: that ancestor's per-factor
   * log-probabilities l^i_t and the baselines gamma^t b^i_t, both [B, Tc, K]; otherwise null.
   */
  readonly factored: { readonly own: tf.Tensor; readonly baseline: tf.Tensor } | null
}

// ---------------------------------------------------------------------------------------------
// evaluation
// ---------------------------------------------------------------------------------------------

const shapeStr = (s: ReadonlyArray<number | string>): string => `[${s.join(', ')}]`

const expectShape = (node: NodeId, t: tf.Tensor, expected: ReadonlyArray<number>): void => {
  if (t.rank !== expected.length || t.shape.some((d, i) => d !== expected[i]))
    fail({ _tag: 'ShapeMismatch', node, expected: shapeStr(expected), got: t.shape })
}

/**
 * The data key of a stochastic node's behaviour log-probabilities: log q(x) of the sampled values
 * under the distribution that drew them, the same shape as the node's log-probability. With it,
 * magic boxes become importance weights exp(x - x_q) (value 1 where the parameters are the
 * sampling ones, the same derivatives there at every order); without it the parameters being
 * evaluated are taken to be the sampling ones: box(x) = exp(x - stop(x)).
 */
export const behaviourLogProbKey = (node: NodeId): string => `${node}:behaviourLogProb`

/**
 * l - l_q: a stochastic node's log-probability relative to its behaviour distribution (data), or
 * to its own stopped value when no behaviour is given. Boxes are exponentials of sums of these.
 */
const relativeTo = (id: NodeId, lp: tf.Tensor, data: GraphData): tf.Tensor => {
  const q = data[behaviourLogProbKey(id)]
  if (q === undefined) return tf.sub(lp, stopGradient(lp))
  expectShape(behaviourLogProbKey(id), q, lp.shape)
  return tf.sub(lp, stopGradient(q))
}

/**
 * Evaluate every node; returns node values and the stochastic nodes' log-probabilities relative to
 * their behaviour distributions (see `behaviourLogProbKey`).
 */
const evaluate = (g: ValidGraph, params: Params, data: GraphData) => {
  const values = new Map<NodeId, tf.Tensor>()
  const logProbs = new Map<NodeId, tf.Tensor>()
  let dims: { B: number; T: number } | null = null
  const parentValues = (n: Node & { readonly parents: ReadonlyArray<NodeId> }) =>
    Object.fromEntries(n.parents.map((p) => [p, values.get(p) as tf.Tensor]))
  const checkPlate = (id: NodeId, t: tf.Tensor, plate: 'batch' | 'time'): void => {
    if (dims === null) {
      if (plate === 'time' && t.rank === 2) dims = { B: t.shape[0], T: t.shape[1] as number }
      else if (plate === 'batch' && t.rank === 1) dims = { B: t.shape[0], T: 1 }
      else fail({ _tag: 'ShapeMismatch', node: id, expected: plate === 'time' ? '[B, T]' : '[B]', got: t.shape })
      return
    }
    const d = dims as { B: number; T: number }
    expectShape(id, t, plate === 'time' ? [d.B, d.T] : [d.B])
  }
  for (const id of g.order) {
    const n = g.nodes.get(id) as Node
    switch (n._tag) {
      case 'Param': {
        const p = params[id]
        if (p === undefined) fail({ _tag: 'MissingData', node: id, key: id })
        values.set(id, p)
        break
      }
      case 'Input': {
        const x = data[id]
        if (x === undefined) fail({ _tag: 'MissingData', node: id, key: id })
        values.set(id, x)
        break
      }
      case 'Deterministic':
        values.set(id, n.fn(parentValues(n)))
        break
      case 'Stochastic': {
        const x = data[id]
        if (x === undefined) fail({ _tag: 'MissingData', node: id, key: id })
        values.set(id, x)
        const lp = n.logProb(parentValues(n), x)
        if (n.factors > 0) {
          if (lp.rank !== (n.plate === 'time' ? 3 : 2) || lp.shape[lp.rank - 1] !== n.factors)
            fail({
              _tag: 'ShapeMismatch',
              node: id,
              expected: n.plate === 'time' ? `[B, T, ${n.factors}]` : `[B, ${n.factors}]`,
              got: lp.shape
            })
          checkPlate(id, tf.sum(lp, -1), n.plate)
        } else checkPlate(id, lp, n.plate)
        logProbs.set(id, relativeTo(id, lp, data))
        break
      }
      case 'Cost': {
        const v = n.value(parentValues(n), data)
        checkPlate(id, v, n.plate)
        values.set(id, v)
        break
      }
      case 'ControlVariate': {
        const target = g.nodes.get(n.attachedTo) as Stochastic
        const v = n.value(parentValues(n), data)
        const perFactor = target.factors > 0 && v.rank === (target.plate === 'time' ? 3 : 2)
        if (perFactor && v.shape[v.rank - 1] !== target.factors)
          fail({
            _tag: 'ShapeMismatch',
            node: id,
            expected: `one baseline per factor (${target.factors}) in the last axis`,
            got: v.shape
          })
        checkPlate(id, perFactor ? tf.sum(v, -1) : v, target.plate)
        values.set(id, v)
        break
      }
      default:
        absurd(n)
    }
  }
  return { values, logProbs, dims: dims as { B: number; T: number } | null }
}

const column = (t: tf.Tensor): tf.Tensor => tf.reshape(t, [t.shape[0], 1])

/** gamma^t for t = 0..steps-1, as [1, steps]. */
const discounts = (gamma: number, steps: number): tf.Tensor =>
  tf.tensor2d(
    Float32Array.from({ length: steps }, (_, t) => gamma ** t),
    [1, steps]
  )

const buildViews = (
  g: ValidGraph,
  ev: ReturnType<typeof evaluate>,
  data: GraphData,
  opts: Required<InterpretOptions>
): ReadonlyArray<CostView> => {
  const B = ev.dims?.B ?? 0
  const mask = data[opts.maskKey]
  if (mask !== undefined && ev.dims !== null) expectShape(opts.maskKey, mask, [ev.dims.B, ev.dims.T])
  return g.costs.map((c): CostView => {
    const timeCost = c.plate === 'time'
    const steps = timeCost ? (ev.dims?.T ?? 1) : 1
    const stepMask = timeCost && mask !== undefined ? mask : null
    const masked = (t: tf.Tensor) => (stepMask === null ? t : tf.mul(t, stepMask))
    const gam = discounts(opts.discount, steps)
    const raw = ev.values.get(c.id) as tf.Tensor
    const reward = tf.mul(masked(timeCost ? raw : column(raw)), gam)

    let own: tf.Tensor = tf.zeros([B, steps])
    let offset: tf.Tensor = tf.zeros([B, 1])
    let total: tf.Tensor | null = null
    let baseline: tf.Tensor = tf.zeros([B, steps])
    let factored: CostView['factored'] = null
    for (const s of g.stochasticAncestors.get(c.id) ?? []) {
      const lpRaw = ev.logProbs.get(s.id) as tf.Tensor
      const lp = s.factors > 0 ? tf.sum(lpRaw, -1) : lpRaw
      const cv = g.controlVariates.get(s.id)
      if (s.plate === 'batch') {
        // Drawn once per trajectory, before every step of a time-plate cost.
        if (timeCost) offset = tf.add(offset, column(lp))
        else own = tf.add(own, column(lp))
      } else if (!timeCost) {
        // A per-trajectory cost depends on the whole trajectory of a time-plate node.
        own = tf.add(own, column(tf.sum(masked(lp), 1)))
      } else if (c.causality === 'all') {
        const lpm = masked(lp)
        own = tf.add(own, lpm)
        total = tf.add(total ?? tf.zeros([B, 1]), tf.sum(lpm, 1, true))
      } else {
        own = tf.add(own, masked(lp))
      }
      if (cv !== undefined) {
        const b = ev.values.get(cv.id) as tf.Tensor
        if (s.factors > 0 && b.rank === lpRaw.rank) {
          // Per-factor baselines: only for a time-plate node under a time-plate cost.
          if (s.plate !== 'time' || !timeCost)
            fail({
              _tag: 'InvalidControlVariate',
              node: cv.id,
              reason: 'per-factor control variates need a time-plate stochastic node and cost'
            })
          const m3 = (t: tf.Tensor) => (stepMask === null ? t : tf.mul(t, tf.expandDims(stepMask, 2)))
          factored = { own: m3(lpRaw), baseline: tf.mul(m3(b), tf.expandDims(gam, 2)) }
        } else {
          const bt = s.plate === 'batch' && timeCost ? tf.mul(column(b), tf.ones([1, steps])) : timeCost ? b : column(b)
          baseline = tf.mul(masked(bt), gam)
        }
      }
    }
    const discount = tf.mul(masked(tf.ones([B, steps])), gam)
    return { cost: c, steps, reward, baseline, discount, own, offset, total, causality: c.causality, factored }
  })
}

/** [T, T] matrix D with D[k, t] = lambda^(t-k) for k <= t (k < t when exclusive), so x @ D is a discounted prefix sum. */
const decayMatrix = (lambda: number, steps: number, inclusive: boolean): tf.Tensor => {
  const d = new Float32Array(steps * steps)
  for (let k = 0; k < steps; k++)
    for (let t = 0; t < steps; t++) if (k < t || (inclusive && k === t)) d[k * steps + t] = lambda ** (t - k)
  return tf.tensor2d(d, [steps, steps])
}

/**
 * A log-probability expression on the cost's time axis: [B, Tc], or with `factored` [B, Tc, K] where
 * `own` is the factor's own l^i_t and prefixes are the earlier steps' totals plus l^i_t.
 */
const evalLogProb = (v: CostView, x: LogProbExpr, B: number, group: number, factored: boolean): tf.Tensor => {
  const lift = (t: tf.Tensor): tf.Tensor => (factored && t.rank === 2 ? tf.expandDims(t, 2) : t)
  const own = factored && v.factored !== null ? v.factored.own : v.own
  switch (x._tag) {
    case 'Own':
      return own
    case 'Prefix': {
      const ones = tf.ones([1, v.steps])
      if (v.causality === 'all' && v.total !== null) {
        const all = lift(tf.add(tf.mul(v.total, ones), v.offset))
        return x.inclusive ? all : tf.sub(all, own)
      }
      if (v.causality === 'sameStep') {
        const off = lift(tf.mul(v.offset, ones))
        return x.inclusive ? tf.add(off, own) : off
      }
      // Earlier steps (all factors), then this step's own term when inclusive. The offset is a step at
      // k = -1 (weight lambda^(t+1)).
      const earlier =
        x.discount === 1
          ? tf.add(tf.cumsum(v.own, 1, true), v.offset)
          : tf.add(
              tf.matMul(v.own, decayMatrix(x.discount, v.steps, false)),
              tf.mul(
                v.offset,
                tf.tensor2d(
                  Float32Array.from({ length: v.steps }, (_, t) => x.discount ** (t + 1)),
                  [1, v.steps]
                )
              )
            )
      return x.inclusive ? tf.add(lift(earlier), own) : lift(earlier)
    }
    case 'ShiftBack': {
      const inner = evalLogProb(v, x.of, B, group, factored)
      if (v.steps === 1) return tf.zerosLike(inner)
      const rest = inner.shape.slice(2)
      return tf.concat(
        [
          tf.zeros([B, 1, ...rest]),
          tf.slice(
            inner,
            inner.shape.map(() => 0),
            [B, v.steps - 1, ...rest]
          )
        ],
        1
      )
    }
    case 'OtherTrajectory': {
      const n = group === 0 ? B : group
      if (n < 2)
        fail({
          _tag: 'InvalidOption',
          option: 'groupSize',
          reason: 'an estimator reading another trajectory needs groups of at least 2 trajectories'
        })
      const inner = evalLogProb(v, x.of, B, group, factored)
      const rest = inner.shape.slice(1)
      const grouped = tf.reshape(inner, [B / n, n, ...rest])
      const zeros = rest.map(() => 0)
      const rolled = tf.concat(
        [
          tf.slice(grouped, [0, 1, ...zeros], [B / n, n - 1, ...rest]),
          tf.slice(grouped, [0, 0, ...zeros], [B / n, 1, ...rest])
        ],
        1
      )
      return tf.reshape(rolled, inner.shape)
    }
    case 'Plus':
      return x.terms.map((t) => evalLogProb(v, t, B, group, factored)).reduce((a, b) => tf.add(a, b))
    default:
      return absurd(x)
  }
}

const evalWeight = (v: CostView, w: Weight, B: number, group: number, factored = false): tf.Tensor => {
  if (w._tag === 'Linear') return tf.mul(evalLogProb(v, w.of, B, group, factored), w.coef)
  return w.monomials
    .map((m) =>
      m.boxes.length === 0
        ? tf.fill(factored ? [B, v.steps, 1] : [B, v.steps], m.coef)
        : // Log-probabilities are relative to the behaviour distribution, so this is the magic box
          // exp(x - stop(x)) at the sampling parameters and an importance weight elsewhere.
          tf.mul(
            tf.exp(m.boxes.map((x) => evalLogProb(v, x, B, group, factored)).reduce((a, b) => tf.add(a, b))),
            m.coef
          )
    )
    .reduce((a, b) => tf.add(a, b))
}

/**
 * One term summed over time steps, [B]. With a per-factor control variate, the baseline part of the
 * term is evaluated per factor — sum_t sum_i weight(l^i_t, ...) b^i_t — and the reward part as usual.
 */
const evalTerm = (v: CostView, t: Term, B: number, group: number): tf.Tensor => {
  const plain = (value: Value) => tf.sum(tf.mul(evalWeight(v, t.weight, B, group), evalValue(v, value)), 1)
  if (v.factored === null || (t.value !== 'baseline' && t.value !== 'advantage')) return plain(t.value)
  const perFactor = tf.sum(tf.mul(evalWeight(v, t.weight, B, group, true), stopGradient(v.factored.baseline)), [1, 2])
  return t.value === 'baseline' ? perFactor : tf.sub(plain('rewardToGo'), perFactor)
}

const evalValue = (v: CostView, value: Value): tf.Tensor => {
  if (typeof value === 'object') return tf.mul(v.discount, value.value)
  switch (value) {
    case 'reward':
      return v.reward
    case 'rewardToGo':
      return stopGradient(tf.cumsum(v.reward, 1, false, true))
    case 'baseline':
      return stopGradient(v.baseline)
    case 'advantage':
      return stopGradient(tf.sub(tf.cumsum(v.reward, 1, false, true), v.baseline))
    default:
      return absurd(value)
  }
}

/** Per-trajectory surrogate values, [B]. */
const perTrajectory = (
  g: ValidGraph,
  spec: SurrogateSpec,
  params: Params,
  data: GraphData,
  opts: Required<InterpretOptions>
): tf.Tensor => {
  const ev = evaluate(g, params, data)
  const B = ev.dims?.B ?? 0
  if (opts.groupSize > 0 && B % opts.groupSize !== 0)
    fail({
      _tag: 'InvalidOption',
      option: 'groupSize',
      reason: `the batch of ${B} trajectories is not a multiple of ${opts.groupSize}`
    })
  const views = buildViews(g, ev, data, opts)
  const perCost = views.map((v) =>
    spec.terms.map((t) => evalTerm(v, t, B, opts.groupSize)).reduce((a, b) => tf.add(a, b), tf.zeros([B]))
  )
  return perCost.reduce((a, b) => tf.add(a, b))
}

const withDefaults = (o: InterpretOptions): Required<InterpretOptions> => ({
  discount: o.discount ?? 1,
  reduction: o.reduction ?? 'mean',
  maskKey: o.maskKey ?? 'mask',
  groupSize: o.groupSize ?? 0
})

const checkOptions = (o: Required<InterpretOptions>): GraphError | null =>
  !(o.discount > 0 && o.discount <= 1)
    ? { _tag: 'InvalidOption', option: 'discount', reason: `must be in (0, 1], got ${o.discount}` }
    : !(Number.isInteger(o.groupSize) && o.groupSize >= 0)
      ? { _tag: 'InvalidOption', option: 'groupSize', reason: `must be a non-negative integer, got ${o.groupSize}` }
      : null

/**
 * The estimator's surrogate objective for the graph, as a function of parameters and data. Its
 * gradient with respect to the parameters is the estimator's gradient estimate; differentiate it
 * again for second-order estimates. Errors (missing data, shapes) name the node.
 */
export const surrogate =
  (g: ValidGraph, spec: SurrogateSpec, options: InterpretOptions = {}) =>
  (params: Params, data: GraphData): E.Either<GraphError, tf.Scalar> => {
    const opts = withDefaults(options)
    const bad = checkOptions(opts)
    if (bad !== null) return E.left(bad)
    try {
      const value = (p: Params): tf.Scalar =>
        tf.tidy(() => {
          const s = perTrajectory(g, spec, p, data, opts)
          if (opts.reduction === 'mean') return tf.mean(s) as tf.Scalar
          return tf.div(
            tf.sum(s),
            opts.reduction === 'groupMean' && opts.groupSize > 0 ? opts.groupSize : 1
          ) as tf.Scalar
        })
      if (spec.order === 'all') return E.right(value(params))
      // First-order: same value and gradient, zero higher derivatives.
      return E.right(
        tf.tidy(() => {
          const L = value(params)
          const g1 = gradients(value)(params)
          const linear = Object.keys(params).reduce<tf.Tensor>(
            (acc, k) => tf.add(acc, tf.sum(tf.mul(stopGradient(g1[k]), tf.sub(params[k], stopGradient(params[k]))))),
            tf.scalar(0)
          )
          return tf.add(stopGradient(L), linear) as tf.Scalar
        })
      )
    } catch (err) {
      if (isGraphFailure(err)) return E.left(err.error)
      throw err
    }
  }

/**
 * `surrogate` for use inside objectives that must return a tensor (autodiff, optimisers): throws on
 * a graph error. Check the graph and data once with `surrogate` first.
 */
export const surrogateOrThrow =
  (g: ValidGraph, spec: SurrogateSpec, options: InterpretOptions = {}) =>
  (params: Params, data: GraphData): tf.Scalar => {
    const r = surrogate(g, spec, options)(params, data)
    if (E.isLeft(r)) throw new Error(`surrogate: ${showGraphError(r.left)}`)
    return r.right
  }
