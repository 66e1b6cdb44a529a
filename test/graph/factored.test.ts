// Per-factor (action-dependent) control variates, paper Eq. 11 / Wu et al. 2018: a Gaussian policy over
// 2-D actions, two steps, with baselines b^i_t that depend on the OTHER coordinate a^{-i}_t. Exact
// gradient and Hessian are known in closed form; the z-test shows the estimators stay unbiased with
// such baselines, and detects the bias of a baseline that reads its own coordinate.
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { gradients, hessianVectorProduct } from '../../src/graph/autodiff.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { validate } from '../../src/graph/graph.js'
import { surrogateOrThrow } from '../../src/graph/interpret.js'
import { controlVariate, cost, factoredStochastic, param } from '../../src/graph/nodes.js'
import { diceBaseline, lvc, tmaml } from '../../src/estimators/builtins.js'
import type { Estimator } from '../../src/estimators/estimator.js'
import { bonferroniThreshold, columnMoments, maxAbs, zScores } from '../../src/estimators/statistics.js'

// a_t ~ N(mu, I) for t = 0, 1 (two independent coordinates);
// r_0 = a_0^1 a_0^2 + (a_0^1)^2,  r_1 = a_1^1 + a_0^2 a_1^2.
// J = mu1 mu2 + mu1^2 + 1 + mu1 + mu2^2;  grad J = (mu2 + 2 mu1 + 1, mu1 + 2 mu2);  H = [[2, 1], [1, 2]].
const mu0 = [0.3, -0.6]
const exactGrad = [mu0[1] + 2 * mu0[0] + 1, mu0[0] + 2 * mu0[1]]
const v = [1, -0.5]
const exactHvp = [2 * v[0] + v[1], v[0] + 2 * v[1]]

const graph = (() => {
  const g = validate([
    param('mu'),
    factoredStochastic('a', ['mu'], 2, ({ mu }, a) => tf.mul(tf.square(tf.sub(a, tf.expandDims(mu, 1))), -0.5)),
    cost('r', ['a'], (_, d) => d['r'] as tf.Tensor),
    controlVariate('b', 'a', [], (_, d) => d['b'] as tf.Tensor)
  ])
  if (E.isLeft(g)) throw new Error(g.left._tag)
  return g.right
})()

type BaselineFn = (a: number[][], t: number, i: number) => number

/** R single-trajectory replicates; returns per-replicate gradient and HVP estimates, [R, 2] each. */
const estimates = (est: Estimator, R: number, seed: number, b: BaselineFn) => {
  const rng = rngAt(seed, 'factored')
  const a = new Float32Array(R * 2 * 2)
  const r = new Float32Array(R * 2)
  const base = new Float32Array(R * 2 * 2)
  for (let k = 0; k < R; k++) {
    const act = [0, 1].map(() => [0, 1].map((i) => mu0[i] + rng.normal()))
    act.forEach((at, t) => at.forEach((x, i) => (a[(k * 2 + t) * 2 + i] = x)))
    r[k * 2] = act[0][0] * act[0][1] + act[0][0] ** 2
    r[k * 2 + 1] = act[1][0] + act[0][1] * act[1][1]
    for (let t = 0; t < 2; t++) for (let i = 0; i < 2; i++) base[(k * 2 + t) * 2 + i] = b(act, t, i)
  }
  const data = { a: tf.tensor3d(a, [R, 2, 2]), r: tf.tensor2d(r, [R, 2]), b: tf.tensor3d(base, [R, 2, 2]) }
  const mu = tf.tile(tf.tensor2d([mu0]), [R, 1])
  const L = (p: { readonly [k: string]: tf.Tensor }) => surrogateOrThrow(graph, est.spec, { reduction: 'sum' })(p, data)
  const g = gradients(L)({ mu })['mu']
  const h = hessianVectorProduct(L)({ mu }, { mu: tf.tile(tf.tensor2d([v]), [R, 1]) })['mu']
  return { grad: g.dataSync() as Float32Array, hvp: h.dataSync() as Float32Array }
}

const zTest = (values: Float32Array, exact: ReadonlyArray<number>, R: number): number => {
  const m = columnMoments(values, R, 2)
  return maxAbs(zScores(m.mean, m.variance, exact, R))
}

// b^i_t depends on the other coordinate of step t (and on earlier steps): a valid control variate.
const otherCoordinate: BaselineFn = (a, t, i) => 1.5 * a[t][1 - i] + (t === 1 ? a[0][1] : 0) + 0.7
// b^1_t reads its own coordinate: not a control variate, biased.
const ownCoordinate: BaselineFn = (a, t, i) => 1.5 * a[t][i] + 0.7

beforeAll(async () => {
  await initBackendOrThrow('wasm')
})

describe('per-factor (action-dependent) control variates', () => {
  const R = 20000
  const z = bonferroniThreshold(1e-3, 2)

  it('derivatives: dice-baseline with per-factor b equals sum_t G_t r_t - sum_t sum_i g^i_t b^i_t', () => {
    const act = [
      [0.5, -1],
      [1.2, 0.4]
    ]
    const b = [
      [0.3, -0.2],
      [0.9, 0.1]
    ]
    const data = {
      a: tf.tensor3d([act], [1, 2, 2]),
      r: tf.tensor2d([[act[0][0] * act[0][1], act[1][0]]]),
      b: tf.tensor3d([b], [1, 2, 2])
    }
    const g1 = gradients((p) => surrogateOrThrow(graph, diceBaseline.spec)(p, data))({ mu: tf.tensor2d([mu0]) })[
      'mu'
    ].dataSync()
    const score = act.map((at) => at.map((x, i) => x - mu0[i])) // d l^i_t / d mu_i
    const r = [act[0][0] * act[0][1], act[1][0]]
    for (let i = 0; i < 2; i++) {
      const G = [score[0][i], score[0][i] + score[1][i]]
      const expected = G[0] * r[0] + G[1] * r[1] - (score[0][i] * b[0][i] + score[1][i] * b[1][i])
      expect(g1[i]).toBeCloseTo(expected, 4)
    }
  })

  it.each([
    ['tmaml', tmaml],
    ['dice-baseline', diceBaseline]
  ] as const)('%s stays unbiased (gradient and HVP) with baselines of the other coordinate', (_name, est) => {
    const e = estimates(est, R, 1, otherCoordinate)
    expect(zTest(e.grad, exactGrad, R)).toBeLessThan(z)
    expect(zTest(e.hvp, exactHvp, R)).toBeLessThan(z)
  })

  it('lvc keeps an unbiased gradient with them', () => {
    expect(zTest(estimates(lvc, R, 2, otherCoordinate).grad, exactGrad, R)).toBeLessThan(z)
  })

  it('a baseline reading its own coordinate is detected as biased', () => {
    const e = estimates(tmaml, R, 3, ownCoordinate)
    expect(zTest(e.grad, exactGrad, R)).toBeGreaterThan(z)
  })

  it('a good per-factor baseline reduces the gradient variance against none', () => {
    const none = estimates(tmaml, 5000, 4, () => 0)
    const good = estimates(tmaml, 5000, 4, (a, t, i) =>
      t === 0 ? (i === 0 ? a[0][1] + 2 * mu0[0] : a[0][0]) : 1 + a[0][1] * 0
    )
    const varOf = (x: Float32Array) => columnMoments(x, 5000, 2).variance.reduce((s, y) => s + y, 0)
    expect(varOf(good.grad)).toBeLessThan(varOf(none.grad))
  })
})
