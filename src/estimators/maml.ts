/**
 * MAML composition: adapt with any estimator for one or several inner steps, evaluate the outer
 * objective at the adapted parameters, and differentiate through the adaptation (Finn et al. 2017;
 * paper Algorithm 2, lines 10 and 14).
 *
 *   theta'_0 = theta,   theta'_{k+1} = theta'_k + alpha * grad L_inner(theta'_k; data_k)
 *   meta-objective(theta) = L_outer(theta'_K; outer data)
 *
 * The gradient of the meta-objective is the meta-gradient estimate. Because the inner gradient is
 * computed inside the outer differentiation, its Jacobian (I + alpha * the estimator's Hessian
 * estimate) is part of the result: the inner estimator's second-order behaviour matters.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import {
  type Objective,
  type Params,
  type StepSize,
  disposeParams,
  gradientStep,
  gradients,
  zipParams
} from '../graph/autodiff.js'
import type { ValidGraph } from '../graph/graph.js'
import { type InterpretOptions, surrogateOrThrow } from '../graph/interpret.js'
import type { GraphData } from '../graph/nodes.js'
import { stopGradient } from '../graph/ops.js'
import type { Estimator } from './estimator.js'

export interface InnerSpec {
  readonly graph: ValidGraph
  readonly estimator: Estimator
  /** The inner data of step k (pre-update samples; a fresh batch per step in multi-step MAML). */
  readonly data: (step: number) => GraphData
  readonly alpha: StepSize
  readonly steps: number
  readonly options?: InterpretOptions
  /**
   * Ground-truth testing only: the exact gradient at the current parameters. The step then moves by
   * exactly alpha * pinned while its Jacobian stays the estimator's (value of the estimate replaced
   * by the exact value, derivative kept). See docs/ESTIMATORS.md, "Meta-gradient".
   */
  readonly pinnedGradient?: (step: number, params: Params) => Params
}

export interface OuterSpec {
  readonly graph: ValidGraph
  readonly estimator: Estimator
  readonly data: GraphData
  readonly options?: InterpretOptions
}

/** The inner objective of step k: the estimator's surrogate on that step's data. */
export const innerObjective =
  (inner: InnerSpec, step: number): Objective =>
  (p) =>
    surrogateOrThrow(inner.graph, inner.estimator.spec, inner.options)(p, inner.data(step))

/**
 * The adapted parameters theta'_K, differentiable in theta when called under a gradient.
 */
export const adaptedParams =
  (inner: InnerSpec) =>
  (params: Params): Params => {
    if (!Number.isInteger(inner.steps) || inner.steps < 0)
      throw new RangeError(`inner steps must be >= 0, got ${inner.steps}`)
    let p = params
    for (let k = 0; k < inner.steps; k++) {
      const next = tf.tidy(() => {
        const g = gradients(innerObjective(inner, k))(p)
        const direction =
          inner.pinnedGradient === undefined
            ? g
            : zipParams(g, inner.pinnedGradient(k, p), (gi, exact) => tf.add(tf.sub(gi, stopGradient(gi)), exact))
        return gradientStep(p, direction, inner.alpha)
      })
      if (p !== params) disposeParams(p)
      p = next
    }
    return p
  }

/** The MAML meta-objective L_outer(theta'_K(theta)); its gradient is the meta-gradient estimate. */
export const metaObjective =
  (inner: InnerSpec, outer: OuterSpec): Objective =>
  (params) =>
    tf.tidy(() =>
      surrogateOrThrow(outer.graph, outer.estimator.spec, outer.options)(adaptedParams(inner)(params), outer.data)
    )

/** The meta-gradient estimate at theta. */
export const metaGradient =
  (inner: InnerSpec, outer: OuterSpec) =>
  (params: Params): Params =>
    gradients(metaObjective(inner, outer))(params)
