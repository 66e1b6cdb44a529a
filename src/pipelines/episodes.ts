/**
 * Batches of episodes as the sampler returns them (one batch per task), and the pure functions the
 * trainer needs on them: returns-to-go, total returns, and the graph data of the policy graph.
 *
 * Layout: `[E, T, ...]` row-major; `mask[e, t]` is 1 for steps taken and 0 after an episode ended
 * (rewards there are 0). See `EpisodeBatch` in ./sampler/types.ts.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import type { ArrayParams } from '../graph/nn.js'

// The episode batch is defined once, by the sampler that produces it.
import type { EpisodeBatch } from './sampler/types.js'
export type { EpisodeBatch }

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** A batch's baseline has one value per step b(s_t), or one per action component b_i(s_t, a_t^{-i}). */
export type BaselineShape = 'per-state' | 'per-action-component'

/** Control-variate values of a batch: [E, T] per state, [E, T, actDim] per action component. */
export interface Baseline {
  readonly shape: BaselineShape
  readonly values: Float32Array
}

/** One task's episodes and the policy parameters they were sampled with. */
export interface Sampled {
  readonly batch: EpisodeBatch
  readonly sampledWith: ArrayParams
}

/** ... with their control-variate values. */
export interface WithBaseline extends Sampled {
  readonly baseline: Baseline
}

// ---------------------------------------------------------------------------------------------
// returns
// ---------------------------------------------------------------------------------------------

/** Discounted returns-to-go R_t = sum_{t'>=t} gamma^(t'-t) r_t', [E, T] (zero where masked). */
export const returnsToGo = (b: EpisodeBatch, gamma: number): Float32Array => {
  const { episodes: E, horizon: T } = b
  const out = new Float32Array(E * T)
  for (let e = 0; e < E; e++) {
    let acc = 0
    for (let t = T - 1; t >= 0; t--) {
      const k = e * T + t
      acc = b.mask[k] * (b.rewards[k] + gamma * acc)
      out[k] = acc
    }
  }
  return out
}

/** Mean and (population) standard deviation of the entries of `x` where `mask` is 1; n = their count. */
export const maskedMoments = (
  x: ArrayLike<number>,
  mask: ArrayLike<number>
): { readonly n: number; readonly mean: number; readonly std: number } => {
  let n = 0
  let sum = 0
  for (let i = 0; i < x.length; i++)
    if (mask[i] > 0) {
      n += 1
      sum += x[i]
    }
  const mean = n > 0 ? sum / n : 0
  let ss = 0
  for (let i = 0; i < x.length; i++) if (mask[i] > 0) ss += (x[i] - mean) ** 2
  return { n, mean, std: n > 0 ? Math.sqrt(ss / n) : 0 }
}

/**
 * Mean and std of the returns-to-go over valid steps, for standardising a value network's targets
 * (std 1 when there are fewer than two steps; a small floor keeps constant returns finite).
 */
export const targetStats = (b: EpisodeBatch, gamma: number): { readonly mean: number; readonly std: number } => {
  const m = maskedMoments(returnsToGo(b, gamma), b.mask)
  return { mean: m.mean, std: m.n > 1 ? m.std + 1e-6 : 1 }
}

/**
 * Outer advantages of a batch: returns-to-go minus a per-state baseline over valid steps (0 elsewhere),
 * standardised over the valid steps when `normalize`.
 */
export const outerAdvantages = (
  b: EpisodeBatch,
  baseline: Baseline,
  gamma: number,
  normalize: boolean
): Float32Array => {
  if (baseline.shape !== 'per-state')
    throw new RangeError(`outerAdvantages: needs a per-state baseline, got ${baseline.shape}`)
  const R = returnsToGo(b, gamma)
  const A = R.map((r, i) => (r - baseline.values[i]) * b.mask[i])
  if (!normalize) return A
  const { mean, std } = maskedMoments(A, b.mask)
  return A.map((a, i) => (b.mask[i] > 0 ? (a - mean) / (std + 1e-8) : 0))
}

/** Undiscounted return of each episode, [E]. */
export const episodeReturns = (b: EpisodeBatch): Float64Array => {
  const out = new Float64Array(b.episodes)
  for (let e = 0; e < b.episodes; e++) {
    let s = 0
    for (let t = 0; t < b.horizon; t++) s += b.rewards[e * b.horizon + t] * b.mask[e * b.horizon + t]
    out[e] = s
  }
  return out
}

/** Mean undiscounted return over the episodes of several batches. */
export const meanReturn = (bs: ReadonlyArray<EpisodeBatch>): number => {
  let s = 0
  let n = 0
  for (const b of bs) {
    const r = episodeReturns(b)
    r.forEach((x) => (s += x))
    n += r.length
  }
  return n === 0 ? NaN : s / n
}

/** Number of environment steps taken in the batches (masked steps excluded). */
export const stepsTaken = (bs: ReadonlyArray<EpisodeBatch>): number =>
  bs.reduce((acc, b) => acc + b.mask.reduce((a, m) => a + m, 0), 0)

/** Whether every number of a batch is finite. */
export const batchIsFinite = (b: EpisodeBatch): boolean =>
  [b.obs, b.actions, b.rewards].every((a) => a.every((x) => Number.isFinite(x)))

/** Typed arrays end to end, into a fresh one of `make`'s type. */
const concatArrays = <A extends Float32Array | Uint8Array>(xs: ReadonlyArray<A>, make: (n: number) => A): A => {
  const out = make(xs.reduce((a, x) => a + x.length, 0))
  let o = 0
  for (const x of xs) {
    out.set(x, o)
    o += x.length
  }
  return out
}

/** Float32Arrays end to end. */
export const concatFloat32 = (xs: ReadonlyArray<Float32Array>): Float32Array =>
  concatArrays(xs, (n) => new Float32Array(n))

/** Concatenate batches along episodes (same horizon and dims). */
export const concatBatches = (bs: ReadonlyArray<EpisodeBatch>): EpisodeBatch => {
  if (bs.length === 1) return bs[0]
  const f32 = (key: 'obs' | 'actions' | 'rewards' | 'mask' | 'lastObs') => concatFloat32(bs.map((b) => b[key]))
  return {
    task: bs[0].task,
    episodes: bs.reduce((a, b) => a + b.episodes, 0),
    horizon: bs[0].horizon,
    obsDim: bs[0].obsDim,
    actDim: bs[0].actDim,
    obs: f32('obs'),
    actions: f32('actions'),
    rewards: f32('rewards'),
    mask: f32('mask'),
    terminated: concatArrays(
      bs.map((b) => b.terminated),
      (n) => new Uint8Array(n)
    ),
    lastObs: f32('lastObs'),
    diverged: bs.reduce((a, b) => a + b.diverged, 0)
  }
}

/** Episodes [from, to) of a batch. */
export const sliceEpisodes = (b: EpisodeBatch, from: number, to: number): EpisodeBatch => {
  const T = b.horizon
  return {
    ...b,
    episodes: to - from,
    obs: b.obs.slice(from * T * b.obsDim, to * T * b.obsDim),
    actions: b.actions.slice(from * T * b.actDim, to * T * b.actDim),
    rewards: b.rewards.slice(from * T, to * T),
    mask: b.mask.slice(from * T, to * T),
    terminated: b.terminated.slice(from, to),
    lastObs: b.lastObs.slice(from * b.obsDim, to * b.obsDim)
  }
}

/** Zero baselines of a batch, of the given shape. */
export const zeroBaseline = (b: EpisodeBatch, shape: BaselineShape): Baseline => ({
  shape,
  values: new Float32Array(b.episodes * b.horizon * (shape === 'per-state' ? 1 : b.actDim))
})

/**
 * A record as the post-update data of a problem that only adapts (no outer objective is taken): a
 * zero state baseline, whatever the shape of the inner one.
 */
export const withoutOuterBaseline = <A extends WithBaseline>(r: A): A => ({
  ...r,
  baseline: zeroBaseline(r.batch, 'per-state')
})

/**
 * The data of the policy graph (pipelines/policy.ts) for one batch: obs [E, T, obsDim],
 * action [E, T, actDim], rewards [E, T], mask [E, T], baseline [E, T] (per state) or
 * [E, T, actDim] (per action component: the action-dependent control variate).
 */
export const graphData = (b: EpisodeBatch, baseline: Baseline): Record<string, tf.Tensor> => {
  const { episodes: E, horizon: T } = b
  const shape = baseline.shape === 'per-state' ? [E, T] : [E, T, b.actDim]
  if (baseline.values.length !== shape.reduce((a, x) => a * x, 1))
    throw new RangeError(`graphData: a ${baseline.shape} baseline of ${baseline.values.length} values for [${shape}]`)
  return {
    obs: tf.tensor3d(b.obs, [E, T, b.obsDim]),
    action: tf.tensor3d(b.actions, [E, T, b.actDim]),
    rewards: tf.tensor2d(b.rewards, [E, T]),
    mask: tf.tensor2d(b.mask, [E, T]),
    baseline: tf.tensor(baseline.values, shape)
  }
}
