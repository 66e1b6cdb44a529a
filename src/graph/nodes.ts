/**
 * Nodes of a stochastic computation graph (Schulman et al. 2015), as readonly tagged values.
 *
 * A node names its parents by id; its function receives the parents' values by id. Nodes on the
 * time plate stand for a whole `[batch, T]` tensor — a trajectory batch — and carry their causal
 * pattern, so the interpreter emits prefix sums over time instead of one op per step.
 *
 * @example
 * const g = [
 *   param('theta'),
 *   input('states'),
 *   stochastic('action', ['theta', 'states'], ({ theta, states }, a) => logPi(theta, states, a)),
 *   cost('reward', ['action'], (_, d) => d['rewards']),                 // r_t depends on a_0..a_t
 *   controlVariate('value', 'action', ['states'], ({ states }) => v(states))
 * ]
 *
 * @packageDocumentation
 */
import type * as tf from '@tensorflow/tfjs-core'

export type NodeId = string

/** Values of a node's parents, by id. */
export type ParentValues = Readonly<Record<NodeId, tf.Tensor>>

/** Observed data bound to a graph: inputs, sampled values of stochastic nodes, rewards, masks. */
export type GraphData = Readonly<Record<string, tf.Tensor>>

/**
 * Where a node lives. `batch`: one value per sample, `[B]`. `time`: one value per sample and time
 * step, `[B, T]` (a trajectory plate).
 */
export type Plate = 'batch' | 'time'

/**
 * How a time-plate cost depends on a time-plate stochastic ancestor. `prefix`: c_t depends on
 * a_0..a_t (an MDP: actions move future states). `sameStep`: c_t depends on a_t only (a contextual
 * bandit unrolled in time). `all`: on the whole trajectory (a terminal cost).
 */
export type Causality = 'prefix' | 'sameStep' | 'all'

/** Parameters to differentiate: bound from the `Params` argument of the interpreter. */
export interface Param {
  readonly _tag: 'Param'
  readonly id: NodeId
}

/** Observed inputs: bound from the data (observations, states, task features). */
export interface Input {
  readonly _tag: 'Input'
  readonly id: NodeId
  readonly plate: Plate
}

/** A deterministic function of its parents (features, network outputs). Differentiable. */
export interface Deterministic {
  readonly _tag: 'Deterministic'
  readonly id: NodeId
  readonly parents: ReadonlyArray<NodeId>
  readonly plate: Plate
  readonly fn: (parents: ParentValues) => tf.Tensor
}

/**
 * A sampled value with a log-probability that is a function of its parents. The sample itself is
 * data (bound by id); `logProb` returns `[B]` or `[B, T]` for the plate.
 */
export interface Stochastic {
  readonly _tag: 'Stochastic'
  readonly id: NodeId
  readonly parents: ReadonlyArray<NodeId>
  readonly plate: Plate
  readonly logProb: (parents: ParentValues, value: tf.Tensor) => tf.Tensor
  /**
   * 0: `logProb` returns one log-probability per sample ([B] or [B, T]). K > 0: the distribution
   * factorises into K independent factors (a diagonal Gaussian's action coordinates) and `logProb`
   * returns one log-probability per factor ([B, K] or [B, T, K]); a control variate attached to it may
   * then be per factor, b_i(s, a^{-i}) (action-dependent, Wu et al. 2018; paper Eq. 11).
   */
  readonly factors: number
}

/**
 * A cost (or reward) to be maximised in expectation. Its value is computed from its parents and
 * the data; it depends on its stochastic ancestors according to `causality`.
 */
export interface Cost {
  readonly _tag: 'Cost'
  readonly id: NodeId
  readonly parents: ReadonlyArray<NodeId>
  readonly plate: Plate
  readonly causality: Causality
  readonly value: (parents: ParentValues, data: GraphData) => tf.Tensor
}

/**
 * A control variate (baseline) b attached to a stochastic node: a function of anything but that
 * node and its descendants (typically state and task). Its value is never differentiated with
 * respect to the parameters (the interpreter stops its gradient).
 */
export interface ControlVariate {
  readonly _tag: 'ControlVariate'
  readonly id: NodeId
  readonly attachedTo: NodeId
  readonly parents: ReadonlyArray<NodeId>
  readonly value: (parents: ParentValues, data: GraphData) => tf.Tensor
}

export type Node = Param | Input | Deterministic | Stochastic | Cost | ControlVariate

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

export const param = (id: NodeId): Param => ({ _tag: 'Param', id })

export const input = (id: NodeId, plate: Plate = 'time'): Input => ({ _tag: 'Input', id, plate })

export const deterministic = (
  id: NodeId,
  parents: ReadonlyArray<NodeId>,
  fn: (parents: ParentValues) => tf.Tensor,
  plate: Plate = 'time'
): Deterministic => ({ _tag: 'Deterministic', id, parents, fn, plate })

export const stochastic = (
  id: NodeId,
  parents: ReadonlyArray<NodeId>,
  logProb: (parents: ParentValues, value: tf.Tensor) => tf.Tensor,
  plate: Plate = 'time'
): Stochastic => ({ _tag: 'Stochastic', id, parents, logProb, plate, factors: 0 })

/** A stochastic node of K independent factors: `logProb` returns [B, T, K] (or [B, K]). */
export const factoredStochastic = (
  id: NodeId,
  parents: ReadonlyArray<NodeId>,
  factors: number,
  logProb: (parents: ParentValues, value: tf.Tensor) => tf.Tensor,
  plate: Plate = 'time'
): Stochastic => {
  if (!Number.isInteger(factors) || factors < 1)
    throw new RangeError(`factoredStochastic '${id}': factors must be >= 1, got ${factors}`)
  return { _tag: 'Stochastic', id, parents, logProb, plate, factors }
}

export const cost = (
  id: NodeId,
  parents: ReadonlyArray<NodeId>,
  value: (parents: ParentValues, data: GraphData) => tf.Tensor,
  opts: { readonly plate?: Plate; readonly causality?: Causality } = {}
): Cost => ({ _tag: 'Cost', id, parents, value, plate: opts.plate ?? 'time', causality: opts.causality ?? 'prefix' })

export const controlVariate = (
  id: NodeId,
  attachedTo: NodeId,
  parents: ReadonlyArray<NodeId>,
  value: (parents: ParentValues, data: GraphData) => tf.Tensor
): ControlVariate => ({ _tag: 'ControlVariate', id, attachedTo, parents, value })

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

export const isStochastic = (n: Node): n is Stochastic => n._tag === 'Stochastic'
export const isCost = (n: Node): n is Cost => n._tag === 'Cost'
export const isControlVariate = (n: Node): n is ControlVariate => n._tag === 'ControlVariate'

/** The ids a node reads (none for parameters and inputs). */
export const parentsOf = (n: Node): ReadonlyArray<NodeId> => (n._tag === 'Param' || n._tag === 'Input' ? [] : n.parents)
