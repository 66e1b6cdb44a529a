/**
 * The meta-learned control variate of the paper's Algorithm 1 (`--cv meta`): one value network theta_V
 * (valueNet.ts), adapted per task on one half of its episodes and evaluated on the other half, then the
 * halves swap; theta_V takes first-order MAML steps (as in the authors' code: inner SGD, outer Adam).
 * theta_V and its Adam state persist between iterations (and in checkpoints). Cross-fitted: each half's
 * baseline comes from theta_V adapted on the other half.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type TmamlError, invalidInput } from '../../base/errors.js'
import type { Rng } from '../../base/rng.js'
import type { ArrayParams } from '../../graph/nn.js'
import { type EpisodeBatch, targetStats } from '../episodes.js'
import { AdamState, adamInit, adamStep } from '../optim/adam.js'
import { ArrayParamsJson, axpy } from '../optim/params.js'
import { toTensors } from '../policy.js'
import {
  type ControlVariateKind,
  type CvSetup,
  type Fitted,
  type InOrderFit,
  crossFitted,
  fitInOrder,
  halves,
  perState
} from './controlVariate.js'
import {
  type Fit,
  disposeFit,
  fitData,
  gradArrays,
  initValueNet,
  mseLoss,
  predictValues,
  valueMlp
} from './valueNet.js'

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
  /** The next task's episodes: its training data, and its share of the first round's gradient. */
  readonly add: (b: EpisodeBatch) => void
  /** After the last task: the remaining rounds and theta_V's steps; the state and the last round's loss. */
  readonly learn: () => { readonly state: MetaCvState; readonly loss: number }
  /** After `learn`: task k's cross-fitted baseline values [E, T]. */
  readonly baselines: (k: number) => Float32Array
  /** Free the tasks' tensors. */
  readonly dispose: () => void
}

/**
 * Algorithm 1: for `epochs` rounds, for every task: adapt theta_V on one half (one SGD step), take the
 * loss's gradient on the other half at the adapted parameters, and swap; theta_V takes an Adam step on
 * the mean of those gradients (first-order MAML). Then each half's baseline comes from theta_V adapted
 * on the other half, de-standardised with the other half's target statistics. `epochs: 0` learns
 * nothing: the baselines of the current theta_V.
 *
 * In pieces, so that it can follow tasks as their episodes arrive: the first round's gradients are
 * summed as tasks are added (in task order: the same sums, in the same order, as all at once), the
 * other rounds need every task, and then each task's baselines can be had on their own.
 */
export const metaValueFit = (obsDim: number, state: MetaCvState, o: MetaCvOptions): MetaValueFit => {
  const spec = valueMlp(obsDim, o.hidden)
  const batches: EpisodeBatch[] = []
  const fits: Array<[Fit, Fit] | null> = []
  const adaptOn = (p: ArrayParams, f: Fit): ArrayParams => axpy(p, -o.innerLr, gradArrays(spec, f, p))

  /** One round's running sums at theta_V = `params`. */
  const round = (params: ArrayParams) => {
    const sum: Record<string, Float32Array> = {}
    let count = 0
    let lossSum = 0
    const add = (f: [Fit, Fit] | null): void => {
      if (f === null) return
      for (const [a, b] of [
        [0, 1],
        [1, 0]
      ] as const) {
        const adapted = adaptOn(params, f[a])
        const g = gradArrays(spec, f[b], adapted)
        for (const k of Object.keys(g)) {
          const acc = (sum[k] ??= new Float32Array(g[k].values.length))
          g[k].values.forEach((v, i) => (acc[i] += v))
        }
        const l = tf.tidy(() => mseLoss(spec, f[b])(toTensors(adapted)))
        lossSum += l.dataSync()[0]
        l.dispose()
        count += 1
      }
    }
    const grad = (): ArrayParams =>
      Object.fromEntries(
        Object.keys(sum).map((k) => [k, { shape: params[k].shape, values: sum[k].map((v) => v / count) }])
      )
    return { add, grad, count: () => count, loss: () => lossSum / count }
  }

  let first = o.epochs > 0 ? round(state.params) : null
  let final: ArrayParams | null = null
  return {
    add: (b) => {
      const f =
        b.episodes < 2 ? null : (halves(b).map((h) => fitData(h, o.gamma, targetStats(h, o.gamma))) as [Fit, Fit])
      batches.push(b)
      fits.push(f)
      first?.add(f)
    },
    learn: () => {
      let { params, adam } = state
      let loss = NaN
      for (let epoch = 0; epoch < o.epochs; epoch++) {
        const r = epoch === 0 && first !== null ? first : round(params)
        if (epoch > 0) fits.forEach(r.add)
        if (r.count() === 0) break
        const next = adamStep(params, r.grad(), adam, { lr: o.outerLr })
        params = next.params
        adam = next.state
        loss = r.loss()
      }
      first = null
      final = params
      return { state: { params, adam }, loss }
    },
    baselines: (k) => {
      if (final === null) throw new Error('metaValueFit: baselines before learn')
      const p = final
      return crossFitted(batches[k], 1, (i, own) => {
        const other = (fits[k] as [Fit, Fit])[1 - i]
        return predictValues(spec, adaptOn(p, other), own, { mean: other.mean, std: other.std })
      })
    },
    dispose: () => fits.forEach((f) => f?.forEach(disposeFit))
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
