/**
 * The meta-learned control variate of the paper's Algorithm 1 (`--cv meta`): one value network theta_V
 * (valueNet.ts), adapted per task on one half of its episodes and evaluated on the other half, then the
 * halves swap; theta_V takes first-order MAML steps (as in the authors' code: inner SGD, outer Adam).
 * theta_V and its Adam state persist between iterations (and in checkpoints). Cross-fitted: each half's
 * baseline comes from theta_V adapted on the other half.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type TmamlError, invalidInput } from '../../base/errors.js'
import type { Rng } from '../../base/rng.js'
import type { ArrayParams } from '../../graph/nn.js'
import { type EpisodeBatch, targetStats } from '../episodes.js'
import { AdamState, adamInit, adamStep } from '../optim/adam.js'
import { ArrayParamsJson, axpy } from '../optim/params.js'
import {
  type ControlVariateKind,
  type CvSetup,
  type Fitted,
  type InOrderFit,
  fitInOrder,
  halves,
  perState
} from './controlVariate.js'
import {
  type GroupedData,
  disposeGrouped,
  groupedData,
  groupedGradArrays,
  meanOverGroups,
  tileArrays
} from './groupedValueNet.js'
import { type FitArrays, crossFittedFromGroups, fitArrays, initValueNet, valueMlp } from './valueNet.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** theta_V and its Adam state; in memory and, as a codec, in checkpoints. */
export const MetaCvState = t.type({ params: ArrayParamsJson, adam: AdamState }, 'MetaCvState')
export type MetaCvState = t.TypeOf<typeof MetaCvState>

export interface MetaCvOptions {
  readonly hidden: ReadonlyArray<number>
  readonly innerLr: number
  readonly outerLr: number
  readonly epochs: number
  readonly gamma: number
}

export const initMetaCv = (obsDim: number, hidden: ReadonlyArray<number>, rng: Rng): MetaCvState => {
  const params = initValueNet(obsDim, hidden, rng)
  return { params, adam: adamInit(params) }
}

// ---------------------------------------------------------------------------------------------
// Algorithm 1
// ---------------------------------------------------------------------------------------------

/** Algorithm 1 fed one task at a time, in task order (see `metaValueFit`). */
export interface MetaValueFit {
  /** The next task's episodes: its halves' training data. */
  readonly add: (b: EpisodeBatch) => void
  /** After the last task: the rounds and theta_V's steps; the state and the last round's loss. */
  readonly learn: () => { readonly state: MetaCvState; readonly loss: number }
  /** After `learn`: task k's cross-fitted baseline values [E, T]. */
  readonly baselines: (k: number) => Float32Array
  /** Free the groups' tensors (built by `learn` or `baselines`); once, after the last use. */
  readonly dispose: () => void
}

/**
 * Algorithm 1: for `epochs` rounds, for every task: adapt theta_V on one half (one SGD step), take the
 * loss's gradient on the other half at the adapted parameters, and swap; theta_V takes an Adam step on
 * the mean of those gradients (first-order MAML). Then each half's baseline comes from theta_V adapted
 * on the other half, de-standardised with the other half's target statistics. `epochs: 0` learns
 * nothing: the baselines of the current theta_V.
 *
 * Every (task, half) pair is a group of one batched graph (groupedValueNet.ts): a round is two
 * batched gradients (the adaptations, then the losses at the adapted parameters) whatever the number
 * of tasks. `add` prepares a task's data as its episodes arrive; the rounds need every task, so they
 * run in `learn`; the baselines of all tasks come from one more batched adaptation, on the first
 * `baselines` call.
 */
export const metaValueFit = (obsDim: number, state: MetaCvState, o: MetaCvOptions): MetaValueFit => {
  const spec = valueMlp(obsDim, o.hidden)
  const batches: EpisodeBatch[] = []
  // per task: each half's training data (own target statistics); null with fewer than 2 episodes
  const fits: Array<readonly [FitArrays, FitArrays] | null> = []
  let final: ArrayParams | null = null
  let values: ReadonlyArray<Float32Array> | null = null

  /** Group (k, h) for every task k with two halves: adapted on half h, scored on half 1 - h. */
  const groups = () => fits.flatMap((f, k) => (f === null ? [] : ([0, 1] as const).map((h) => ({ k, h, data: f }))))

  // The groups' data as tensors, built once on first use (the rounds and the baselines share the
  // adaptation halves) and freed by `dispose`.
  let adaptData: GroupedData | null = null
  let scoreData: GroupedData | null = null
  const adaptOn = (): GroupedData =>
    (adaptData ??= groupedData(
      groups().map((g) => g.data[g.h]),
      obsDim + 1
    ))
  const scoreOn = (): GroupedData =>
    (scoreData ??= groupedData(
      groups().map((g) => g.data[1 - g.h]),
      obsDim + 1
    ))

  /** theta_V (tiled over groups) after one SGD step on each group's adaptation half. */
  const adapted = (params: ArrayParams): ArrayParams => {
    const tiled = tileArrays(params, adaptOn().groups)
    return axpy(tiled, -o.innerLr, groupedGradArrays(spec, adaptOn(), tiled).grads)
  }

  const learnRounds = (): { params: ArrayParams; adam: AdamState; loss: number } => {
    let { params, adam } = state
    let loss = NaN
    if (o.epochs === 0 || groups().length === 0) return { params, adam, loss }
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const scored = groupedGradArrays(spec, scoreOn(), adapted(params))
      const next = adamStep(params, meanOverGroups(scored.grads), adam, { lr: o.outerLr })
      params = next.params
      adam = next.state
      loss = scored.meanLoss
    }
    return { params, adam, loss }
  }

  /** Every task's cross-fitted baselines at theta_V = `p`, in one batched adaptation and prediction. */
  const allBaselines = (p: ArrayParams): ReadonlyArray<Float32Array> => {
    const gs = groups()
    const theta = gs.length === 0 ? p : adapted(p)
    // group (k, h) predicts half 1 - h of task k, in the statistics of half h
    return crossFittedFromGroups(
      spec,
      theta,
      batches,
      gs.map((g) => ({ k: g.k, h: g.h, stats: g.data[g.h] }))
    )
  }

  return {
    add: (b) => {
      batches.push(b)
      if (b.episodes < 2) return void fits.push(null)
      const [h0, h1] = halves(b)
      fits.push([fitArrays(h0, o.gamma, targetStats(h0, o.gamma)), fitArrays(h1, o.gamma, targetStats(h1, o.gamma))])
    },
    learn: () => {
      const r = learnRounds()
      final = r.params
      values = null
      return { state: { params: r.params, adam: r.adam }, loss: r.loss }
    },
    baselines: (k) => {
      if (final === null) throw new Error('metaValueFit: baselines before learn')
      values ??= allBaselines(final)
      const v = values[k]
      if (v === undefined) throw new Error(`metaValueFit: no task ${k}`)
      return v
    },
    dispose: () => {
      for (const d of [adaptData, scoreData]) if (d !== null) disposeGrouped(d)
      adaptData = null
      scoreData = null
      values = null
    }
  }
}

/** Algorithm 1 on every task at once: `metaValueFit` fed all of `batches`. */
export const metaValueStep = (
  batches: ReadonlyArray<EpisodeBatch>,
  state: MetaCvState,
  o: MetaCvOptions
): { readonly state: MetaCvState; readonly baselines: ReadonlyArray<Float32Array>; readonly loss: number } => {
  const fit = metaValueFit(batches[0].obsDim, state, o)
  try {
    batches.forEach(fit.add)
    const learned = fit.learn()
    return { ...learned, baselines: batches.map((_, k) => fit.baselines(k)) }
  } finally {
    fit.dispose()
  }
}

// ---------------------------------------------------------------------------------------------
// the control variate
// ---------------------------------------------------------------------------------------------

const noState = invalidInput(
  "control variate 'meta'",
  'it needs the meta-learned network of its own run (a state made by --cv meta), and has none'
)

/** Algorithm 1 in task order, learning for `epochs` rounds (`evaluate`: 0, nothing learnt). */
const inOrder = (setup: CvSetup, epochs: number): E.Either<TmamlError, InOrderFit> => {
  if (!MetaCvState.is(setup.state)) return E.left(noState)
  const fit = metaValueFit(setup.policy.obsDim, setup.state, {
    ...setup.settings.metaCv,
    epochs,
    gamma: setup.settings.gamma
  })
  return E.right({
    add: (s) => fit.add(s.batch),
    learn: () => {
      const r = fit.learn()
      return E.right({ state: r.state, stats: { cvLoss: r.loss } })
    },
    baseline: (k) => perState(fit.baselines(k)),
    dispose: fit.dispose
  })
}

/** Algorithm 1 as a control variate: `fit` takes theta_V's outer steps, `evaluate` only adapts it. */
export const metaControlVariate: ControlVariateKind = {
  name: 'meta',
  description: "the meta-learned value network of the paper's Algorithm 1 (first-order MAML over theta_V)",
  shape: 'per-state',
  state: {
    init: (policy, settings, rng) => initMetaCv(policy.obsDim, settings.metaCv.hidden, rng),
    codec: MetaCvState
  },
  inOrder: (setup) => inOrder(setup, setup.settings.metaCv.epochs),
  fit: (input) => fitInOrder((setup) => inOrder(setup, input.settings.metaCv.epochs), input),
  evaluate: (input) => E.map((f: Fitted) => f.baselines)(fitInOrder((setup) => inOrder(setup, 0), input))
}
