// A user-defined estimator, declared from primitives in a few lines: Loaded DiCE at lambda = 0.9
// (Farquhar et al. 2019). Check it with:
//   npx tmaml estimators check --module examples/loadedDice09.mjs
import { box, discounted, estimator, shiftBack, sub, term } from 'tmaml-ts'

const w = discounted(0.9) // w_t = sum_{k<=t} 0.9^(t-k) log pi(a_k | s_k)

export default estimator({
  name: 'my-loaded-dice-0.9',
  formula: 'sum_t (box(w_t) - box(w_{t-1})) (R_t - b_t)',
  bias: 'discounting the dependencies biases the higher orders in exchange for variance',
  terms: [term(sub(box(w), box(shiftBack(w))), 'advantage')],
  unbiased: { grad: true, hvp: false, meta: false }
})
