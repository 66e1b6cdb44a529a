/**
 * Multi-layer perceptrons over a `Params` record: the function approximators of policies and
 * value functions. Pure functions of (spec, params, input); initialisation takes an explicit `Rng`.
 *
 * @example
 * const spec = mlpSpec([20, 64, 64, 6], 'tanh', 'pi/')
 * const params = initMlp(spec, rngAt(0, 'policy'))
 * const out = mlpForward(spec, params, obs) // [N, 6]
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Rng } from '../base/rng.js'
import type { Params } from './autodiff.js'

export type Activation = 'tanh' | 'relu'

/** Layer sizes [in, hidden..., out], the hidden activation, and a name prefix for the parameters. */
export interface MlpSpec {
  readonly sizes: ReadonlyArray<number>
  readonly activation: Activation
  readonly prefix: string
}

export const mlpSpec = (sizes: ReadonlyArray<number>, activation: Activation = 'tanh', prefix = ''): MlpSpec => {
  if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s <= 0))
    throw new RangeError(`mlpSpec: sizes must be >= 2 positive integers, got [${sizes.join(', ')}]`)
  return { sizes, activation, prefix }
}

export const weightName = (spec: MlpSpec, layer: number): string => `${spec.prefix}W${layer}`
export const biasName = (spec: MlpSpec, layer: number): string => `${spec.prefix}b${layer}`

/** Number of scalar parameters. */
export const mlpParamCount = (spec: MlpSpec): number =>
  spec.sizes.slice(1).reduce((acc, out, i) => acc + (spec.sizes[i] + 1) * out, 0)

/** A parameter's values outside tfjs: row-major numbers and a shape (for workers, files, references). */
export interface ParamArray {
  readonly shape: ReadonlyArray<number>
  readonly values: Float32Array
}

/**
 * A parameter set outside tfjs, by name (policies: `W0, b0, ..., logStd`; value networks: `vW0, ...`):
 * what goes to sampler workers, checkpoints and the optimisers. `Params` is the same set as tensors.
 */
export type ArrayParams = Readonly<Record<string, ParamArray>>

/**
 * Glorot/Xavier-uniform weights (Glorot & Bengio 2010; the initialiser of the ProMP/TMAML reference
 * code), zero biases; the output layer scaled by `outputScale` (small outputs keep an initial
 * Gaussian policy's mean near 0). Plain arrays: no tfjs backend needed.
 */
export const initMlpArrays = (spec: MlpSpec, rng: Rng, outputScale = 1): ArrayParams => {
  const entries: Array<[string, ParamArray]> = []
  const layers = spec.sizes.length - 1
  for (let l = 0; l < layers; l++) {
    const fanIn = spec.sizes[l]
    const fanOut = spec.sizes[l + 1]
    const limit = Math.sqrt(6 / (fanIn + fanOut)) * (l === layers - 1 ? outputScale : 1)
    const w = new Float32Array(fanIn * fanOut)
    for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-limit, limit)
    entries.push([weightName(spec, l), { shape: [fanIn, fanOut], values: w }])
    entries.push([biasName(spec, l), { shape: [fanOut], values: new Float32Array(fanOut) }])
  }
  return Object.fromEntries(entries)
}

/** Tensors from plain parameter arrays. */
export const paramsFromArrays = (arrays: ArrayParams): Params =>
  Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, tf.tensor(a.values, [...a.shape])]))

/** `initMlpArrays` as tensors on the active backend. */
export const initMlp = (spec: MlpSpec, rng: Rng, outputScale = 1): Params =>
  paramsFromArrays(initMlpArrays(spec, rng, outputScale))

const activate = (a: Activation, x: tf.Tensor): tf.Tensor => (a === 'tanh' ? tf.tanh(x) : tf.relu(x))

/** The layers of `spec` with `affine(h, W_l, b_l)` as each layer's linear map. */
const forwardWith = (
  where: string,
  spec: MlpSpec,
  params: Params,
  x: tf.Tensor,
  affine: (h: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor
): tf.Tensor =>
  tf.tidy(() => {
    const layers = spec.sizes.length - 1
    let h = x
    for (let l = 0; l < layers; l++) {
      const w = params[weightName(spec, l)]
      const b = params[biasName(spec, l)]
      if (w === undefined || b === undefined)
        throw new Error(`${where}: missing parameter ${weightName(spec, l)}/${biasName(spec, l)}`)
      const z = affine(h, w, b)
      h = l < layers - 1 ? activate(spec.activation, z) : z
    }
    return h
  })

/**
 * `batchedMlpForward`'s output and its directional derivative along a parameter tangent (the same
 * keys and shapes as `params`; forward mode, by hand): one extra matMul pair per layer instead of a
 * double backward pass. For Jacobian-vector products of a policy's mean (TRPO's Fisher products).
 */
export const batchedMlpJvp = (
  spec: MlpSpec,
  params: Params,
  tangent: Params,
  x: tf.Tensor
): { readonly out: tf.Tensor3D; readonly dOut: tf.Tensor3D } =>
  tf.tidy(() => {
    const layers = spec.sizes.length - 1
    let h = x
    let dh: tf.Tensor | undefined
    for (let l = 0; l < layers; l++) {
      const [wName, bName] = [weightName(spec, l), biasName(spec, l)]
      const [w, b, dw, db] = [params[wName], params[bName], tangent[wName], tangent[bName]]
      if (w === undefined || b === undefined || dw === undefined || db === undefined)
        throw new Error(`batchedMlpJvp: missing parameter or tangent ${wName}/${bName}`)
      const z = tf.add(tf.matMul(h as tf.Tensor3D, w as tf.Tensor3D), tf.expandDims(b, 1))
      let dz = tf.add(tf.matMul(h as tf.Tensor3D, dw as tf.Tensor3D), tf.expandDims(db, 1))
      if (dh !== undefined) dz = tf.add(dz, tf.matMul(dh as tf.Tensor3D, w as tf.Tensor3D))
      if (l === layers - 1) {
        h = z
        dh = dz
      } else {
        h = activate(spec.activation, z)
        dh = tf.mul(spec.activation === 'tanh' ? tf.sub(1, tf.square(h)) : tf.step(z), dz)
      }
    }
    return { out: h as tf.Tensor3D, dOut: dh as tf.Tensor3D }
  })

/** Forward pass: [N, in] -> [N, out]; hidden layers use the activation, the output layer is linear. */
export const mlpForward = (spec: MlpSpec, params: Params, x: tf.Tensor): tf.Tensor2D =>
  forwardWith('mlpForward', spec, params, x, (h, w, b) =>
    tf.add(tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D), b)
  ) as tf.Tensor2D

/**
 * Forward pass of G networks of one shape at once: parameters with a leading group axis (W_l
 * [G, in, out], b_l [G, out]), x [G, N, in] -> [G, N, out] — one batched matMul per layer instead of
 * one graph per network. Group g's rows depend only on group g's parameters.
 */
export const batchedMlpForward = (spec: MlpSpec, params: Params, x: tf.Tensor): tf.Tensor3D =>
  forwardWith('batchedMlpForward', spec, params, x, (h, w, b) =>
    tf.add(tf.matMul(h as tf.Tensor3D, w as tf.Tensor3D), tf.expandDims(b, 1))
  ) as tf.Tensor3D
