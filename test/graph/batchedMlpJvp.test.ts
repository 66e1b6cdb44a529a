// batchedMlpJvp (forward mode by hand) against reverse mode: J v of the batched MLP's output along a
// parameter tangent equals the derivative in c of <grad_params <out, c>, v> (the double-VJP form of
// a Jacobian-vector product, exact in autodiff), for tanh and relu, on every backend. A wrong
// tangent (its W0 perturbed) must fail the same comparison.
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { type Params, disposeParams, dotParams, gradients } from '../../src/graph/autodiff.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { type Activation, batchedMlpForward, batchedMlpJvp, initMlpArrays, mlpSpec } from '../../src/graph/nn.js'
import { availableBackends } from '../support/backends.js'

const G = 3
const N = 7

/** Parameters (or a tangent) with a leading group axis, from seeded normals. */
const grouped = (sizes: ReadonlyArray<number>, activation: Activation, seed: string): Params => {
  const spec = mlpSpec(sizes, activation)
  const one = initMlpArrays(spec, rngAt(1, seed))
  const rng = rngAt(2, seed)
  return Object.fromEntries(
    Object.entries(one).map(([k, a]) => [
      k,
      tf.tensor(
        Float32Array.from({ length: G * a.values.length }, () => rng.normal() * 0.7),
        [G, ...a.shape]
      )
    ])
  )
}

const relErr = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0] / Math.max(tf.norm(b).dataSync()[0], 1e-30))

for (const backend of await availableBackends())
  describe(`graph/nn batchedMlpJvp (${backend})`, () => {
    beforeAll(async () => {
      await initBackendOrThrow(backend)
    })

    for (const activation of ['tanh', 'relu'] as const)
      it(`${activation}: equals the double-VJP Jacobian-vector product; a wrong tangent does not`, () => {
        const sizes = [4, 6, 5, 3]
        const spec = mlpSpec(sizes, activation)
        const params = grouped(sizes, activation, 'params')
        const v = grouped(sizes, activation, 'tangent')
        const x = tf.randomNormal([G, N, 4], 0, 1, 'float32', 5)
        const before = tf.memory().numTensors
        const { out, dOut } = batchedMlpJvp(spec, params, v, x)
        const forward = batchedMlpForward(spec, params, x)
        expect(relErr(out, forward)).toBeLessThan(1e-6)
        const c0 = tf.zeros(out.shape)
        const reverse = (tangent: Params) =>
          gradients((c) =>
            tf.tidy(() =>
              dotParams(
                gradients((p) => tf.tidy(() => tf.sum(tf.mul(batchedMlpForward(spec, p, x), c['c']))))(params),
                tangent
              )
            )
          )({ c: c0 })['c']
        const ref = reverse(v)
        expect(relErr(dOut, ref)).toBeLessThan(1e-5)
        const wrong = { ...v, W0: tf.add(v['W0'], 0.1) }
        const off = batchedMlpJvp(spec, params, wrong, x)
        expect(relErr(off.dOut, ref)).toBeGreaterThan(1e-2)
        tf.dispose([out, dOut, forward, c0, ref, off.out, off.dOut, wrong['W0']])
        expect(tf.memory().numTensors).toBe(before)
        ;[params, v].forEach(disposeParams)
        x.dispose()
      })
  })
