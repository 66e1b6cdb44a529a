/**
 * Random finite-horizon tabular MDPs with a softmax policy: the ground truth of the unbiasedness
 * checks. The expected return J(theta) is computed exactly by propagating the state distribution
 * (equivalent to summing over every trajectory), in tfjs, so its gradient, Hessian-vector products
 * and the MAML meta-gradient follow exactly by autodiff. Trajectories are sampled and enumerated in
 * plain JS.
 *
 * Policy: pi(a | s) = softmax(theta[s, :])[a], one logit per (state, action), shared over time.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import type { Rng } from '../../base/rng.js'
import type { Params } from '../../graph/autodiff.js'
import { logSoftmax } from '../../graph/ops.js'

export interface TabularMdp {
  readonly states: number
  readonly actions: number
  readonly horizon: number
  /** Initial state distribution, [S]. */
  readonly initial: ReadonlyArray<number>
  /** P(s' | s, a), [S][A][S]. */
  readonly transition: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>
  /** Deterministic reward r(s, a), [S][A]. */
  readonly reward: ReadonlyArray<ReadonlyArray<number>>
}

export interface MdpSize {
  readonly states: number
  readonly actions: number
  readonly horizon: number
  /** Mean of the rewards r(s, a) ~ N(rewardMean, 1) (default 0.5). A large mean is a survival bonus. */
  readonly rewardMean?: number
}

const simplex = (rng: Rng, n: number, concentration: number): number[] => {
  // Gamma(k) by sums of exponentials is exact only for integer k; for a random simplex point the
  // shape hardly matters, so use exponentials raised to 1/concentration (peaked when small).
  const w = Array.from({ length: n }, () => (-Math.log(1 - rng.next())) ** (1 / concentration))
  const total = w.reduce((a, b) => a + b, 0)
  return w.map((x) => x / total)
}

/**
 * A random MDP: transitions drawn peaked (each (s, a) mostly leads to one or two states, so
 * actions matter), rewards r(s, a) ~ N(rewardMean, 1) (non-zero mean, so baselines matter).
 */
export const randomMdp = (rng: Rng, size: MdpSize): TabularMdp => {
  const { states: S, actions: A, horizon: T } = size
  if (S < 1 || A < 2 || T < 1) throw new RangeError(`randomMdp: need states >= 1, actions >= 2, horizon >= 1`)
  return {
    states: S,
    actions: A,
    horizon: T,
    initial: simplex(rng, S, 1),
    transition: Array.from({ length: S }, () => Array.from({ length: A }, () => simplex(rng, S, 0.5))),
    reward: Array.from({ length: S }, () => Array.from({ length: A }, () => (size.rewardMean ?? 0.5) + rng.normal()))
  }
}

/** Random policy logits theta[s, a] ~ N(0, scale^2), as a parameter set `{ logits: [S, A] }`. */
export const randomLogits = (rng: Rng, mdp: TabularMdp, scale = 0.7): Params => ({
  logits: tf.tensor2d(
    Float32Array.from({ length: mdp.states * mdp.actions }, () => scale * rng.normal()),
    [mdp.states, mdp.actions]
  )
})

/** Policy probabilities pi[s][a] from logits (plain numbers). */
export const policyTable = (mdp: TabularMdp, logits: ArrayLike<number>): number[][] =>
  Array.from({ length: mdp.states }, (_, s) => {
    const row = Array.from({ length: mdp.actions }, (_, a) => logits[s * mdp.actions + a])
    const m = Math.max(...row)
    const e = row.map((x) => Math.exp(x - m))
    const z = e.reduce((a, b) => a + b, 0)
    return e.map((x) => x / z)
  })

/**
 * The exact expected return J(theta) = E[sum_t r(s_t, a_t)], differentiable in `params.logits`:
 * d_0 = initial; J = sum_t sum_{s,a} d_t(s) pi(a|s) r(s,a); d_{t+1} = sum_{s,a} d_t(s) pi(a|s) P(.|s,a).
 */
export const exactReturn =
  (mdp: TabularMdp) =>
  (params: Params): tf.Scalar =>
    tf.tidy(() => {
      const { states: S, actions: A } = mdp
      const pi = tf.exp(logSoftmax(params['logits'], 1)) // [S, A]
      const r = tf.tensor2d(mdp.reward.flat(), [S, A])
      const P = tf.tensor2d(mdp.transition.flat(2), [S * A, S])
      let d: tf.Tensor = tf.tensor2d([...mdp.initial], [S, 1]) // [S, 1]
      let J: tf.Tensor = tf.scalar(0)
      for (let t = 0; t < mdp.horizon; t++) {
        const joint = tf.mul(d, pi) // [S, A]
        J = tf.add(J, tf.sum(tf.mul(joint, r)))
        d = tf.reshape(tf.matMul(tf.reshape(joint, [1, S * A]), P), [S, 1])
      }
      return J as tf.Scalar
    })

/**
 * How often one trajectory takes each (state, action) pair, in expectation: sum_t P(s_t = s) pi(a | s),
 * row-major [S * A]. A pair rarely taken is a rare event of the sampling distribution.
 */
export const expectedVisits = (mdp: TabularMdp, pi: ReadonlyArray<ReadonlyArray<number>>): Float64Array => {
  const { states: S, actions: A } = mdp
  const visits = new Float64Array(S * A)
  let d = [...mdp.initial]
  for (let t = 0; t < mdp.horizon; t++) {
    const next = new Array<number>(S).fill(0)
    for (let s = 0; s < S; s++)
      for (let a = 0; a < A; a++) {
        const joint = d[s] * pi[s][a]
        visits[s * A + a] += joint
        for (let s2 = 0; s2 < S; s2++) next[s2] += joint * mdp.transition[s][a][s2]
      }
    d = next
  }
  return visits
}

/** V_t(s): the exact expected reward-to-go from state s at time t under pi, [T][S]. */
export const valueFunction = (mdp: TabularMdp, pi: ReadonlyArray<ReadonlyArray<number>>): number[][] => {
  const { states: S, actions: A, horizon: T } = mdp
  const V: number[][] = Array.from({ length: T + 1 }, () => new Array<number>(S).fill(0))
  for (let t = T - 1; t >= 0; t--)
    for (let s = 0; s < S; s++) {
      let v = 0
      for (let a = 0; a < A; a++) {
        let q = mdp.reward[s][a]
        for (let s2 = 0; s2 < S; s2++) q += mdp.transition[s][a][s2] * V[t + 1][s2]
        v += pi[s][a] * q
      }
      V[t][s] = v
    }
  return V.slice(0, T)
}

/** A batch of trajectories, row-major [n, T]. */
export interface Trajectories {
  readonly count: number
  readonly horizon: number
  readonly states: Int32Array
  readonly actions: Int32Array
  readonly rewards: Float32Array
}

/** Sample `n` trajectories under pi. */
export const sampleTrajectories = (
  mdp: TabularMdp,
  pi: ReadonlyArray<ReadonlyArray<number>>,
  rng: Rng,
  n: number
): Trajectories => {
  const T = mdp.horizon
  const states = new Int32Array(n * T)
  const actions = new Int32Array(n * T)
  const rewards = new Float32Array(n * T)
  for (let i = 0; i < n; i++) {
    let s = rng.categorical(mdp.initial)
    for (let t = 0; t < T; t++) {
      const a = rng.categorical(pi[s])
      states[i * T + t] = s
      actions[i * T + t] = a
      rewards[i * T + t] = mdp.reward[s][a]
      s = rng.categorical(mdp.transition[s][a])
    }
  }
  return { count: n, horizon: T, states, actions, rewards }
}

/** Every trajectory of positive probability, with its probability under pi. */
export const enumerateTrajectories = (
  mdp: TabularMdp,
  pi: ReadonlyArray<ReadonlyArray<number>>
): { readonly trajectories: Trajectories; readonly probabilities: Float64Array } => {
  const T = mdp.horizon
  const out: Array<{ s: number[]; a: number[]; p: number }> = []
  const walk = (s: number, t: number, ss: number[], as: number[], p: number): void => {
    for (let a = 0; a < mdp.actions; a++) {
      const pa = p * pi[s][a]
      if (pa === 0) continue
      if (t === T - 1) {
        out.push({ s: [...ss, s], a: [...as, a], p: pa })
        continue
      }
      for (let s2 = 0; s2 < mdp.states; s2++) {
        const ps = pa * mdp.transition[s][a][s2]
        if (ps > 0) walk(s2, t + 1, [...ss, s], [...as, a], ps)
      }
    }
  }
  mdp.initial.forEach((p0, s0) => {
    if (p0 > 0) walk(s0, 0, [], [], p0)
  })
  const n = out.length
  const states = new Int32Array(n * T)
  const actions = new Int32Array(n * T)
  const rewards = new Float32Array(n * T)
  out.forEach((tr, i) => {
    for (let t = 0; t < T; t++) {
      states[i * T + t] = tr.s[t]
      actions[i * T + t] = tr.a[t]
      rewards[i * T + t] = mdp.reward[tr.s[t]][tr.a[t]]
    }
  })
  return {
    trajectories: { count: n, horizon: T, states, actions, rewards },
    probabilities: Float64Array.from(out, (o) => o.p)
  }
}
