/**
 * The higher-order-safe gradient layer: one list of gradient configs, registered once.
 *
 * tmaml-ts registers its own gradient for every kernel it may emit rather than relying on the stock
 * registry: stock tfjs gradients that reuse a kernel's output are silently wrong at second order
 * (DESIGN.md, "Autodiff engine"). Every config here saves inputs only and is written with ops whose
 * gradients are themselves in this list, so derivatives compose at any order.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import { binaryGrads } from './binary.grad.js'
import { elementwiseGrads } from './elementwise.grad.js'
import { linalgGrads } from './linalg.grad.js'
import { reductionGrads } from './reduction.grad.js'
import { shapeGrads } from './shape.grad.js'

/** Every gradient tmaml-ts registers, in one list. */
export const gradientConfigs: ReadonlyArray<tf.GradConfig> = [
  ...elementwiseGrads,
  ...binaryGrads,
  ...reductionGrads,
  ...shapeGrads,
  ...linalgGrads
]

/** The kernel names this layer covers: the set of ops tmaml-ts code may differentiate through. */
export const differentiableKernels: ReadonlyArray<string> = gradientConfigs.map((g) => g.kernelName)

/**
 * Register every gradient in `gradientConfigs`, replacing whatever was registered for those kernels.
 * Idempotent. Call after any package that registers stock gradients (e.g. @tensorflow/tfjs-node,
 * which imports the full tfjs) has been imported, so ours win.
 */
export const registerGradients = (): void => {
  for (const config of gradientConfigs) {
    if (tf.getGradient(config.kernelName) !== undefined) tf.unregisterGradient(config.kernelName)
    tf.registerGradient(config)
  }
}
