// The derivative check can fail: with stock tfjs gradients (which reuse a kernel's output), the
// second derivative of tanh(x^2) and of a magic-box objective is detected as wrong, while first
// derivatives pass. With tmaml-ts's gradient layer installed, the same checks pass.
import * as stock from '@tensorflow/tfjs' // registers the stock gradients (a devDependency)
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackendOrThrow, installGradientLayer } from '../../src/graph/backend.js'
import { checkDirectionalDerivative, type MultiFn } from '../../src/graph/derivativeCheck.js'
import { magicBox } from '../../src/graph/ops.js'

const tanhOfSquare: MultiFn = ([x]) => tf.sum(tf.tanh(tf.square(x)))
// DiCE-style objective: box(sum log-prob) * reward, log-prob = -x^2 / 2; frozen reference below.
const boxObjective: MultiFn = ([x]) => tf.sum(tf.mul(magicBox(tf.mul(tf.square(x), -0.5)), tf.add(x, 3)))
const boxReference =
  (x0: tf.Tensor): MultiFn =>
  ([x]) =>
    tf.sum(tf.mul(tf.exp(tf.mul(tf.sub(tf.square(x), tf.square(x0)), -0.5)), tf.add(x, 3)))

const stockGrads = new Map<string, tf.GradConfig>()

describe.each(['cpu', 'wasm'] as const)('the derivative check against stock tfjs gradients on %s', (backend) => {
  let x: tf.Tensor
  let u: tf.Tensor

  beforeAll(async () => {
    expect(stock.version_core).toBe(tf.version_core) // one tfjs-core instance, one gradient registry
    for (const k of [tf.Tanh, tf.Exp]) {
      const g = tf.getGradient(k)
      if (g === undefined) throw new Error(`stock tfjs registered no gradient for ${k}`)
      if (!stockGrads.has(k)) stockGrads.set(k, g)
    }
    await initBackendOrThrow(backend) // installs ours over the stock ones
    x = tf.tensor1d([0.4, -0.7, 1.1])
    u = tf.tensor1d([1, 0.5, -0.8])
  })

  const withStock = <A>(f: () => A): A => {
    for (const g of stockGrads.values()) {
      tf.unregisterGradient(g.kernelName)
      tf.registerGradient(g)
    }
    try {
      return f()
    } finally {
      installGradientLayer()
    }
  }

  it('stock gradients save outputs (the mechanism of the defect)', () => {
    expect(stockGrads.get(tf.Tanh)?.outputsToSave).toEqual([true])
    expect(stockGrads.get(tf.Exp)?.outputsToSave).toEqual([true])
  })

  it('detects the wrong second derivative of tanh(x^2) with stock gradients', () => {
    const first = withStock(() => checkDirectionalDerivative(tanhOfSquare, [x], [u], 1))
    const second = withStock(() => checkDirectionalDerivative(tanhOfSquare, [x], [u], 2))
    expect(first.ok).toBe(true)
    expect(second.ok).toBe(false)
    expect(second.errorRatio).toBeGreaterThan(10)
  })

  it('detects the wrong second derivative of a magic-box objective with stock gradients', () => {
    const opts = { reference: boxReference(x) }
    const first = withStock(() => checkDirectionalDerivative(boxObjective, [x], [u], 1, opts))
    const second = withStock(() => checkDirectionalDerivative(boxObjective, [x], [u], 2, opts))
    expect(first.ok).toBe(true)
    expect(second.ok).toBe(false)
    expect(second.errorRatio).toBeGreaterThan(10)
  })

  it('passes the same checks with the tmaml-ts gradient layer, up to third order', () => {
    for (const order of [1, 2, 3]) {
      expect(checkDirectionalDerivative(tanhOfSquare, [x], [u], order).ok).toBe(true)
      expect(checkDirectionalDerivative(boxObjective, [x], [u], order, { reference: boxReference(x) }).ok).toBe(true)
    }
  })
})
