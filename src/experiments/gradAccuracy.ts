/**
 * Gradient accuracy (paper section 5.3, Fig. 4): on the 1-D point task, how well does each
 * estimator's meta-gradient from n episodes per task correlate with the ground-truth meta-gradient?
 *
 * 1. Policy: a Gaussian MLP with two hidden layers (18-18 tanh: 398 parameters), partially trained by
 *    `tmaml train` (tmaml, linear control variate) in `<out>/policy` — a resumable run folder.
 * 2. Tasks: K goals drawn once from the task distribution; the meta-gradient is their average.
 * 3. Baseline: a fixed linear feature baseline per task, fitted on separate episodes at the policy and
 *    then used unchanged for every draw (so no estimator's baseline depends on its own sample).
 * 4. Ground truth: the mean of the `tmaml` meta-gradient (unbiased at every order, lowest variance)
 *    over M chunks of N episodes per task, with its standard error from the spread of the chunks.
 *    With N large, the sampled inner step is the exact one up to O(alpha^2 Var/N). `dice` is computed
 *    the same way on independent episodes: a check that the ground truth does not depend on the
 *    (unbiased) estimator chosen.
 * 5. For each sample size n and draw r: one draw of every estimator (common episodes), its Pearson
 *    correlation with the ground truth, and, over the R draws, the distance of the draws' mean from
 *    the ground truth against its noise level (a bias detector).
 *
 * Every stage saves its result (`<out>/*.json`), so a killed run continues where it stopped.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { ArrayParams } from '../graph/nn.js'
import { type TmamlError, resourceError } from '../base/errors.js'
import { rngAt } from '../base/rng.js'
import { getEnvSpec } from '../envs/registry.js'
import { dice, tmaml } from '../estimators/builtins.js'
import type { Estimator } from '../estimators/estimator.js'
import { fitLinearBaseline, predictLinearBaseline } from '../pipelines/controlVariates/linearFeature.js'
import { publishedDefaults } from '../pipelines/config.js'
import {
  type ControlVariateKind,
  perState,
  statelessControlVariate
} from '../pipelines/controlVariates/controlVariate.js'
import { keysOf, sizeOf } from '../pipelines/optim/params.js'
import type { PolicySpec } from '../pipelines/policy.js'
import { readCheckpoint, writeAtomic } from '../pipelines/runDir.js'
import { makeSampler } from '../pipelines/sampler/index.js'
import type { Sampler } from '../pipelines/sampler/types.js'
import { meanStd } from '../plot/aggregate.js'
import type { LineChart, Series } from '../plot/chart.js'
import { formatMeanStd, formatNumber, renderTable } from '../plot/renderTable.js'
import { type DrawRequest, drawMetaGradients } from './metaGradients.js'
import { type Progress, formatDuration, progress } from './progress.js'
import { type ReportPaths, loadState, saveState, styled, trainingSeconds, writeReport } from './report.js'
import { type DrawSummary, norm, pearson, summariseDraws } from './stats.js'
import type { TrainRunner } from './trainRunner.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The settings of the experiment (the CLI's flags). */
export interface GradAccuracyOptions {
  /** Runs `tmaml train` in this process (the CLI supplies it). */
  readonly runner: TrainRunner
  /** Working folder: the policy's run folder, the ground truth, the draws. */
  readonly out: string
  /** Base path of the figure and table (`.svg`, `.png`, `.md`, `.json`). */
  readonly figure: string
  readonly seed: number
  readonly estimators: ReadonlyArray<Estimator>
  /** Episodes per task of one estimate (pre-update and post-update each). */
  readonly sizes: ReadonlyArray<number>
  /** Independent draws per sample size. */
  readonly draws: number
  /** Tasks (goals) of the meta-gradient. */
  readonly tasks: number
  readonly hidden: ReadonlyArray<number>
  readonly innerLr: number
  /** Partial training of the policy: iterations, tasks x rollouts per iteration, Adam step. */
  readonly train: {
    readonly iterations: number
    readonly tasks: number
    readonly rollouts: number
    readonly outerLr: number
  }
  /** Ground truth: chunks x episodes per task per chunk. */
  readonly gtChunks: number
  readonly gtChunkEpisodes: number
  /** Episodes per task the fixed baseline is fitted on. */
  readonly baselineEpisodes: number
  /** Sampler worker threads (0: the main thread). */
  readonly workers: number
}

/** The ground truth and how good it is. */
export interface GroundTruth {
  readonly vector: ReadonlyArray<number>
  /** Standard error of each coordinate (spread of the chunk means / sqrt(chunks)). */
  readonly se: ReadonlyArray<number>
  readonly chunks: number
  readonly episodesPerTask: number
  /** sqrt(sum se^2) / ||ground truth||. */
  readonly relativeSe: number
  /** The correlation of the ground truth with the mean of `dice` over as many independent episodes. */
  readonly diceCorrelation: number
  /** The relative standard error of that `dice` mean. */
  readonly diceRelativeSe: number
  /** Compute time spent on it (summed over invocations). */
  readonly seconds: number
}

/** One estimator at one sample size. */
export interface SizeResult {
  readonly label: string
  /** Per draw: Pearson correlation with the ground truth over all parameters (the paper's measure). */
  readonly correlations: ReadonlyArray<number>
  /** Per draw: the same over the mean network's parameters only (log-std excluded). */
  readonly correlationsNet: ReadonlyArray<number>
  readonly summary: DrawSummary
}

/** What the experiment produced. */
export interface GradAccuracyResult {
  readonly groundTruth: GroundTruth
  readonly parameters: number
  readonly trainReturn: number
  readonly bySize: ReadonlyArray<{ readonly n: number; readonly results: ReadonlyArray<SizeResult> }>
  readonly paths: ReportPaths
  readonly seconds: number
}

// codecs of the state files (written by this module; checked when read back)
const Nums = t.array(t.number)
const GtAccumulator = t.type({
  done: t.number,
  seconds: t.number,
  sum: t.array(Nums),
  sumSq: t.array(Nums)
})
type GtAccumulator = t.TypeOf<typeof GtAccumulator>
// JSON has no NaN: state files spell it null.
const Num = t.union([t.number, t.null])
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null)
const nanIfNull = (x: number | null): number => x ?? NaN
const SizeResultC = t.type({
  label: t.string,
  correlations: t.array(Num),
  correlationsNet: t.array(Num),
  summary: t.type({
    draws: t.number,
    variance: Num,
    meanNorm: Num,
    relativeBias: Num,
    relativeBiasSe: Num,
    meanCorrelation: Num
  })
})
const SizeResults = t.type({ results: t.array(SizeResultC), seconds: t.number })
type SizeResultJson = t.TypeOf<typeof SizeResultC>

const toJson = (r: SizeResult): SizeResultJson => ({
  label: r.label,
  correlations: r.correlations.map(finiteOrNull),
  correlationsNet: r.correlationsNet.map(finiteOrNull),
  summary: {
    draws: r.summary.draws,
    variance: finiteOrNull(r.summary.variance),
    meanNorm: finiteOrNull(r.summary.meanNorm),
    relativeBias: finiteOrNull(r.summary.relativeBias),
    relativeBiasSe: finiteOrNull(r.summary.relativeBiasSe),
    meanCorrelation: finiteOrNull(r.summary.meanCorrelation)
  }
})
const fromJson = (r: SizeResultJson): SizeResult => ({
  label: r.label,
  correlations: r.correlations.map(nanIfNull),
  correlationsNet: r.correlationsNet.map(nanIfNull),
  summary: {
    draws: r.summary.draws,
    variance: nanIfNull(r.summary.variance),
    meanNorm: nanIfNull(r.summary.meanNorm),
    relativeBias: nanIfNull(r.summary.relativeBias),
    relativeBiasSe: nanIfNull(r.summary.relativeBiasSe),
    meanCorrelation: nanIfNull(r.summary.meanCorrelation)
  }
})

// ---------------------------------------------------------------------------------------------
// stages
// ---------------------------------------------------------------------------------------------

const envId = 'point1d'

/** Partially train the policy with `tmaml train` (resumable), then read its parameters. */
const trainPolicy = async (
  o: GradAccuracyOptions,
  log: (s: string) => void
): Promise<E.Either<TmamlError, { readonly policy: ArrayParams; readonly lastReturn: number }>> => {
  const dir = path.join(o.out, 'policy')
  const ck = readCheckpoint(dir)
  if (E.isRight(ck) && ck.right.state.iteration >= o.train.iterations) {
    log(`policy: ${dir} is trained (${ck.right.state.iteration} iterations)`)
  } else {
    let argv: ReadonlyArray<string>
    if (E.isRight(ck)) argv = ['--resume', dir, '--iterations', String(o.train.iterations)]
    else {
      fs.mkdirSync(dir, { recursive: true })
      const cfgFile = path.join(o.out, 'policy-config.json')
      const cfg = {
        env: envId,
        estimator: 'tmaml',
        controlVariate: 'linear',
        hidden: o.hidden,
        tasksPerBatch: o.train.tasks,
        rolloutsPerTask: o.train.rollouts,
        iterations: o.train.iterations,
        outerLr: o.train.outerLr,
        innerLr: o.innerLr,
        seed: o.seed,
        workers: o.workers,
        evalEvery: 0,
        checkpointEvery: Math.max(1, Math.ceil(o.train.iterations / 10))
      }
      const w = writeAtomic(cfgFile, JSON.stringify(cfg, null, 2) + '\n')
      if (E.isLeft(w)) return w
      argv = ['--config', cfgFile, '--run-dir', dir]
    }
    log(`policy: tmaml train ${argv.join(' ')}`)
    const code = await o.runner.inProcess(argv)
    if (code !== 0)
      return E.left(resourceError('grad-accuracy', `training the policy failed (exit ${code}); see above`))
  }
  const done = readCheckpoint(dir)
  if (E.isLeft(done)) return done
  let lastReturn = NaN
  try {
    const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
    const last = JSON.parse(lines[lines.length - 1]) as { returnPost?: unknown }
    if (typeof last.returnPost === 'number') lastReturn = last.returnPost
  } catch {
    // the return is only reported
  }
  return E.right({ policy: done.right.state.policy, lastReturn })
}

/**
 * A control variate of this experiment: per task, a linear feature baseline fitted once on separate
 * episodes at the policy (so every draw's inner and outer steps use the same b).
 */
const fixedBaselines = async (
  sampler: Sampler,
  o: GradAccuracyOptions,
  spec: PolicySpec,
  horizon: number,
  tasks: ReadonlyArray<unknown>,
  theta: ArrayParams
): Promise<E.Either<TmamlError, ControlVariateKind>> => {
  const r = await sampler.sample({
    envId,
    tasks,
    episodesPerTask: o.baselineEpisodes,
    horizon,
    policy: spec,
    params: [theta],
    seed: o.seed,
    stream: ['accuracy', 'baseline']
  })
  if (E.isLeft(r)) return r
  const fits = r.right.map((b) => fitLinearBaseline(b, 0.99))
  return E.right(
    statelessControlVariate({
      name: 'linear-fixed',
      description: `linear feature baselines fitted once per task on ${o.baselineEpisodes} separate episodes`,
      shape: 'per-state',
      baselines: ({ tasks }) => E.right(tasks.map(({ batch }, k) => perState(predictLinearBaseline(fits[k], batch))))
    })
  )
}

/**
 * The coordinates of the mean network (every parameter but `logStd`) of a flattened parameter vector:
 * the log-std gradient is one coordinate of ~400 but often the largest, and dominates a correlation
 * over all parameters.
 *
 * @category utils
 */
export const netCoordinates = (like: ArrayParams): ((v: ArrayLike<number>) => ReadonlyArray<number>) => {
  const keep: number[] = []
  let o = 0
  for (const k of keysOf(like)) {
    const n = like[k].values.length
    if (k !== 'logStd') for (let i = 0; i < n; i++) keep.push(o + i)
    o += n
  }
  return (v) => keep.map((i) => v[i])
}

const settingsKey = (o: GradAccuracyOptions, part: Record<string, unknown>): string =>
  JSON.stringify({
    seed: o.seed,
    tasks: o.tasks,
    hidden: o.hidden,
    innerLr: o.innerLr,
    train: o.train,
    baselineEpisodes: o.baselineEpisodes,
    ...part
  })

/** A draw's request for these estimators, episodes per task and stream. */
type RequestFor = (
  estimators: ReadonlyArray<Estimator>,
  episodes: number,
  stream: ReadonlyArray<string | number>
) => DrawRequest

/** The ground truth: the mean of tmaml (and dice, as a check) over M chunks, resumable per chunk. */
const groundTruth = async (
  o: GradAccuracyOptions,
  request: RequestFor,
  p: Progress
): Promise<E.Either<TmamlError, GroundTruth>> => {
  const file = path.join(o.out, 'ground-truth.json')
  const key = settingsKey(o, { chunk: o.gtChunkEpisodes })
  // tmaml, and dice on its own (independent) episodes: an unbiased check that shares no noise with it
  const methods: ReadonlyArray<readonly [Estimator, string]> = [
    [tmaml, 'gt'],
    [dice, 'gt-dice']
  ]
  let acc: GtAccumulator = loadState(file, key, GtAccumulator) ?? { done: 0, seconds: 0, sum: [], sumSq: [] }
  if (acc.done > 0) {
    p.log(`ground truth: ${acc.done} of ${o.gtChunks} chunks saved`)
    p.tick('ground truth (saved)', Math.min(acc.done, o.gtChunks))
  }
  for (let c = acc.done; c < o.gtChunks; c++) {
    const t0 = Date.now()
    const g: Float32Array[] = []
    for (const [m, stream] of methods) {
      const d = await drawMetaGradients(request([m], o.gtChunkEpisodes, ['accuracy', stream, c]))
      if (E.isLeft(d)) return d
      g.push(d.right[0])
    }
    const sum = g.map((v, m) => Array.from(v, (x, i) => (acc.sum[m]?.[i] ?? 0) + x))
    const sumSq = g.map((v, m) => Array.from(v, (x, i) => (acc.sumSq[m]?.[i] ?? 0) + x * x))
    acc = { done: c + 1, seconds: acc.seconds + (Date.now() - t0) / 1000, sum, sumSq }
    const s = saveState(file, key, acc)
    if (E.isLeft(s)) return s
    p.tick(`ground truth chunk ${c + 1}/${o.gtChunks}`)
  }
  const M = Math.min(acc.done, o.gtChunks)
  const stats = (m: number) => {
    const meanV = acc.sum[m].map((s) => s / M)
    const se = acc.sumSq[m].map((q, i) => Math.sqrt(Math.max(0, (q - M * meanV[i] ** 2) / (M - 1)) / M))
    return { meanV, se, rel: norm(se) / norm(meanV) }
  }
  const gt = stats(0)
  const d = stats(1)
  return E.right({
    vector: gt.meanV,
    se: gt.se,
    chunks: M,
    episodesPerTask: M * o.gtChunkEpisodes,
    relativeSe: gt.rel,
    seconds: acc.seconds,
    diceCorrelation: pearson(d.meanV, gt.meanV),
    diceRelativeSe: d.rel
  })
}

/** R draws of every estimator at n episodes per task, summarised against the ground truth. */
const atSize = async (
  o: GradAccuracyOptions,
  n: number,
  gt: GroundTruth,
  net: (v: ArrayLike<number>) => ReadonlyArray<number>,
  request: RequestFor,
  p: Progress
): Promise<E.Either<TmamlError, { readonly results: ReadonlyArray<SizeResult>; readonly seconds: number }>> => {
  const t0 = Date.now()
  const file = path.join(o.out, `draws-n${n}.json`)
  const key = settingsKey(o, {
    n,
    draws: o.draws,
    estimators: o.estimators.map((e) => e.name),
    gt: [o.gtChunks, o.gtChunkEpisodes]
  })
  const saved = loadState(file, key, SizeResults)
  if (saved !== undefined) {
    p.tick(`n=${n} (saved)`, o.draws)
    return E.right({ results: saved.results.map(fromJson), seconds: saved.seconds })
  }
  const vectors: Float32Array[][] = o.estimators.map(() => [])
  for (let r = 0; r < o.draws; r++) {
    const g = await drawMetaGradients(request(o.estimators, n, ['accuracy', n, r]))
    if (E.isLeft(g)) return g
    g.right.forEach((v, m) => vectors[m].push(v))
    p.tick(`n=${n} draw ${r + 1}/${o.draws}`)
  }
  const results = o.estimators.map((e, i) => ({
    label: e.name,
    correlations: vectors[i].map((v) => pearson(v, gt.vector)),
    correlationsNet: vectors[i].map((v) => pearson(net(v), net(gt.vector))),
    summary: summariseDraws(vectors[i], gt.vector)
  }))
  const seconds = (Date.now() - t0) / 1000
  const s = saveState(file, key, { results: results.map(toJson), seconds })
  return E.isLeft(s) ? s : E.right({ results, seconds })
}

// ---------------------------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------------------------

/**
 * The figure: mean Pearson correlation with the ground truth against episodes per task (log x), one
 * line per estimator, band ± 1 standard error of the mean over draws.
 *
 * @category report
 */
export const accuracyChart = (
  bySize: ReadonlyArray<{ readonly n: number; readonly results: ReadonlyArray<SizeResult> }>,
  title: string,
  field: 'correlations' | 'correlationsNet' = 'correlations',
  gap = false
): LineChart => {
  const labels = bySize[0]?.results.map((r) => r.label) ?? []
  // gap: 1 - r on a log axis, which separates the estimators whose correlations are all near 1
  const f = (y: number): number => (gap ? 1 - y : y)
  const series: Series[] = labels.map((label) => ({
    name: label,
    points: bySize.map(({ n, results }) => {
      const s = meanStd(results.find((r) => r.label === label)?.[field] ?? [])
      const half = s.n >= 2 ? s.std / Math.sqrt(s.n) : NaN
      return Number.isFinite(half)
        ? {
            x: n,
            y: f(s.mean),
            lo: Math.min(f(s.mean - half), f(s.mean + half)),
            hi: Math.max(f(s.mean - half), f(s.mean + half))
          }
        : { x: n, y: f(s.mean) }
    })
  }))
  const what = field === 'correlations' ? 'correlation with ground truth' : 'correlation, log-std excluded'
  return {
    title,
    xLabel: 'episodes per task (pre- and post-update each)',
    yLabel: gap ? `1 - ${what}` : what,
    xScale: 'log',
    yScale: gap ? 'log' : 'linear',
    series: styled(series)
  }
}

/**
 * The tables: correlation mean ± std per size (all parameters; mean network only); the bias check per
 * size: the relative distance of the draws' mean from the ground truth, with the distance expected from
 * noise alone, sqrt(se_draws^2 + se_gt^2) relative to the ground truth's norm.
 *
 * @category report
 */
export const accuracyTables = (
  bySize: ReadonlyArray<{ readonly n: number; readonly results: ReadonlyArray<SizeResult> }>,
  gtRelativeSe: number
): { readonly correlation: string; readonly correlationNet: string; readonly bias: string } => {
  const labels = bySize[0]?.results.map((r) => r.label) ?? []
  const columns = ['estimator', ...bySize.map(({ n }) => `n=${n}`)]
  const cell = (label: string, f: (r: SizeResult) => string) =>
    Object.fromEntries([
      ['estimator', label],
      ...bySize.map(({ n, results }) => {
        const r = results.find((x) => x.label === label)
        return [`n=${n}`, r === undefined ? '' : f(r)]
      })
    ])
  const corr = (field: 'correlations' | 'correlationsNet') =>
    renderTable(
      labels.map((l) =>
        cell(l, (r) => {
          const s = meanStd(r[field])
          return formatMeanStd(s.mean, s.std)
        })
      ),
      { columns }
    )
  const correlation = corr('correlations')
  const correlationNet = corr('correlationsNet')
  const bias = renderTable(
    labels.map((l) =>
      cell(
        l,
        (r) =>
          `${formatNumber(r.summary.relativeBias, 2)} (${formatNumber(Math.hypot(r.summary.relativeBiasSe, gtRelativeSe), 2)})`
      )
    ),
    { columns }
  )
  return { correlation, correlationNet, bias }
}

// ---------------------------------------------------------------------------------------------
// the experiment
// ---------------------------------------------------------------------------------------------

/**
 * Run the experiment (resumable) and write `<figure>.{svg,png,md,json}`.
 *
 * @category experiments
 */
export const runGradAccuracy = async (o: GradAccuracyOptions): Promise<E.Either<TmamlError, GradAccuracyResult>> => {
  const started = Date.now()
  const env = getEnvSpec(envId)
  if (E.isLeft(env)) return env
  const log = (s: string) => void process.stderr.write(`${s}\n`)
  const trained = await trainPolicy(o, log)
  if (E.isLeft(trained)) return trained
  const theta = trained.right.policy
  const spec: PolicySpec = { obsDim: env.right.obsDim, actDim: env.right.actDim, hidden: o.hidden, activation: 'tanh' }
  const tasks = env.right.sampleTasks(rngAt(o.seed, 'accuracy-tasks'), o.tasks)
  const horizon = env.right.horizon
  const sampler = await makeSampler({ workers: o.workers })
  if (E.isLeft(sampler)) return sampler
  try {
    const baseline = await fixedBaselines(sampler.right, o, spec, horizon, tasks, theta)
    if (E.isLeft(baseline)) return baseline
    const b = baseline.right
    const request: RequestFor = (estimators, episodes, stream) => ({
      sampler: sampler.right,
      envId,
      horizon,
      policy: spec,
      seed: o.seed,
      tasks,
      episodes,
      theta,
      methods: estimators.map((estimator) => ({ label: estimator.name, estimator, cv: b })),
      stream,
      innerLr: o.innerLr,
      gamma: 0.99,
      normalizeAdvantages: true,
      settings: publishedDefaults,
      cvStream: ['accuracy-cv'],
      outerBaseline: b
    })
    log(
      `grad-accuracy: ${sizeOf(theta)} parameters, ${o.tasks} tasks (goals ${tasks
        .map((x) => formatNumber((x as { goal: number }).goal, 2))
        .join(', ')}), inner lr ${o.innerLr}; ground truth ${o.gtChunks} x ${o.gtChunkEpisodes} episodes per task; ` +
        `${o.estimators.length} estimators x ${o.sizes.length} sizes x ${o.draws} draws`
    )
    const p = progress('grad-accuracy', o.gtChunks + o.sizes.length * o.draws)
    const gt = await groundTruth(o, request, p)
    if (E.isLeft(gt)) return gt
    p.log(
      `ground truth: ${gt.right.episodesPerTask} episodes per task, relative standard error ${formatNumber(gt.right.relativeSe, 3)}; ` +
        `dice on independent episodes: correlation ${formatNumber(gt.right.diceCorrelation, 4)} (its relative s.e. ${formatNumber(gt.right.diceRelativeSe, 3)})`
    )
    const net = netCoordinates(theta)
    const bySize: { n: number; results: ReadonlyArray<SizeResult> }[] = []
    let drawSeconds = 0
    for (const n of o.sizes) {
      const r = await atSize(o, n, gt.right, net, request, p)
      if (E.isLeft(r)) return r
      bySize.push({ n, results: r.right.results })
      drawSeconds += r.right.seconds
    }
    p.done()
    const seconds = (Date.now() - started) / 1000
    const trainSeconds = trainingSeconds(path.join(o.out, 'policy'))
    const computeSeconds = trainSeconds + gt.right.seconds + drawSeconds
    const chart = accuracyChart(bySize, 'point1d: Pearson correlation with the ground truth (± s.e.)')
    const chartGap = accuracyChart(
      bySize,
      'point1d: 1 - correlation with the ground truth (± s.e.)',
      'correlations',
      true
    )
    const chartNet = accuracyChart(bySize, 'point1d: correlation, log-std excluded (± s.e.)', 'correlationsNet')
    const tables = accuracyTables(bySize, gt.right.relativeSe)
    const g = gt.right
    const logStdShare = 1 - norm(net(g.vector)) ** 2 / norm(g.vector) ** 2
    const md = [
      `Ground truth: mean of the \`tmaml\` meta-gradient over ${g.chunks} chunks x ${o.gtChunkEpisodes} episodes per task ` +
        `(${g.episodesPerTask} pre-update + ${g.episodesPerTask} post-update episodes per task, ${o.tasks} tasks); ` +
        `relative standard error ${formatNumber(g.relativeSe, 2)}. \`dice\` on as many independent episodes: correlation ` +
        `${formatNumber(g.diceCorrelation, 4)} with it (relative s.e. ${formatNumber(g.diceRelativeSe, 2)}).`,
      `Policy: ${sizeOf(theta)} parameters, after ${o.train.iterations} training iterations (last post-update return ${formatNumber(trained.right.lastReturn, 3)}). Inner lr ${o.innerLr}.`,
      `The log-std coordinate carries ${formatNumber(100 * logStdShare, 3)}% of the ground truth's squared norm.`,
      '',
      `Pearson correlation with the ground truth, mean ± std over ${o.draws} draws (n = episodes per task):`,
      '',
      tables.correlation,
      `Correlation over the mean network's ${sizeOf(theta) - (theta['logStd']?.values.length ?? 0)} parameters (log-std excluded), mean ± std over draws:`,
      '',
      tables.correlationNet,
      `Bias check: ||mean of the ${o.draws} draws - ground truth|| / ||ground truth||, and in brackets the value expected from noise alone for an unbiased estimator (the draws' standard error and the ground truth's, combined):`,
      '',
      tables.bias,
      `Compute time (summed over invocations): ${formatDuration(computeSeconds)} = training ${formatDuration(trainSeconds)} + ground truth ${formatDuration(gt.right.seconds)} + draws ${formatDuration(drawSeconds)}; this invocation ${formatDuration(seconds)}.`,
      ''
    ].join('\n')
    const data = {
      experiment: 'grad-accuracy',
      options: { ...o, estimators: o.estimators.map((e) => e.name) },
      parameters: sizeOf(theta),
      tasks,
      trainReturn: finiteOrNull(trained.right.lastReturn),
      groundTruth: g,
      bySize: bySize.map(({ n, results }) => ({
        n,
        results: results.map(toJson)
      })),
      seconds,
      computeSeconds
    }
    const paths = await writeReport(o.figure, chart, md, data, { net: chartNet, gap: chartGap })
    if (E.isLeft(paths)) return paths
    return E.right({
      groundTruth: g,
      parameters: sizeOf(theta),
      trainReturn: trained.right.lastReturn,
      bySize,
      paths: paths.right,
      seconds
    })
  } finally {
    await sampler.right.close()
  }
}
