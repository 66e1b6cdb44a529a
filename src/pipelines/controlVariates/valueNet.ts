/**
 * Learned state-value control variates: an MLP V(s, t) on [clip(s, -10, 10), t / 100], trained on
 * standardised discounted returns-to-go. This module holds the network (shared with the meta-learned
 * control variate, metaValue.ts) and the per-task value networks (`--cv value`): a fresh network per
 * task, cross-fitted, so the baseline of an episode never comes from a network (or target statistics)
 * fitted on that episode, and b(s_t) does not depend on the episode's own actions.
 *
 * @packageDocumentation
 */
import { type Rng } from '../../base/rng.js'
import { type ArrayParams, type MlpSpec, initMlpArrays, mlpSpec } from '../../graph/nn.js'
import * as E from 'fp-ts/lib/Either.js'
import { type EpisodeBatch, returnsToGo, targetStats } from '../episodes.js'
import { type AdamState, adamInit, adamStep } from '../optim/adam.js'
import { type ControlVariateKind, crossFitted, halves, perState, statelessControlVariate } from './controlVariate.js'
import { disposeGrouped, groupedData, groupedGradArrays, groupedPredict, stackArrays } from './groupedValueNet.js'

export const valueMlp = (obsDim: number, hidden: ReadonlyArray<number>): MlpSpec =>
  mlpSpec([obsDim + 1, ...hidden, 1], 'tanh', 'v')

export const initValueNet = (obsDim: number, hidden: ReadonlyArray<number>, rng: Rng): ArrayParams =>
  initMlpArrays(valueMlp(obsDim, hidden), rng)

/** Per-step inputs [clip(s, -10, 10), t / 100] of every step of a batch, [E * T, obsDim + 1]. */
export const featuresOf = (b: EpisodeBatch): Float32Array => {
  const D = b.obsDim
  const out = new Float32Array(b.episodes * b.horizon * (D + 1))
  for (let e = 0; e < b.episodes; e++)
    for (let t = 0; t < b.horizon; t++) {
      const k = e * b.horizon + t
      for (let j = 0; j < D; j++) out[k * (D + 1) + j] = Math.max(-10, Math.min(10, b.obs[k * D + j]))
      out[k * (D + 1) + D] = t / 100
    }
  return out
}

/** Training data of a batch as arrays: features [rows, obsDim + 1] and standardised targets of its valid steps. */
export interface FitArrays {
  readonly x: Float32Array
  readonly y: Float32Array
  readonly rows: number
  readonly mean: number
  readonly std: number
}

/** A batch's valid steps as training data, targets standardised with given statistics. */
export const fitArrays = (b: EpisodeBatch, gamma: number, stats: { mean: number; std: number }): FitArrays => {
  const D = b.obsDim
  const feats = featuresOf(b)
  const R = returnsToGo(b, gamma)
  const idx: number[] = []
  b.mask.forEach((m, i) => {
    if (m > 0) idx.push(i)
  })
  const x = new Float32Array(idx.length * (D + 1))
  const y = new Float32Array(idx.length)
  idx.forEach((k, r) => {
    x.set(feats.subarray(k * (D + 1), (k + 1) * (D + 1)), r * (D + 1))
    y[r] = (R[k] - stats.mean) / stats.std
  })
  return { x, y, rows: idx.length, ...stats }
}

/** Network outputs on every step of a batch back in return units (`stats`), 0 on masked steps, [E, T]. */
export const destandardised = (y: Float32Array, b: EpisodeBatch, stats: { mean: number; std: number }): Float32Array =>
  y.map((v, i) => (b.mask[i] > 0 ? stats.mean + stats.std * v : 0))

export interface ValueCvOptions {
  readonly hidden: ReadonlyArray<number>
  readonly lr: number
  readonly epochs: number
  readonly gamma: number
}

/**
 * Per-task value-network baselines, cross-fitted: a network trained on each half of a task's
 * episodes predicts the other half (its stream: `rngFor(task, index of the half it was fitted on)`).
 * One batch per task in, one [E, T] baseline per task out. All networks of the call train together
 * as groups of one batched graph (groupedValueNet.ts): Adam on each, `o.epochs` steps.
 */
export const fitValueBaselines = (
  batches: ReadonlyArray<EpisodeBatch>,
  o: ValueCvOptions,
  rngFor: (task: number, half: number) => Rng
): ReadonlyArray<Float32Array> => {
  // group (k, h): trained on half h of task k, predicts half 1 - h (crossFittedFromGroups)
  const groups = batches.flatMap((b, k) => {
    if (b.episodes < 2) return []
    return halves(b).map((fitOn, h) => ({ k, h, fitOn }))
  })
  if (groups.length === 0) return batches.map((b) => new Float32Array(b.episodes * b.horizon))
  const D = groups[0].fitOn.obsDim
  const spec = valueMlp(D, o.hidden)
  const fits = groups.map((g) => fitArrays(g.fitOn, o.gamma, targetStats(g.fitOn, o.gamma)))
  const data = groupedData(fits, D + 1)
  let p = stackArrays(groups.map((g) => initValueNet(D, o.hidden, rngFor(g.k, g.h))))
  let s: AdamState = adamInit(p)
  try {
    for (let i = 0; i < o.epochs; i++) {
      const next = adamStep(p, groupedGradArrays(spec, data, p).grads, s, { lr: o.lr })
      p = next.params
      s = next.state
    }
  } finally {
    disposeGrouped(data)
  }
  return crossFittedFromGroups(
    spec,
    p,
    batches,
    groups.map((g, i) => ({ k: g.k, h: g.h, stats: fits[i] }))
  )
}

/**
 * Every task's cross-fitted baselines from grouped networks (stacked parameters `p`): group i,
 * `groups[i]`, was fitted on half `h` of task `k` and predicts its other half, de-standardised with
 * the statistics of the half it was fitted on. One batched prediction; a task of fewer than 2
 * episodes (no group) gets zeros.
 */
export const crossFittedFromGroups = (
  spec: MlpSpec,
  p: ArrayParams,
  batches: ReadonlyArray<EpisodeBatch>,
  groups: ReadonlyArray<{ readonly k: number; readonly h: number; readonly stats: { mean: number; std: number } }>
): ReadonlyArray<Float32Array> => {
  if (groups.length === 0) return batches.map((b) => new Float32Array(b.episodes * b.horizon))
  const predictOn = groups.map((g) => halves(batches[g.k])[1 - g.h])
  const preds = groupedPredict(
    spec,
    p,
    predictOn.map((b) => ({ x: featuresOf(b), rows: b.episodes * b.horizon })),
    batches[groups[0].k].obsDim + 1
  )
  const index = new Map(groups.map((g, i) => [`${g.k}/${g.h}`, i]))
  return batches.map((b, k) =>
    crossFitted(b, 1, (i, own) => {
      const g = index.get(`${k}/${1 - i}`) ?? -1
      return destandardised(preds[g], own, groups[g].stats)
    })
  )
}

/** Per-task value networks as a control variate (`--cv value`). */
export const valueControlVariate: ControlVariateKind = statelessControlVariate({
  name: 'value',
  description: "per-task value networks V(s, t), cross-fitted over the halves of each task's episodes",
  shape: 'per-state',
  perTask: true,
  baselines: ({ tasks, settings, rng }) =>
    E.right(
      fitValueBaselines(
        tasks.map((s) => s.batch),
        { ...settings.valueCv, gamma: settings.gamma },
        rng
      ).map(perState)
    )
})
