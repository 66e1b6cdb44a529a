/**
 * A control variate is a value: a name, the shape of the baselines it produces, how it fits them
 * during training (`fit`, which may update a state kept between iterations) and how it computes them
 * without learning anything (`evaluate`: held-out evaluation, the gradient experiments). The training
 * stages, the evaluation stage and src/experiments all go through `fitControlVariate` /
 * `evaluateControlVariate`, which check what a control variate returns, so none of them knows the kinds.
 *
 * @example
 * const constant = statelessControlVariate({
 *   name: 'constant', description: 'b = 1', shape: 'per-state',
 *   baselines: ({ tasks }) => E.right(tasks.map(({ batch }) => perState(new Float32Array(batch.episodes * batch.horizon).fill(1))))
 * })
 * const cfg2 = { ...cfg, controlVariate: constant }   // train with it
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import { type TmamlError, invalidInput } from '../../base/errors.js'
import type { Rng } from '../../base/rng.js'
import { type Baseline, type BaselineShape, type EpisodeBatch, type Sampled, sliceEpisodes } from '../episodes.js'
import type { PolicySpec } from '../policy.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** What fitting may read from the experiment's configuration (an `ExperimentConfig` is one). */
export interface CvSettings {
  readonly gamma: number
  /** Per-task value networks and the Q-network of the action-dependent control variate. */
  readonly valueCv: {
    readonly hidden: ReadonlyArray<number>
    readonly lr: number
    readonly epochs: number
    readonly samples: number
  }
  /** The meta-learned control variate (paper Algorithm 1). */
  readonly metaCv: {
    readonly hidden: ReadonlyArray<number>
    readonly innerLr: number
    readonly outerLr: number
    readonly epochs: number
  }
}

/** What a control variate is fitted on: one batch per task, with the parameters that sampled it. */
export interface CvInput {
  readonly tasks: ReadonlyArray<Sampled>
  readonly policy: PolicySpec
  readonly settings: CvSettings
  /**
   * The random stream of part `part` (a half's index, a network's name) of task `task`'s fit: distinct
   * per iteration, inner step and kind, so results do not depend on the order of fitting.
   */
  readonly rng: (task: number, part: string | number) => Rng
  /** The control variate's own state (`null` for one that keeps none). */
  readonly state: unknown
}

/** What `fit` returns: one baseline per task, the next state, numbers for the metrics. */
export interface Fitted {
  readonly baselines: ReadonlyArray<Baseline>
  readonly state: unknown
  readonly stats: Readonly<Record<string, number>>
}

/** What a fit fed one task at a time reads: `CvInput` without the tasks, and how many will come. */
export type CvSetup = Omit<CvInput, 'tasks'> & { readonly tasks: number }

/**
 * A fit fed one task at a time, in task order (the streaming iteration feeds tasks as their episodes
 * arrive): `add` does the work that needs only the tasks so far; `learn`, after the last, updates the
 * state; then `baseline(k)` is task k's. Fed every task, it computes what `fit` computes, bit for bit.
 */
export interface InOrderFit {
  readonly add: (task: Sampled) => void
  readonly learn: () => E.Either<TmamlError, Omit<Fitted, 'baselines'>>
  readonly baseline: (task: number) => Baseline
  /** Free what `add` kept; once, after the last use. */
  readonly dispose: () => void
}

/** A state kept between iterations and written into checkpoints. */
export interface CvStateSpec {
  /** The state of a fresh run, from the policy's shape and a stream of its own. */
  readonly init: (policy: PolicySpec, settings: CvSettings, rng: Rng) => unknown
  /** In memory (`is`), as JSON in a checkpoint (`encode`), and back (`decode`, naming bad fields). */
  readonly codec: t.Mixed
}

export interface ControlVariateKind {
  /** What `--cv` and configs call it. */
  readonly name: string
  readonly description: string
  /** One value per step b(s_t), [E, T], or one per action component b_i(s_t, a_t^{-i}), [E, T, actDim]. */
  readonly shape: BaselineShape
  readonly state: CvStateSpec | null
  /**
   * `true` when a fit on one task alone gives that task's baseline of a fit on all of them (it keeps no
   * state and reads only the task's own episodes and `rng(task, ·)`): the streaming iteration then fits
   * each task as its episodes arrive. Otherwise it waits for all of an inner step's tasks.
   */
  readonly perTask?: boolean
  /**
   * Training in pieces, for a control variate whose state learns from every task (the meta-learned
   * one): the streaming iteration adds tasks as they arrive, in task order, and asks for baselines
   * group by group. Its `fit` should be `fitInOrder` of it.
   */
  readonly inOrder?: (setup: CvSetup) => E.Either<TmamlError, InOrderFit>
  /** Training: fit on an inner step's episodes, possibly learning (updating `state`). */
  readonly fit: (input: CvInput) => E.Either<TmamlError, Fitted>
  /** The baselines training would use, learning nothing: held-out evaluation, experiments. */
  readonly evaluate: (input: CvInput) => E.Either<TmamlError, ReadonlyArray<Baseline>>
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * A control variate that keeps no state: `fit` and `evaluate` are the same computation. Say `perTask`
 * when `baselines` computes each task's baseline from that task alone (see `ControlVariateKind`).
 */
export const statelessControlVariate = (cv: {
  readonly name: string
  readonly description: string
  readonly shape: BaselineShape
  readonly perTask?: boolean
  readonly baselines: (input: CvInput) => E.Either<TmamlError, ReadonlyArray<Baseline>>
}): ControlVariateKind => ({
  name: cv.name,
  description: cv.description,
  shape: cv.shape,
  state: null,
  perTask: cv.perTask === true,
  fit: (input) =>
    E.map((baselines: ReadonlyArray<Baseline>) => ({ baselines, state: null, stats: {} }))(cv.baselines(input)),
  evaluate: cv.baselines
})

/** A fit of all of `input`'s tasks through an in-order fit: every task added, learn, every baseline. */
export const fitInOrder = (
  start: (setup: CvSetup) => E.Either<TmamlError, InOrderFit>,
  input: CvInput
): E.Either<TmamlError, Fitted> => {
  const started = start({ ...input, tasks: input.tasks.length })
  if (E.isLeft(started)) return started
  const fit = started.right
  try {
    input.tasks.forEach(fit.add)
    return E.map((l: Omit<Fitted, 'baselines'>) => ({ ...l, baselines: input.tasks.map((_, k) => fit.baseline(k)) }))(
      fit.learn()
    )
  } finally {
    fit.dispose()
  }
}

export const perState = (values: Float32Array): Baseline => ({ shape: 'per-state', values })
export const perActionComponent = (values: Float32Array): Baseline => ({ shape: 'per-action-component', values })

// ---------------------------------------------------------------------------------------------
// cross-fitting
// ---------------------------------------------------------------------------------------------

/** The two halves of a batch's episodes (the first gets the extra one when odd). */
export const halves = (b: EpisodeBatch): readonly [EpisodeBatch, EpisodeBatch] => {
  const h = Math.ceil(b.episodes / 2)
  return [sliceEpisodes(b, 0, h), sliceEpisodes(b, h, b.episodes)]
}

/**
 * Cross-fitted values of a batch, `width` per step: half i gets `valuesOf(i, halves[i], halves[1 - i])`
 * (a model fitted on the other half predicts it), so an episode's baseline never depends on that
 * episode. A batch of one episode has no other half: zeros.
 */
export const crossFitted = (
  b: EpisodeBatch,
  width: number,
  valuesOf: (half: 0 | 1, own: EpisodeBatch, other: EpisodeBatch) => Float32Array
): Float32Array => {
  const out = new Float32Array(b.episodes * b.horizon * width)
  if (b.episodes < 2) return out
  const [h0, h1] = halves(b)
  const first = valuesOf(0, h0, h1)
  out.set(first, 0)
  out.set(valuesOf(1, h1, h0), first.length)
  return out
}

// ---------------------------------------------------------------------------------------------
// using a control variate
// ---------------------------------------------------------------------------------------------

/** Left unless there is one baseline per task, of the control variate's shape and the batch's size. */
export const checkBaselines = (
  cv: ControlVariateKind,
  tasks: ReadonlyArray<Sampled>,
  baselines: ReadonlyArray<Baseline>
): E.Either<TmamlError, ReadonlyArray<Baseline>> => {
  const where = `control variate '${cv.name}'`
  if (baselines.length !== tasks.length)
    return E.left(invalidInput(where, `returned ${baselines.length} baselines for ${tasks.length} tasks`))
  for (const [k, b] of baselines.entries()) {
    const { batch } = tasks[k]
    const width = b.shape === 'per-state' ? 1 : batch.actDim
    const expected = batch.episodes * batch.horizon * width
    if (b.shape !== cv.shape)
      return E.left(invalidInput(where, `task ${k}: a ${b.shape} baseline, but it declares shape '${cv.shape}'`))
    if (b.values.length !== expected)
      return E.left(
        invalidInput(
          where,
          `task ${k}: ${b.values.length} values, expected ${expected} (${b.shape}, [E, T] = [${batch.episodes}, ${batch.horizon}])`
        )
      )
  }
  return E.right(baselines)
}

/** `cv.fit`, with its baselines checked against the batches and its declared shape. */
export const fitControlVariate = (cv: ControlVariateKind, input: CvInput): E.Either<TmamlError, Fitted> =>
  E.chain((f: Fitted) => E.map(() => f)(checkBaselines(cv, input.tasks, f.baselines)))(cv.fit(input))

/** `cv.evaluate`, checked the same way. */
export const evaluateControlVariate = (
  cv: ControlVariateKind,
  input: CvInput
): E.Either<TmamlError, ReadonlyArray<Baseline>> =>
  E.chain((bs: ReadonlyArray<Baseline>) => checkBaselines(cv, input.tasks, bs))(cv.evaluate(input))
