/**
 * The run folder: the edge where training meets the file system.
 *
 * ```
 * <run>/config.json       the resolved experiment config
 * <run>/metrics.jsonl     one IterationRecord per line
 * <run>/metrics.csv       the same, flat, fixed columns
 * <run>/checkpoint.json   the latest TrainState (+ config), written atomically
 * <run>/learning-curve.{svg,png}
 * ```
 *
 * Writes of whole files go to a temp file that is renamed over the target, so a run killed at any
 * point leaves either the old or the new file, never half of one.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { ArrayParams } from '../graph/nn.js'
import { type TmamlError, decodeWith, resourceError } from '../base/errors.js'
import { type RngState, rngAt } from '../base/rng.js'
import { type ExperimentConfig, encodeConfig, resolveConfig } from './config.js'
import type { AdamState } from './optim/adam.js'
import { fromJson, toJson } from './optim/params.js'
import type { TrainState } from './stages.js'
import type { IterationRecord } from './train.js'

const errorOf = (where: string, err: unknown): TmamlError =>
  resourceError(where, err instanceof Error ? err.message : String(err))

/** Write `contents` to `file` atomically (temp file in the same folder, then rename). */
export const writeAtomic = (file: string, contents: string): E.Either<TmamlError, void> => {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
  try {
    fs.writeFileSync(tmp, contents)
    fs.renameSync(tmp, file)
    return E.right(undefined)
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true })
    } catch {
      // nothing to clean
    }
    return E.left(errorOf(`writing ${file}`, err))
  }
}

/** A fresh run folder name: runs/<env>-<estimator>-<outer>-s<seed>-<yyyymmdd-hhmmss>. */
export const defaultRunDir = (cfg: ExperimentConfig, now: Date = new Date()): string => {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return path.join('runs', `${cfg.env}-${cfg.estimator.name}-${cfg.outer}-s${cfg.seed}-${stamp}`)
}

// ---------------------------------------------------------------------------------------------
// metrics
// ---------------------------------------------------------------------------------------------

const statColumns = [
  'gradNorm',
  'surrogate',
  'kl',
  'improvement',
  'lineSearch',
  'cvLoss',
  'diverged',
  'stepsThisIteration'
]
const timingColumns = ['tasks', 'sample', 'controlVariates', 'adapt', 'metaUpdate', 'evaluate']
export const csvColumns: ReadonlyArray<string> = [
  'iteration',
  'envSteps',
  'returnPre',
  'returnPost',
  'evalPre',
  'evalPost',
  ...statColumns,
  ...timingColumns.map((c) => `t_${c}`)
]

const csvRow = (r: IterationRecord): string =>
  csvColumns
    .map((c) => {
      const v = c.startsWith('t_')
        ? r.timings[c.slice(2)]
        : c in r
          ? (r as unknown as Record<string, unknown>)[c]
          : r.stats[c]
      return typeof v === 'number' && Number.isFinite(v) ? String(v) : ''
    })
    .join(',')

/** Append one record to metrics.jsonl and metrics.csv (creating them with a header). */
export const appendMetrics = (dir: string, r: IterationRecord): E.Either<TmamlError, void> => {
  try {
    fs.appendFileSync(path.join(dir, 'metrics.jsonl'), JSON.stringify(r) + '\n')
    const csv = path.join(dir, 'metrics.csv')
    if (!fs.existsSync(csv)) fs.writeFileSync(csv, csvColumns.join(',') + '\n')
    fs.appendFileSync(csv, csvRow(r) + '\n')
    return E.right(undefined)
  } catch (err) {
    return E.left(errorOf(`writing metrics in ${dir}`, err))
  }
}

/** Keep only the records of iterations before `iteration` (a resumed run re-runs the rest). */
export const truncateMetrics = (dir: string, iteration: number): E.Either<TmamlError, void> => {
  const jsonl = path.join(dir, 'metrics.jsonl')
  if (!fs.existsSync(jsonl)) return E.right(undefined)
  try {
    const kept = fs
      .readFileSync(jsonl, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as IterationRecord)
      .filter((r) => r.iteration < iteration)
    const w1 = writeAtomic(jsonl, kept.map((r) => JSON.stringify(r) + '\n').join(''))
    if (E.isLeft(w1)) return w1
    return writeAtomic(path.join(dir, 'metrics.csv'), [csvColumns.join(','), ...kept.map(csvRow)].join('\n') + '\n')
  } catch (err) {
    return E.left(errorOf(`reading ${jsonl}`, err))
  }
}

/** Every record of metrics.jsonl. */
export const readMetrics = (dir: string): E.Either<TmamlError, ReadonlyArray<IterationRecord>> => {
  try {
    return E.right(
      fs
        .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as IterationRecord)
    )
  } catch (err) {
    return E.left(errorOf(`reading metrics of ${dir}`, err))
  }
}

// ---------------------------------------------------------------------------------------------
// checkpoints
// ---------------------------------------------------------------------------------------------

const ParamsJson = t.record(t.string, t.type({ shape: t.array(t.number), values: t.array(t.number) }))

const CheckpointJson = t.type({
  format: t.literal('tmaml-checkpoint-1'),
  config: t.unknown,
  state: t.intersection([
    t.type({
      iteration: t.number,
      envSteps: t.number,
      policy: ParamsJson,
      adam: t.type({ step: t.number, m: ParamsJson, v: ParamsJson })
    }),
    // The control variate's state, in its codec's JSON form (checkpoints before the registry of control
    // variates called it `metaCv`; the meta control variate's JSON form is unchanged).
    t.partial({ cvState: t.unknown, metaCv: t.unknown })
  ]),
  /** The state of the stream the next iteration's randomness derives from (documentation: every
   * stream is a pure function of (seed, path), so this is rngAt(seed, 'iteration', iteration)). */
  rng: t.type({ seed: t.number, iteration: t.number, state: t.array(t.number) })
})

const adamJson = (a: AdamState) => ({ step: a.step, m: toJson(a.m), v: toJson(a.v) })
const adamFromJson = (a: t.TypeOf<typeof CheckpointJson>['state']['adam']): AdamState => ({
  step: a.step,
  m: fromJson(a.m),
  v: fromJson(a.v)
})

/** Write the checkpoint of `state` (the next iteration to run) atomically. */
export const writeCheckpoint = (dir: string, cfg: ExperimentConfig, state: TrainState): E.Either<TmamlError, void> => {
  const rngState: RngState = rngAt(cfg.seed, 'iteration', state.iteration).state()
  const json = {
    format: 'tmaml-checkpoint-1',
    config: encodeConfig(cfg),
    state: {
      iteration: state.iteration,
      envSteps: state.envSteps,
      policy: toJson(state.policy),
      adam: adamJson(state.adam),
      cvState: cfg.controlVariate.state === null ? null : cfg.controlVariate.state.codec.encode(state.cvState)
    },
    rng: { seed: cfg.seed, iteration: state.iteration, state: [...rngState] }
  }
  return writeAtomic(path.join(dir, 'checkpoint.json'), JSON.stringify(json))
}

/** Read a run's checkpoint: its config and state. */
export const readCheckpoint = (
  dir: string
): E.Either<TmamlError, { readonly config: ExperimentConfig; readonly state: TrainState }> => {
  const file = path.join(dir, 'checkpoint.json')
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    return E.left(errorOf(`reading checkpoint ${file}`, err))
  }
  const decoded = decodeWith(CheckpointJson, `checkpoint ${file}`)(raw)
  if (E.isLeft(decoded)) return decoded
  const config = resolveConfig(decoded.right.config, undefined, `config in ${file}`)
  if (E.isLeft(config)) return config
  const s = decoded.right.state
  const cv = config.right.controlVariate
  const cvState =
    cv.state === null
      ? E.right(null)
      : decodeWith(cv.state.codec, `control-variate state in ${file}`)(s.cvState ?? s.metaCv)
  if (E.isLeft(cvState)) return cvState
  const policy: ArrayParams = fromJson(s.policy)
  return E.right({
    config: config.right,
    state: { iteration: s.iteration, envSteps: s.envSteps, policy, adam: adamFromJson(s.adam), cvState: cvState.right }
  })
}
