/**
 * A graph is a list of nodes; `validate` checks it and returns the facts the interpreter needs
 * (topological order, each cost's stochastic ancestors, each stochastic node's control variate),
 * or an error that names the offending node.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import {
  type ControlVariate,
  type Cost,
  type Node,
  type NodeId,
  type Stochastic,
  isControlVariate,
  isCost,
  isStochastic,
  parentsOf
} from './nodes.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

export type GraphError =
  | { readonly _tag: 'DuplicateNode'; readonly node: NodeId }
  | { readonly _tag: 'UnknownParent'; readonly node: NodeId; readonly parent: NodeId }
  | { readonly _tag: 'Cycle'; readonly path: ReadonlyArray<NodeId> }
  | { readonly _tag: 'InvalidControlVariate'; readonly node: NodeId; readonly reason: string }
  | { readonly _tag: 'AmbiguousControlVariate'; readonly node: NodeId; readonly controlVariates: ReadonlyArray<NodeId> }
  | { readonly _tag: 'NoCost' }
  | { readonly _tag: 'MissingData'; readonly node: NodeId; readonly key: string }
  | {
      readonly _tag: 'ShapeMismatch'
      readonly node: NodeId
      readonly expected: string
      readonly got: ReadonlyArray<number>
    }
  | { readonly _tag: 'InvalidOption'; readonly option: string; readonly reason: string }

/** A validated graph: its nodes, a topological order, and derived relations. */
export interface ValidGraph {
  readonly _tag: 'ValidGraph'
  readonly nodes: ReadonlyMap<NodeId, Node>
  /** Every node after its parents. */
  readonly order: ReadonlyArray<NodeId>
  /** For each cost, the stochastic nodes it depends on (through any path). */
  readonly stochasticAncestors: ReadonlyMap<NodeId, ReadonlyArray<Stochastic>>
  /** For each stochastic node with one, its control variate. */
  readonly controlVariates: ReadonlyMap<NodeId, ControlVariate>
  readonly costs: ReadonlyArray<Cost>
}

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

export const showGraphError = (e: GraphError): string => {
  switch (e._tag) {
    case 'DuplicateNode':
      return `node '${e.node}' is declared twice; node ids must be unique`
    case 'UnknownParent':
      return `node '${e.node}' names parent '${e.parent}', which is not in the graph`
    case 'Cycle':
      return `the graph has a cycle: ${e.path.join(' -> ')}`
    case 'InvalidControlVariate':
      return `control variate '${e.node}': ${e.reason}`
    case 'AmbiguousControlVariate':
      return `cost '${e.node}' depends on several stochastic nodes with control variates (${e.controlVariates.join(', ')}); attach one`
    case 'NoCost':
      return 'the graph has no cost node: there is nothing to estimate the gradient of'
    case 'MissingData':
      return `node '${e.node}' needs data '${e.key}', which was not given`
    case 'ShapeMismatch':
      return `node '${e.node}' produced shape [${e.got.join(', ')}], expected ${e.expected}`
    case 'InvalidOption':
      return `option '${e.option}': ${e.reason}`
  }
}

/** Depth-first search for a cycle; returns it as a path (first node repeated at the end). */
const findCycle = (nodes: ReadonlyMap<NodeId, Node>): ReadonlyArray<NodeId> | null => {
  const state = new Map<NodeId, 'visiting' | 'done'>()
  const stack: NodeId[] = []
  const visit = (id: NodeId): ReadonlyArray<NodeId> | null => {
    const s = state.get(id)
    if (s === 'done') return null
    if (s === 'visiting') return [...stack.slice(stack.indexOf(id)), id]
    state.set(id, 'visiting')
    stack.push(id)
    const node = nodes.get(id)
    for (const p of node === undefined ? [] : parentsOf(node)) {
      const c = visit(p)
      if (c !== null) return c
    }
    stack.pop()
    state.set(id, 'done')
    return null
  }
  for (const id of nodes.keys()) {
    const c = visit(id)
    if (c !== null) return c
  }
  return null
}

const topologicalOrder = (nodes: ReadonlyMap<NodeId, Node>): ReadonlyArray<NodeId> => {
  const seen = new Set<NodeId>()
  const order: NodeId[] = []
  const visit = (id: NodeId): void => {
    if (seen.has(id)) return
    seen.add(id)
    const n = nodes.get(id)
    if (n !== undefined) parentsOf(n).forEach(visit)
    order.push(id)
  }
  nodes.forEach((_, id) => visit(id))
  return order
}

/** All ancestors of `id` (excluding itself). */
const ancestors = (nodes: ReadonlyMap<NodeId, Node>, id: NodeId): ReadonlySet<NodeId> => {
  const out = new Set<NodeId>()
  const walk = (x: NodeId): void => {
    const n = nodes.get(x)
    if (n === undefined) return
    for (const p of parentsOf(n)) {
      if (!out.has(p)) {
        out.add(p)
        walk(p)
      }
    }
  }
  walk(id)
  return out
}

// ---------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------

/**
 * Check a graph: unique ids, known parents, no cycles, at least one cost, control variates attached
 * to stochastic nodes and not reading them or their descendants (that would bias the estimator),
 * at most one control variate per cost.
 */
export const validate = (graph: ReadonlyArray<Node>): E.Either<GraphError, ValidGraph> => {
  const nodes = new Map<NodeId, Node>()
  for (const n of graph) {
    if (nodes.has(n.id)) return E.left({ _tag: 'DuplicateNode', node: n.id })
    nodes.set(n.id, n)
  }
  for (const n of graph) {
    for (const p of parentsOf(n)) if (!nodes.has(p)) return E.left({ _tag: 'UnknownParent', node: n.id, parent: p })
    if (isControlVariate(n) && !nodes.has(n.attachedTo))
      return E.left({
        _tag: 'InvalidControlVariate',
        node: n.id,
        reason: `it is attached to '${n.attachedTo}', which is not in the graph`
      })
  }
  const cycle = findCycle(nodes)
  if (cycle !== null) return E.left({ _tag: 'Cycle', path: cycle })

  const controlVariates = new Map<NodeId, ControlVariate>()
  for (const n of graph.filter(isControlVariate)) {
    const target = nodes.get(n.attachedTo) as Node
    if (!isStochastic(target))
      return E.left({
        _tag: 'InvalidControlVariate',
        node: n.id,
        reason: `it is attached to '${target.id}', a ${target._tag} node; attach it to a stochastic node`
      })
    const reads = ancestors(nodes, n.id)
    const readsTarget = reads.has(target.id) || [...reads].some((a) => ancestors(nodes, a).has(target.id))
    if (readsTarget)
      return E.left({
        _tag: 'InvalidControlVariate',
        node: n.id,
        reason: `it depends on '${target.id}' (the node it is attached to) or its descendants, which would bias the estimator`
      })
    if (controlVariates.has(target.id))
      return E.left({
        _tag: 'InvalidControlVariate',
        node: n.id,
        reason: `'${target.id}' already has control variate '${controlVariates.get(target.id)?.id}'`
      })
    controlVariates.set(target.id, n)
  }

  const costs = graph.filter(isCost)
  if (costs.length === 0) return E.left({ _tag: 'NoCost' })
  const stochasticAncestors = new Map<NodeId, ReadonlyArray<Stochastic>>()
  for (const c of costs) {
    const anc = [...ancestors(nodes, c.id)].map((a) => nodes.get(a) as Node).filter(isStochastic)
    const cvs = anc.map((s) => controlVariates.get(s.id)).filter((cv): cv is ControlVariate => cv !== undefined)
    if (cvs.length > 1)
      return E.left({ _tag: 'AmbiguousControlVariate', node: c.id, controlVariates: cvs.map((cv) => cv.id) })
    stochasticAncestors.set(c.id, anc)
  }
  return E.right({
    _tag: 'ValidGraph',
    nodes,
    order: topologicalOrder(nodes),
    stochasticAncestors,
    controlVariates,
    costs
  })
}
