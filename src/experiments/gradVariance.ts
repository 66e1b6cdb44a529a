/**
 * Gradient variance along training (paper section 5.2, Fig. 2 left): at snapshots of one training
 * run, resample the meta-gradient K times per method — same policy, same tasks, fresh episodes — and
 * report the average per-coordinate variance of one draw and the norm of the mean of the K draws.
 *
 * 1. Training: one `tmaml train` run folder (`<out>/train`, meta control variate, resumable), trained
 *    in legs of `every` iterations; after each leg its checkpoint is copied to
 *    `<out>/snapshots/it-NNNN/checkpoint.json` (iteration 0: the run's initial state).
 * 2. At each snapshot: tasks drawn once (`rngAt(seed, 'variance-tasks', iteration)`), then K draws; in
 *    a draw every method sees the same pre-update episodes, and its post-update episodes come from the
 *    same streams (common random numbers). Control variates are computed as in training from the
 *    snapshot (meta network adapted per task, value networks fitted, ...), updating nothing.
 * 3. Results per snapshot in `<out>/variance/it-NNNN.json`: a re-run skips what is done.
 *
 * All methods are measured at the same parameters (those of the one training run), so differences are
 * differences of the estimators, not of the policies they would have trained.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type TmamlError, invalidInput, resourceError } from '../base/errors.js'
import { rngAt } from '../base/rng.js'
import { type ExperimentConfig, encodeConfig, resolveConfig } from '../pipelines/config.js'
import { sizeOf } from '../pipelines/optim/params.js'
import { readCheckpoint, writeAtomic, writeCheckpoint } from '../pipelines/runDir.js'
import { makeSampler, promiseSampler } from '../pipelines/sampler/index.js'
import type { Sampler } from '../pipelines/sampler/types.js'
import { type TrainState, trainDeps } from '../pipelines/stages.js'
import { initialState } from '../pipelines/train.js'
import type { LineChart } from '../plot/chart.js'
import { formatNumber, renderTable } from '../plot/renderTable.js'
import { type Method, drawMetaGradients } from './metaGradients.js'
import { formatDuration, progress } from './progress.js'
import { loadState, saveState, styled, trainingSeconds, writeReport } from './report.js'
import { norm, meanVector, perCoordinateVariance, squaredSignal } from './stats.js'
import type { TrainRunner } from './trainRunner.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The settings of the experiment (the CLI's flags). */
export interface GradVarianceOptions {
  /** Runs `tmaml train` in this process (the CLI supplies it). */
  readonly runner: TrainRunner
  readonly env: string
  readonly out: string
  readonly figure: string
  readonly methods: ReadonlyArray<Method>
  /** Training iterations. */
  readonly iterations: number
  /** Snapshot interval. */
  readonly every: number
  /** Meta-gradients per method and snapshot. */
  readonly draws: number
  /** Tasks x episodes per task, of the training batches and of each draw. */
  readonly tasks: number
  readonly rollouts: number
  readonly trainEstimator: string
  readonly seed: number
  readonly workers: number
  /**
   * What the training run's config is merged over (default: the published hyperparameters): the
   * options above set the budget, this everything else (discount, trust region, ...). The CLI's
   * `--config FILE`. Its discount is also the one the measured meta-gradients use.
   */
  readonly base?: ExperimentConfig
}

/** One method at one snapshot. */
export interface VarianceCell {
  readonly label: string
  /** Average per-coordinate variance of one meta-gradient. */
  readonly variance: number
  /** Norm of the mean of the draws. */
  readonly meanNorm: number
  /** Mean norm of one draw. */
  readonly drawNorm: number
}

export interface GradVarianceResult {
  readonly snapshots: ReadonlyArray<{ readonly iteration: number; readonly cells: ReadonlyArray<VarianceCell> }>
  readonly paths: ReadonlyArray<string>
  readonly seconds: number
}

const Cells = t.type({
  cells: t.array(t.type({ label: t.string, variance: t.number, meanNorm: t.number, drawNorm: t.number })),
  seconds: t.number
})

const pad = (it: number): string => String(it).padStart(4, '0')

// ---------------------------------------------------------------------------------------------
// training and snapshots
// ---------------------------------------------------------------------------------------------

/** A sampler that samples nothing: `initialState` needs the dependencies' shape, not a sampler. */
const noSampler: Sampler = promiseSampler({
  workers: 0,
  sample: async () => E.left(invalidInput('grad-variance', 'no sampling here')),
  close: async () => undefined
})

const trainConfig = (o: GradVarianceOptions): E.Either<TmamlError, ExperimentConfig> =>
  resolveConfig(
    {
      env: o.env,
      estimator: o.trainEstimator,
      controlVariate: 'meta',
      tasksPerBatch: o.tasks,
      rolloutsPerTask: o.rollouts,
      iterations: o.iterations,
      seed: o.seed,
      workers: o.workers,
      evalEvery: 0,
      checkpointEvery: o.every,
      runDir: path.join(o.out, 'train')
    },
    o.base
  )

/** The snapshot folders' iterations: 0, every, 2 every, ..., iterations. */
export const snapshotIterations = (iterations: number, every: number): ReadonlyArray<number> => {
  const out = [0]
  for (let it = every; it < iterations; it += every) out.push(it)
  if (out[out.length - 1] !== iterations) out.push(iterations)
  return out
}

/** Train in legs up to each snapshot iteration, copying the checkpoint after each leg. */
const ensureSnapshots = async (
  o: GradVarianceOptions,
  cfg: ExperimentConfig,
  log: (s: string) => void
): Promise<E.Either<TmamlError, ReadonlyArray<number>>> => {
  const trainDir = path.join(o.out, 'train')
  const snapDir = (it: number) => path.join(o.out, 'snapshots', `it-${pad(it)}`)
  const its = snapshotIterations(o.iterations, o.every)
  for (const it of its) {
    if (fs.existsSync(path.join(snapDir(it), 'checkpoint.json'))) continue
    if (it === 0) {
      const deps = trainDeps(cfg, noSampler)
      if (E.isLeft(deps)) return deps
      const state: TrainState = initialState(deps.right)
      fs.mkdirSync(snapDir(0), { recursive: true })
      const w = writeCheckpoint(snapDir(0), cfg, state)
      if (E.isLeft(w)) return w
      continue
    }
    const ck = readCheckpoint(trainDir)
    const at = E.isRight(ck) ? ck.right.state.iteration : -1
    if (at > it)
      return E.left(
        resourceError(
          trainDir,
          `the run is at iteration ${at}, past the missing snapshot ${it}; remove ${o.out} or choose another --out`
        )
      )
    if (at < it) {
      let argv: ReadonlyArray<string>
      if (at < 0) {
        fs.mkdirSync(trainDir, { recursive: true })
        const cfgFile = path.join(o.out, 'train-config.json')
        const w = writeAtomic(cfgFile, JSON.stringify({ ...encodeConfig(cfg), iterations: it }, null, 2) + '\n')
        if (E.isLeft(w)) return w
        argv = ['--config', cfgFile]
      } else argv = ['--resume', trainDir, '--iterations', String(it)]
      log(`training: tmaml train ${argv.join(' ')}`)
      const code = await o.runner.inProcess(argv)
      if (code !== 0) return E.left(resourceError('grad-variance', `training failed (exit ${code}); see above`))
    }
    fs.mkdirSync(snapDir(it), { recursive: true })
    try {
      fs.copyFileSync(path.join(trainDir, 'checkpoint.json'), path.join(snapDir(it), 'checkpoint.json'))
    } catch (err) {
      return E.left(resourceError(snapDir(it), err instanceof Error ? err.message : String(err)))
    }
  }
  return E.right(its)
}

// ---------------------------------------------------------------------------------------------
// measurement
// ---------------------------------------------------------------------------------------------

const measure = async (
  o: GradVarianceOptions,
  sampler: Sampler,
  it: number,
  onDraw: (r: number) => void
): Promise<E.Either<TmamlError, ReadonlyArray<VarianceCell>>> => {
  const ck = readCheckpoint(path.join(o.out, 'snapshots', `it-${pad(it)}`))
  if (E.isLeft(ck)) return ck
  const { config: cfg, state } = ck.right
  const deps = trainDeps(cfg, sampler)
  if (E.isLeft(deps)) return deps
  const { horizon, policy } = deps.right
  const tasks = deps.right.env.sampleTasks(rngAt(o.seed, 'variance-tasks', it), o.tasks)
  const vectors: Float32Array[][] = o.methods.map(() => [])
  for (let r = 0; r < o.draws; r++) {
    const g = await drawMetaGradients({
      sampler,
      envId: cfg.env,
      horizon,
      policy,
      seed: o.seed,
      tasks,
      episodes: o.rollouts,
      theta: state.policy,
      methods: o.methods,
      stream: ['variance', it, r],
      innerLr: cfg.innerLr,
      gamma: cfg.gamma,
      normalizeAdvantages: cfg.normalizeAdvantages,
      innerNormalize: cfg.innerNormalize,
      actionScale: cfg.actionScale,
      settings: cfg,
      cvStream: ['variance-cv', it, r],
      cvState: { of: cfg.controlVariate.name, state: state.cvState }
    })
    if (E.isLeft(g)) return g
    g.right.forEach((v, m) => vectors[m].push(v))
    onDraw(r)
  }
  return E.right(
    o.methods.map((m, i) => ({
      label: m.label,
      variance: perCoordinateVariance(vectors[i]),
      meanNorm: norm(meanVector(vectors[i])),
      drawNorm: vectors[i].reduce((a, v) => a + norm(v), 0) / vectors[i].length
    }))
  )
}

// ---------------------------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------------------------

/** Variance (or norm of the mean) against iteration, log y, one line per method. @category report */
export const varianceChart = (
  snapshots: GradVarianceResult['snapshots'],
  field: 'variance' | 'meanNorm',
  title: string
): LineChart => {
  const labels = snapshots[0]?.cells.map((c) => c.label) ?? []
  return {
    title,
    xLabel: 'training iteration',
    yLabel: field === 'variance' ? 'average per-coordinate variance' : 'norm of the mean meta-gradient',
    xScale: 'linear',
    yScale: 'log',
    series: styled(
      labels.map((label) => ({
        name: label,
        points: snapshots.map((s) => ({ x: s.iteration, y: s.cells.find((c) => c.label === label)?.[field] ?? NaN }))
      }))
    )
  }
}

/** Rows = methods, columns = snapshot iterations. @category report */
export const varianceTable = (snapshots: GradVarianceResult['snapshots'], f: (c: VarianceCell) => number): string => {
  const labels = snapshots[0]?.cells.map((c) => c.label) ?? []
  const columns = ['method', ...snapshots.map((s) => `it ${s.iteration}`)]
  return renderTable(
    labels.map((label) =>
      Object.fromEntries([
        ['method', label],
        ...snapshots.map((s) => {
          const c = s.cells.find((x) => x.label === label)
          return [`it ${s.iteration}`, c === undefined ? '' : formatNumber(f(c), 3)]
        })
      ])
    ),
    { columns }
  )
}

// ---------------------------------------------------------------------------------------------
// the experiment
// ---------------------------------------------------------------------------------------------

/**
 * Run the experiment (resumable) and write `<figure>.{svg,png,md,json}` and `<figure>-norm.{svg,png}`.
 *
 * @category experiments
 */
export const runGradVariance = async (o: GradVarianceOptions): Promise<E.Either<TmamlError, GradVarianceResult>> => {
  const started = Date.now()
  const log = (s: string) => void process.stderr.write(`${s}\n`)
  const cfg = trainConfig(o)
  if (E.isLeft(cfg)) return cfg
  const snaps = await ensureSnapshots(o, cfg.right, log)
  if (E.isLeft(snaps)) return snaps
  const key = JSON.stringify({
    methods: o.methods.map((m) => [m.label, m.estimator.name, m.cv.name]),
    draws: o.draws,
    tasks: o.tasks,
    rollouts: o.rollouts,
    seed: o.seed
  })
  const sampler = await makeSampler({ workers: o.workers })
  if (E.isLeft(sampler)) return sampler
  const snapshots: { iteration: number; cells: ReadonlyArray<VarianceCell> }[] = []
  let measureSeconds = 0
  try {
    const p = progress(`grad-variance ${o.env}`, snaps.right.length * o.draws)
    for (const it of snaps.right) {
      const file = path.join(o.out, 'variance', `it-${pad(it)}.json`)
      const saved = loadState(file, key, Cells)
      if (saved !== undefined) {
        snapshots.push({ iteration: it, cells: saved.cells })
        measureSeconds += saved.seconds
        p.tick(`it ${it} (saved)`, o.draws)
        continue
      }
      const t0 = Date.now()
      const cells = await measure(o, sampler.right, it, (r) => p.tick(`it ${it} draw ${r + 1}/${o.draws}`))
      if (E.isLeft(cells)) return cells
      const took = (Date.now() - t0) / 1000
      measureSeconds += took
      const s = saveState(file, key, { cells: cells.right, seconds: took })
      if (E.isLeft(s)) return s
      snapshots.push({ iteration: it, cells: cells.right })
    }
    p.done()
  } finally {
    await sampler.right.close()
  }
  const seconds = (Date.now() - started) / 1000
  const first = readCheckpoint(path.join(o.out, 'snapshots', `it-${pad(0)}`))
  const dim = E.isRight(first) ? sizeOf(first.right.state.policy) : NaN
  const trainSeconds = trainingSeconds(path.join(o.out, 'train'))
  const chart = varianceChart(snapshots, 'variance', `${o.env}: per-coordinate variance of the meta-gradient`)
  const normChart = varianceChart(snapshots, 'meanNorm', `${o.env}: norm of the mean of ${o.draws} meta-gradients`)
  const md = [
    `Training run: ${o.trainEstimator} with the meta-learned control variate, ${o.tasks} tasks x ${o.rollouts} episodes per iteration, seed ${o.seed}.`,
    `At each snapshot: ${o.draws} meta-gradients per method (same tasks, fresh episodes; VPG meta-gradient through one inner step).`,
    '',
    'Average per-coordinate variance of one meta-gradient:',
    '',
    varianceTable(snapshots, (c) => c.variance),
    `Norm of the mean of the ${o.draws} draws:`,
    '',
    varianceTable(snapshots, (c) => c.meanNorm),
    'Mean norm of one draw:',
    '',
    varianceTable(snapshots, (c) => c.drawNorm),
    `Signal fraction of one draw: (||mean||^2 - d v / K) / (d v), the estimated ||E g||^2 over the noise ` +
      `E||g - E g||^2 = d v (d = ${dim} parameters, K = ${o.draws}); values near or below 0 mean that ${o.draws} draws cannot tell the mean from noise:`,
    '',
    varianceTable(snapshots, (c) => squaredSignal(c.meanNorm, c.variance, dim, o.draws) / (dim * c.variance)),
    `Compute time (summed over invocations): training ${formatDuration(trainSeconds)} + measurements ${formatDuration(measureSeconds)} = ${formatDuration(trainSeconds + measureSeconds)}; this invocation ${formatDuration(seconds)}.`,
    ''
  ].join('\n')
  const data = {
    experiment: 'grad-variance',
    options: { ...o, methods: o.methods.map((m) => ({ label: m.label, estimator: m.estimator.name, cv: m.cv.name })) },
    parameters: dim,
    snapshots,
    seconds,
    trainSeconds,
    measureSeconds
  }
  const paths = await writeReport(o.figure, chart, md, data, { norm: normChart })
  if (E.isLeft(paths)) return paths
  const { png, svg, table, json } = paths.right
  return E.right({ snapshots, paths: [png, svg, table, json, `${o.figure}-norm.png`, `${o.figure}-norm.svg`], seconds })
}
