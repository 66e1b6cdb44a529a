/**
 * Random tabular MDPs behind the `VecEnv` interface: the environments whose exact expected return
 * (and so exact gradients) can be computed, the ground truth of the unbiasedness tests.
 *
 * An env of `S` states and `A` actions observes the one-hot encoding of its state (`obsDim = S`); its
 * action is one number, the index of the action (an integer in `[0, A)`; anything else is rejected).
 * Taking action a in state s gives reward `R[s, a]` and moves to s' ~ P(. | s, a), drawn from the env's
 * random stream; episodes last `horizon` steps (2-5 in the tests). The state vector (`getState`) is
 * the state index.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import type { TmamlError } from '../base/errors.js'
import type { Rng } from '../base/rng.js'
import type { Outcome, RewardFn } from './rewards.js'
import type { TabularMdpTask } from './tasks.js'
import type { SimCore } from './vecEnv.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** Readings of a tabular step: the state it started in, the action taken and the state reached. */
export interface TabularReadings {
  readonly state: number
  readonly action: number
  readonly nextState: number
}

// -------------------------------------------------------------------------------------------------
// pure functions
// -------------------------------------------------------------------------------------------------

/** `R[s, a]`; never terminates (episodes end at the horizon). */
export const tabularReward: RewardFn<TabularReadings, TabularMdpTask> = (r, _a, task): Outcome => ({
  reward: task.reward[r.state * task.nActions + r.action],
  terminated: false
})

/** Draw an index from probabilities `p[from .. from + len)` (summing to 1) with one uniform number. */
const drawIndex = (rng: Rng, p: ReadonlyArray<number>, from: number, len: number): number => {
  let u = rng.next()
  for (let k = 0; k < len; k++) {
    u -= p[from + k]
    if (u < 0) return k
  }
  // Rounding left u >= 0: return the last outcome with positive probability.
  for (let k = len - 1; k > 0; k--) if (p[from + k] > 0) return k
  return 0
}

/**
 * The exact expected undiscounted return of `policy` over `horizon` steps, by backward induction:
 * `V_T = 0`, `V_t(s) = sum_a pi_t(a|s) (R[s,a] + sum_s2 P(s2|s,a) V_{t+1}(s2))`, result
 * `sum_s initial[s] V_0(s)`. `policy(t, s)` returns the A action probabilities at step t in state s.
 */
export const tabularExpectedReturn = (
  task: TabularMdpTask,
  horizon: number,
  policy: (t: number, s: number) => ArrayLike<number>
): number => {
  const S = task.nStates
  const A = task.nActions
  let next = new Float64Array(S)
  for (let t = horizon - 1; t >= 0; t--) {
    const v = new Float64Array(S)
    for (let s = 0; s < S; s++) {
      const pi = policy(t, s)
      for (let a = 0; a < A; a++) {
        let q = task.reward[s * A + a]
        for (let s2 = 0; s2 < S; s2++) q += task.transition[(s * A + a) * S + s2] * next[s2]
        v[s] += pi[a] * q
      }
    }
    next = v
  }
  let total = 0
  for (let s = 0; s < S; s++) total += task.initial[s] * next[s]
  return total
}

// -------------------------------------------------------------------------------------------------
// core
// -------------------------------------------------------------------------------------------------

/** A core of `n` tabular envs with `nStates` states and `nActions` actions. */
export const makeTabularCore = (
  n: number,
  nStates: number,
  nActions: number
): E.Either<TmamlError, SimCore<TabularReadings, TabularMdpTask>> => {
  const state = new Int32Array(n)
  return E.right({
    obsDim: nStates,
    actDim: 1,
    stateDim: 1,
    actionLow: [0],
    actionHigh: [nActions - 1],
    checkAction: (v) =>
      Number.isInteger(v) && v >= 0 && v < nActions ? undefined : `expected an action index in 0..${nActions - 1}`,
    checkTask: (task) =>
      task.nStates === nStates && task.nActions === nActions
        ? undefined
        : `the MDP has ${task.nStates} states x ${task.nActions} actions, this env ${nStates} x ${nActions}`,
    checkState: (s) =>
      Number.isInteger(s[0]) && s[0] >= 0 && s[0] < nStates ? undefined : `expected a state index in 0..${nStates - 1}`,
    reset: (i, rng, task) => {
      state[i] = drawIndex(rng, task.initial, 0, nStates)
    },
    observe: (i, out, offset) => {
      out.fill(0, offset, offset + nStates)
      out[offset + state[i]] = 1
    },
    step: (i, a, task, rng) => {
      const s = state[i]
      const action = a[0]
      const nextState = drawIndex(rng, task.transition, (s * nActions + action) * nStates, nStates)
      state[i] = nextState
      return { _tag: 'Ok', readings: { state: s, action, nextState } }
    },
    getState: (i) => Float64Array.of(state[i]),
    setState: (i, s) => {
      state[i] = s[0]
    },
    dispose: () => undefined
  })
}
