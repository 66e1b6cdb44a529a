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
import { invalidInput } from '../../base/errors.js'
import type { Rng } from '../../base/rng.js'
import type { ArrayParams } from '../../graph/nn.js'
import { type EpisodeBatch, targetStats } from '../episodes.js'
import { AdamState, adamInit, adamStep } from '../optim/adam.js'
import { ArrayParamsJson, axpy } from '../optim/params.js'
import { toTensors } from '../policy.js'
import { type ControlVariateKind, type CvInput, crossFitted, halves, perState } from './controlVariate.js'
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

/**
 * Algorithm 1: for `epochs` rounds, for every task: adapt theta_V on one half (one SGD step),
 * take the loss's gradient on the other half at the adapted parameters, and swap; theta_V takes an
 * Adam step on the mean of those gradients (first-order MAML). Then each half's baseline comes from
 * theta_V adapted on the other half, de-standardised with the other half's target statistics.
 * `epochs: 0` learns nothing: the baselines of the current theta_V.
 */
export const metaValueStep = (
  batches: ReadonlyArray<EpisodeBatch>,
  state: MetaCvState,
  o: MetaCvOptions
): { readonly state: MetaCvState; readonly baselines: ReadonlyArray<Float32Array>; readonly loss: number } => {
  const obsDim = batches[0].obsDim
  const spec = valueMlp(obsDim, o.hidden)
  const fits = batches.map((b) =>
    b.episodes < 2 ? null : (halves(b).map((h) => fitData(h, o.gamma, targetStats(h, o.gamma))) as [Fit, Fit])
  )
  const adaptOn = (p: ArrayParams, f: Fit): ArrayParams => axpy(p, -o.innerLr, gradArrays(spec, f, p))
  let { params, adam } = state
  let loss = NaN
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const sum: Record<string, Float32Array> = {}
    let count = 0
    let lossSum = 0
    for (const f of fits) {
      if (f === null) continue
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
    if (count === 0) break
    const grad = Object.fromEntries(
      Object.keys(sum).map((k) => [k, { shape: params[k].shape, values: sum[k].map((v) => v / count) }])
    )
    const next = adamStep(params, grad, adam, { lr: o.outerLr })
    params = next.params
    adam = next.state
    loss = lossSum / count
  }
  const final = params
  const baselines = batches.map((b, k) =>
    crossFitted(b, 1, (i, own) => {
      const other = (fits[k] as [Fit, Fit])[1 - i]
      return predictValues(spec, adaptOn(final, other), own, { mean: other.mean, std: other.std })
    })
  )
  fits.forEach((f) => f?.forEach(disposeFit))
  return { state: { params, adam }, baselines, loss }
}

// ---------------------------------------------------------------------------------------------
// the control variate
// ---------------------------------------------------------------------------------------------

const step = (input: CvInput, epochs: number) => {
  if (!MetaCvState.is(input.state))
    return E.left(
      invalidInput(
        "control variate 'meta'",
        'it needs the meta-learned network of its own run (a state made by --cv meta), and has none'
      )
    )
  return E.right(
    metaValueStep(
      input.tasks.map((s) => s.batch),
      input.state,
      { ...input.settings.metaCv, epochs, gamma: input.settings.gamma }
    )
  )
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
  fit: (input) =>
    E.map((r: ReturnType<typeof metaValueStep>) => ({
      baselines: r.baselines.map(perState),
      state: r.state,
      stats: { cvLoss: r.loss }
    }))(step(input, input.settings.metaCv.epochs)),
  evaluate: (input) => E.map((r: ReturnType<typeof metaValueStep>) => r.baselines.map(perState))(step(input, 0))
}
