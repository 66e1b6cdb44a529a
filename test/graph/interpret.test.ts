import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Params, gradients, hessianVectorProduct } from '../../src/graph/autodiff.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { type GraphError, validate } from '../../src/graph/graph.js'
import { surrogate, surrogateOrThrow } from '../../src/graph/interpret.js'
import { type Node, controlVariate, cost, deterministic, input, param, stochastic } from '../../src/graph/nodes.js'
import { before, box, constant, linear, mul, oneMinus, own, prefix, term } from '../../src/graph/terms.js'
import { dice, diceBaseline, loadedDice, lvc, maml, tmaml } from '../../src/estimators/builtins.js'

// A one-parameter Gaussian "policy" a_t ~ N(w * s_t, 1): l_t = -(a_t - w s_t)^2 / 2 + const, so
// dl_t/dw = (a_t - w s_t) s_t and d2l_t/dw2 = -s_t^2: every estimator has a hand-computable value.
const gaussianNodes = (causality: 'prefix' | 'sameStep' = 'prefix'): ReadonlyArray<Node> => [
  param('w'),
  input('s'),
  stochastic('a', ['w', 's'], ({ w, s }, a) => tf.mul(tf.square(tf.sub(a, tf.mul(w, s))), -0.5)),
  cost('r', ['a'], (_, d) => d['r'] as tf.Tensor, { causality }),
  controlVariate('b', 'a', ['s'], (_, d) => d['b'] as tf.Tensor)
]

const s = [1, 2, -1]
const a = [0.5, 1.5, 0.2]
const r = [1, -2, 3]
const b = [0.5, 0.25, 1]
const w0 = 0.3
const data = () => ({ s: tf.tensor2d([s]), a: tf.tensor2d([a]), r: tf.tensor2d([r]), b: tf.tensor2d([b]) })
const g = s.map((st, t) => (a[t] - w0 * st) * st) // dl_t/dw
const h = s.map((st) => -st * st) // d2l_t/dw2
const cum = (xs: number[]) => xs.map((_, t) => xs.slice(0, t + 1).reduce((p, q) => p + q, 0))
const togo = (xs: number[]) => xs.map((_, t) => xs.slice(t).reduce((p, q) => p + q, 0))
const G = cum(g)
const Hc = cum(h)
const Rt = togo(r)

const derivs = (spec: typeof dice.spec, causality: 'prefix' | 'sameStep' = 'prefix') => {
  const vg = validate(gaussianNodes(causality))
  if (E.isLeft(vg)) throw new Error('invalid')
  const d = data()
  const f = (p: Params) => surrogateOrThrow(vg.right, spec)(p, d)
  const params = { w: tf.scalar(w0) }
  return {
    d1: gradients(f)(params)['w'].dataSync()[0],
    d2: hessianVectorProduct(f)(params, { w: tf.scalar(1) })['w'].dataSync()[0]
  }
}

const sum = (xs: number[]) => xs.reduce((p, q) => p + q, 0)

beforeAll(async () => {
  await initBackendOrThrow('wasm')
})

describe('interpret', () => {
  describe('surrogate derivatives equal the hand-computed estimator formulas', () => {
    it('dice: sum_t G_t r_t and sum_t (G_t^2 + H_t) r_t', () => {
      const { d1, d2 } = derivs(dice.spec)
      expect(d1).toBeCloseTo(sum(G.map((x, t) => x * r[t])), 4)
      expect(d2).toBeCloseTo(sum(G.map((x, t) => (x * x + Hc[t]) * r[t])), 3)
    })

    it('maml: sum_t g_t (R_t - b_t) and sum_t h_t (R_t - b_t)', () => {
      const { d1, d2 } = derivs(maml.spec)
      expect(d1).toBeCloseTo(sum(g.map((x, t) => x * (Rt[t] - b[t]))), 4)
      expect(d2).toBeCloseTo(sum(h.map((x, t) => x * (Rt[t] - b[t]))), 3)
    })

    it('lvc: sum_t g_t (R_t - b_t) and sum_t (g_t^2 + h_t) (R_t - b_t)', () => {
      const { d1, d2 } = derivs(lvc.spec)
      expect(d1).toBeCloseTo(sum(g.map((x, t) => x * (Rt[t] - b[t]))), 4)
      expect(d2).toBeCloseTo(sum(g.map((x, t) => (x * x + h[t]) * (Rt[t] - b[t]))), 3)
    })

    it('tmaml: dice plus sum_t (M_{t-1} - M_t) b_t with M_t = G_t^2 + H_t', () => {
      const { d1, d2 } = derivs(tmaml.spec)
      const M = G.map((x, t) => x * x + Hc[t])
      const Mprev = M.map((_, t) => (t === 0 ? 0 : M[t - 1]))
      const Gprev = G.map((_, t) => (t === 0 ? 0 : G[t - 1]))
      expect(d1).toBeCloseTo(sum(G.map((x, t) => x * r[t] + (Gprev[t] - x) * b[t])), 4)
      expect(d2).toBeCloseTo(sum(M.map((m, t) => m * r[t] + (Mprev[t] - m) * b[t])), 3)
    })

    it('sameStep causality makes dice a per-step score function: sum_t g_t r_t', () => {
      const { d1 } = derivs(dice.spec, 'sameStep')
      expect(d1).toBeCloseTo(sum(g.map((x, t) => x * r[t])), 4)
    })

    it('a constant baseline in terms: dice + (1 - box(l_t)) box(A_<t) c has derivative sum_t G_t r_t - g_t c', () => {
      const c = 1.5
      const spec = {
        terms: [term(box(prefix), 'reward'), term(mul(oneMinus(box(own)), box(before)), constant(c))],
        order: 'all' as const
      }
      const { d1, d2 } = derivs(spec)
      const Gprev = G.map((_, t) => (t === 0 ? 0 : G[t - 1]))
      const M = G.map((x, t) => x * x + Hc[t])
      const Mprev = M.map((_, t) => (t === 0 ? 0 : M[t - 1]))
      expect(d1).toBeCloseTo(sum(G.map((x, t) => x * r[t] + (Gprev[t] - x) * c)), 4)
      expect(d2).toBeCloseTo(sum(M.map((m, t) => m * r[t] + (Mprev[t] - m) * c)), 3)
      // The same as the Mao baseline term with a control variate that is c at every step.
      const vg = validate(gaussianNodes())
      if (E.isLeft(vg)) throw new Error('invalid')
      const withB = (p: Params) =>
        surrogateOrThrow(vg.right, diceBaseline.spec)(p, { ...data(), b: tf.fill([1, 3], c) })
      expect(d1).toBeCloseTo(gradients(withB)({ w: tf.scalar(w0) })['w'].dataSync()[0], 4)
    })

    it('a user-declared term: linear(prefix) * reward has derivative sum_t G_t r_t and curvature sum_t H_t r_t', () => {
      const { d1, d2 } = derivs({ terms: [term(linear(prefix), 'reward')], order: 'all' })
      expect(d1).toBeCloseTo(sum(G.map((x, t) => x * r[t])), 4)
      expect(d2).toBeCloseTo(sum(Hc.map((x, t) => x * r[t])), 3)
    })
  })

  it('tmaml, dice-baseline and loaded-dice(1) are the same estimator (equal derivatives)', () => {
    const ref = derivs(diceBaseline.spec)
    for (const e of [tmaml, loadedDice(1)]) {
      const x = derivs(e.spec)
      expect(x.d1).toBeCloseTo(ref.d1, 4)
      expect(x.d2).toBeCloseTo(ref.d2, 3)
    }
  })

  it('the surrogate value of a box-only estimator is the sum of rewards (boxes evaluate to 1)', () => {
    const vg = validate(gaussianNodes())
    if (E.isLeft(vg)) throw new Error('invalid')
    const v = surrogateOrThrow(vg.right, dice.spec)({ w: tf.scalar(w0) }, data())
    expect(v.dataSync()[0]).toBeCloseTo(sum(r), 5)
  })

  it('is vectorised over time: the number of kernels does not grow with the horizon', async () => {
    const vg = validate(gaussianNodes())
    if (E.isLeft(vg)) throw new Error('invalid')
    const kernels = async (T: number) => {
      const d = { s: tf.ones([4, T]), a: tf.ones([4, T]), r: tf.ones([4, T]), b: tf.ones([4, T]) }
      const info = await tf.profile(() => {
        hessianVectorProduct((p) => surrogateOrThrow(vg.right, tmaml.spec)(p, d))(
          { w: tf.scalar(w0) },
          { w: tf.scalar(1) }
        )
      })
      return info.kernels.length
    }
    expect(await kernels(5)).toBe(await kernels(200))
  })

  it('respects a mask: masked steps contribute nothing', () => {
    const vg = validate(gaussianNodes())
    if (E.isLeft(vg)) throw new Error('invalid')
    const d = { ...data(), mask: tf.tensor2d([[1, 1, 0]]) }
    const f = (p: Params) => surrogateOrThrow(vg.right, dice.spec)(p, d)
    const d1 = gradients(f)({ w: tf.scalar(w0) })['w'].dataSync()[0]
    expect(d1).toBeCloseTo(G[0] * r[0] + G[1] * r[1], 4)
  })
})

describe('graph errors name the node', () => {
  const errorOf = (nodes: ReadonlyArray<Node>): GraphError => {
    const v = validate(nodes)
    if (E.isRight(v)) throw new Error('expected an error')
    return v.left
  }
  const dummy = () => tf.zeros([1, 1])

  it('duplicate ids', () => {
    expect(errorOf([param('w'), param('w'), cost('r', ['w'], dummy)])).toEqual({ _tag: 'DuplicateNode', node: 'w' })
  })
  it('unknown parents', () => {
    expect(errorOf([param('w'), cost('r', ['v'], dummy)])).toEqual({ _tag: 'UnknownParent', node: 'r', parent: 'v' })
  })
  it('cycles, with the path', () => {
    const e = errorOf([deterministic('x', ['y'], dummy), deterministic('y', ['x'], dummy), cost('r', ['x'], dummy)])
    expect(e._tag).toBe('Cycle')
    expect(e._tag === 'Cycle' && e.path).toEqual(['x', 'y', 'x'])
  })
  it('a control variate on a non-stochastic node', () => {
    const e = errorOf([param('w'), cost('r', ['w'], dummy), controlVariate('b', 'w', [], dummy)])
    expect(e).toMatchObject({ _tag: 'InvalidControlVariate', node: 'b' })
  })
  it('a control variate that reads the node it is attached to', () => {
    const e = errorOf([
      param('w'),
      stochastic('a', ['w'], dummy),
      cost('r', ['a'], dummy),
      controlVariate('b', 'a', ['a'], dummy)
    ])
    expect(e).toMatchObject({ _tag: 'InvalidControlVariate', node: 'b' })
  })
  it('a cost with two control variates among its ancestors', () => {
    const e = errorOf([
      param('w'),
      stochastic('a', ['w'], dummy),
      stochastic('c', ['w'], dummy),
      cost('r', ['a', 'c'], dummy),
      controlVariate('b1', 'a', [], dummy),
      controlVariate('b2', 'c', [], dummy)
    ])
    expect(e).toEqual({ _tag: 'AmbiguousControlVariate', node: 'r', controlVariates: ['b1', 'b2'] })
  })
  it('no cost', () => {
    expect(errorOf([param('w')])).toEqual({ _tag: 'NoCost' })
  })
  it('missing data and shape mismatches, at interpretation', () => {
    const vg = validate(gaussianNodes())
    if (E.isLeft(vg)) throw new Error('invalid')
    const { s: _s, ...noS } = data()
    expect(surrogate(vg.right, dice.spec)({ w: tf.scalar(w0) }, noS)).toEqual(
      E.left({ _tag: 'MissingData', node: 's', key: 's' })
    )
    const badR = surrogate(vg.right, dice.spec)({ w: tf.scalar(w0) }, { ...data(), r: tf.ones([1, 4]) })
    expect(badR).toEqual(E.left({ _tag: 'ShapeMismatch', node: 'r', expected: '[1, 3]', got: [1, 4] }))
    const badB = surrogate(vg.right, dice.spec)({ w: tf.scalar(w0) }, { ...data(), b: tf.ones([3]) })
    expect(badB).toEqual(E.left({ _tag: 'ShapeMismatch', node: 'b', expected: '[1, 3]', got: [3] }))
  })
  it('invalid options', () => {
    const vg = validate(gaussianNodes())
    if (E.isLeft(vg)) throw new Error('invalid')
    expect(E.isLeft(surrogate(vg.right, dice.spec, { discount: 1.5 })({ w: tf.scalar(w0) }, data()))).toBe(true)
    const other = surrogate(
      vg.right,
      { terms: [term(box(own), 'reward')], order: 'all' },
      { groupSize: 2 }
    )({ w: tf.scalar(w0) }, data())
    expect(other).toMatchObject(E.left({ _tag: 'InvalidOption', option: 'groupSize' }))
  })
})
