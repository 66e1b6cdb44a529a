// The user-facing example (docs/ESTIMATORS.md, examples/loadedDice09.mjs): an estimator that is
// declared from primitives in a few lines and checked like the built-ins.
import { beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { loadedDice } from '../../src/estimators/builtins.js'
import { checkEstimators } from '../../src/estimators/check.js'
import { estimator } from '../../src/estimators/estimator.js'
import { drawBatch, hvpEstimates, makeProblem } from '../../src/estimators/groundTruth/problem.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { box, discounted, shiftBack, sub, term } from '../../src/graph/terms.js'

// --- the example, as a user writes it ---
const w = discounted(0.9) // w_t = sum_{k<=t} 0.9^(t-k) log pi(a_k | s_k)
const myLoadedDice = estimator({
  name: 'my-loaded-dice-0.9',
  formula: 'sum_t (box(w_t) - box(w_{t-1})) (R_t - b_t)',
  bias: 'discounting the dependencies biases the higher orders in exchange for variance',
  terms: [term(sub(box(w), box(shiftBack(w))), 'advantage')],
  unbiased: { grad: true, hvp: false, meta: false }
})
// ---

beforeAll(async () => {
  await initBackendOrThrow('wasm')
})

describe('a user-declared estimator', () => {
  it('computes the same estimates as the built-in loadedDice(0.9), sample by sample', () => {
    const p = makeProblem(5)
    const b = drawBatch(p, rngAt(5, 'user'), 500, 2, false)
    const mine = hvpEstimates(p, myLoadedDice, b).values
    const builtin = hvpEstimates(p, loadedDice(0.9), b).values
    expect(Array.from(mine)).toEqual(Array.from(builtin))
  })

  it('is checked like any estimator: unbiased gradient, biased Hessian (exact bias and z-test)', () => {
    const rs = checkEstimators([myLoadedDice], { seed: 1, mdps: 1, exact: true })
    const hvp = rs.find((r) => r.order === 'hvp')
    const grad = rs.find((r) => r.order === 'grad')
    expect(grad?.unbiased).toBe(true)
    expect(grad?.exactMaxAbsBias).toBeLessThan(1e-4)
    expect(hvp?.exactMaxAbsBias).toBeGreaterThan(1e-2)
    expect(hvp?.unbiased).toBe(false)
  })
})
