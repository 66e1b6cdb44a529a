import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import {
  type Objective,
  type Params,
  disposeParams,
  gradientStep,
  gradients,
  hessianVectorProduct,
  valueAndGrads
} from '../../src/graph/autodiff.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { categoricalLogProb } from '../../src/graph/distributions.js'
import { initMlp, mlpForward, mlpSpec } from '../../src/graph/nn.js'
import { availableBackends } from '../support/backends.js'

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync())

/** Central differences of a scalar function of a parameter set, per coordinate, Richardson-extrapolated. */
const finiteDifferenceGradient = (f: (p: Params) => number, params: Params, h = 1e-2): Record<string, number[]> => {
  const out: Record<string, number[]> = {}
  for (const k of Object.keys(params)) {
    const base = params[k].dataSync() as Float32Array
    out[k] = Array.from(base, (_, i) => {
      const at = (delta: number): number => {
        const v = Float32Array.from(base)
        v[i] += delta
        const moved = { ...params, [k]: tf.tensor(v, params[k].shape) }
        const y = f(moved)
        moved[k].dispose()
        return y
      }
      const central = (s: number) => (at(s) - at(-s)) / (2 * s)
      return (4 * central(h / 2) - central(h)) / 3
    })
  }
  return out
}

const expectClose = (ad: Params, fd: Record<string, number[]>, tol = 2e-3): void => {
  for (const k of Object.keys(fd)) {
    const a = arr(ad[k])
    fd[k].forEach((v, i) => {
      expect(Math.abs(a[i] - v), `${k}[${i}]: autodiff ${a[i]} vs finite difference ${v}`).toBeLessThanOrEqual(
        tol * (1 + Math.abs(v))
      )
    })
  }
}

// A tiny softmax policy over 3 actions from 4 observations, with exact (not sampled) inner and outer
// objectives: expected rewards sum_s sum_a pi(a|s) r(s, a). Exact objectives are plain functions of
// theta, so finite differences are a valid reference. (A magic-box surrogate is not: its
// higher derivatives are score-function estimates by design, tested in test/estimators.)
const spec = mlpSpec([2, 3, 3], 'tanh')
const obsIn = [
  [0.5, -1],
  [1.2, 0.3],
  [-0.7, 0.8],
  [0.1, 0.1]
]
const actsIn = [0, 2, 1, 2]
const rewIn = [1, -0.5, 0.7, 0.2]

const problem = () => {
  const obs = tf.tensor2d(obsIn)
  const acts = tf.tensor1d(actsIn, 'int32')
  const rew = tf.tensor1d(rewIn)
  const logp = (p: Params) => categoricalLogProb(mlpForward(spec, p, obs), acts)
  const inner: Objective = (p) => tf.tidy(() => tf.sum(tf.mul(tf.exp(logp(p)), rew)) as tf.Scalar)
  const outer: Objective = (p) =>
    tf.tidy(
      () =>
        tf.add(tf.sum(tf.mul(tf.exp(logp(p)), tf.reverse(rew))), tf.mul(tf.sum(tf.square(p['W1'])), -0.1)) as tf.Scalar
    )
  return { inner, outer, dispose: () => tf.dispose([obs, acts, rew]) }
}

/** `steps` differentiable inner steps theta <- theta + alpha grad J_inner(theta). */
const adapt =
  (inner: Objective, alpha: number, steps: number) =>
  (params: Params): Params => {
    let p = params
    for (let s = 0; s < steps; s++) p = gradientStep(p, gradients(inner)(p), alpha)
    return p
  }

/** J_outer(adapt(theta)) and its gradient, differentiated through the steps. */
const metaValueAndGrads = (outer: Objective, inner: Objective, alpha: number, steps = 1) =>
  valueAndGrads((p) => tf.tidy(() => outer(adapt(inner, alpha, steps)(p))))

const backends = await availableBackends()

describe.each(backends)('autodiff helpers on %s', (backend) => {
  beforeAll(async () => {
    await initBackendOrThrow(backend)
  })

  describe('valueAndGrads', () => {
    it('returns the value and exact gradient of a quadratic', () => {
      const w = tf.tensor1d([1, -2, 3])
      const { value, grads } = valueAndGrads((p) => tf.sum(tf.square(p['w'])) as tf.Scalar)({ w })
      expect(value.dataSync()[0]).toBeCloseTo(14, 5)
      expect(arr(grads['w'])).toEqual([2, -4, 6])
    })

    it('gives zero (not an exception) for a parameter the objective ignores', () => {
      const g = gradients((p) => tf.sum(p['used']) as tf.Scalar)({ used: tf.ones([2]), unused: tf.ones([3]) })
      expect(arr(g['unused'])).toEqual([0, 0, 0])
      expect(arr(g['used'])).toEqual([1, 1])
    })
  })

  describe('hessianVectorProduct', () => {
    it('is zero, not an exception, when the gradient does not depend on the parameters', () => {
      const hv = hessianVectorProduct((p) => tf.sum(tf.mul(p['w'], 3)) as tf.Scalar)(
        { w: tf.ones([2]) },
        { w: tf.ones([2]) }
      )
      expect(arr(hv['w'])).toEqual([0, 0])
    })

    it('matches finite differences of the gradient along v', () => {
      const pr = problem()
      const params = initMlp(spec, rngAt(3, 'hvp'))
      const v = Object.fromEntries(
        Object.entries(params).map(([k, t]) => [k, tf.randomNormal(t.shape, 0, 1, 'float32', 7)])
      )
      const hv = hessianVectorProduct(pr.inner)(params, v)
      // d/de grad J(theta + e v) by Richardson central differences.
      const gradAt = (e: number) =>
        tf.tidy(() =>
          gradients(pr.inner)(
            Object.fromEntries(Object.entries(params).map(([k, t]) => [k, tf.add(t, tf.mul(v[k], e))]))
          )
        )
      const h = 1e-2
      const central = (s: number) => {
        const gp = gradAt(s)
        const gm = gradAt(-s)
        const d = Object.fromEntries(
          Object.keys(gp).map((k) => [k, arr(gp[k]).map((x, i) => (x - arr(gm[k])[i]) / (2 * s))])
        )
        disposeParams(gp)
        disposeParams(gm)
        return d
      }
      const c1 = central(h)
      const c2 = central(h / 2)
      const fd = Object.fromEntries(Object.keys(c1).map((k) => [k, c1[k].map((x, i) => (4 * c2[k][i] - x) / 3)]))
      expectClose(hv, fd)
      pr.dispose()
    })
  })

  describe('gradientStep', () => {
    for (const steps of [1, 2]) {
      it(`matches finite differences of J_outer(adapt(theta)) with ${steps} inner step(s)`, () => {
        const pr = problem()
        const alpha = 0.5
        const params = initMlp(spec, rngAt(5, 'meta'))
        const { value, grads } = metaValueAndGrads(pr.outer, pr.inner, alpha, steps)(params)
        // Independent computation: the post-adaptation objective as a plain function of theta
        // (adaptation by first-order gradients only, no differentiation through it), differenced.
        const post = (p: Params): number =>
          tf.tidy(() => {
            let q = p
            for (let s = 0; s < steps; s++) {
              const g = gradients(pr.inner)(q)
              q = Object.fromEntries(Object.keys(q).map((k) => [k, tf.add(q[k], tf.mul(g[k], alpha))]))
            }
            return pr.outer(q).dataSync()[0]
          })
        expect(value.dataSync()[0]).toBeCloseTo(post(params), 4)
        expectClose(grads, finiteDifferenceGradient(post, params))
        pr.dispose()
      })
    }

    it('differs from the first-order (no differentiation through adaptation) gradient', () => {
      const pr = problem()
      const params = initMlp(spec, rngAt(5, 'meta'))
      const exact = metaValueAndGrads(pr.outer, pr.inner, 0.5)(params).grads
      const adapted = tf.tidy(() => adapt(pr.inner, 0.5, 1)(params))
      const firstOrder = gradients(pr.outer)(adapted)
      const diff = Object.keys(exact).reduce(
        (acc, k) => acc + tf.sum(tf.abs(tf.sub(exact[k], firstOrder[k]))).dataSync()[0],
        0
      )
      expect(diff).toBeGreaterThan(1e-2)
      pr.dispose()
    })

    it('does not leak tensors: numTensors after 50 meta-gradients equals that after 1', () => {
      const pr = problem()
      const params = initMlp(spec, rngAt(5, 'leak'))
      const once = () => {
        const { value, grads } = metaValueAndGrads(pr.outer, pr.inner, 0.5, 2)(params)
        value.dispose()
        disposeParams(grads)
      }
      once()
      const after1 = tf.memory().numTensors
      for (let i = 0; i < 49; i++) once()
      expect(tf.memory().numTensors).toBe(after1)
      pr.dispose()
    })
  })
})
