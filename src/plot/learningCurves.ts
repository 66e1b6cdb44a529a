/**
 * Learning curves from training run folders: group runs that differ only in seed, and plot each
 * group's metrics as mean ± std over its runs against iteration or env steps.
 *
 * @example
 * import { plotLearningCurves } from './learningCurves.js'
 * const r = await plotLearningCurves(['runs/a-s1', 'runs/a-s2'], 'runs/learning-curves')()
 *
 * @packageDocumentation
 */
import { basename, dirname, join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { type TmamlError, formatError, invalidInput, resourceError } from '../base/errors.js'
import { aggregate } from './aggregate.js'
import type { Dash, LineChart, Series } from './chart.js'
import { seriesStyle } from './palette.js'
import { type LineIssue, type MetricsRequest, type Run, type RunRead, readRun } from './readRun.js'
import { formatMeanStd, formatNumber } from './renderTable.js'
import { type FigureOptions, type FigurePaths, writeFigure } from './writeFigure.js'

/**
 * How runs are grouped: `'auto'` (runs whose env, estimator, controlVariate, outer and label agree are
 * one group: they differ only in seed), `'run'` (every folder alone), or the fields whose values
 * define a group.
 */
export type GroupBy = 'auto' | 'run' | ReadonlyArray<string>

/** Options of `learningCurveChart` and `plotLearningCurves`. */
export interface CurveOptions {
  /** The x axis field (default 'iteration'). */
  readonly x?: string
  /** Metrics to plot (default returnPost, returnPre). */
  readonly metrics?: ReadonlyArray<string>
  readonly groupBy?: GroupBy
  /** Chart title (default from the env, when all runs share one). */
  readonly title?: string
}

/** Runs grouped for plotting: the legend name and the runs. */
export interface RunGroup {
  readonly name: string
  readonly runs: ReadonlyArray<Run>
}

/** A series' last point, for summaries. */
export interface FinalValue {
  readonly group: string
  readonly metric: string
  readonly x: number
  readonly mean: number
  readonly std: number
  readonly n: number
}

/** The fields that identify a run's setting in `'auto'` grouping; seed is deliberately not one. */
export const identityFields: ReadonlyArray<string> = ['env', 'estimator', 'controlVariate', 'outer', 'label']

const metricNames: Readonly<Record<string, string>> = {
  returnPost: 'post-adaptation',
  returnPre: 'pre-adaptation',
  iteration: 'iteration',
  envSteps: 'env steps'
}
const metricName = (m: string): string => metricNames[m] ?? m
const dashes: ReadonlyArray<Dash> = ['solid', 'dashed', 'dotted']

/** A folder name without its seed part: `halfcheetah-dir-tmaml-s3-20250101T1200` -> `halfcheetah-dir-tmaml`. */
export const folderStem = (folder: string): string => {
  const b = basename(folder.replace(/[\\/]+$/, ''))
  const stem = b.replace(/[-_.](s|seed)[-_=]?\d+([-_.].*)?$/i, '')
  return stem === '' ? b : stem
}

/**
 * Group runs. Groups keep the order of their first run; legend names list the key values that differ
 * between groups (e.g. just the estimator when only it varies).
 *
 * @category grouping
 */
export const groupRuns = (runs: ReadonlyArray<Run>, groupBy: GroupBy = 'auto'): ReadonlyArray<RunGroup> => {
  const keyOf = (r: Run): ReadonlyArray<readonly [string, string]> => {
    if (groupBy === 'run') return [['run', r.folder]]
    if (groupBy === 'auto') {
      const id = identityFields.filter((f) => r.fields[f] !== undefined).map((f) => [f, String(r.fields[f])] as const)
      return id.length > 0 ? id : [['run', folderStem(r.folder)]]
    }
    return groupBy.map((f) => [f, r.fields[f] === undefined ? '?' : String(r.fields[f])] as const)
  }
  const groups = new Map<string, { key: ReadonlyArray<readonly [string, string]>; runs: Run[] }>()
  for (const r of runs) {
    const key = keyOf(r)
    const id = JSON.stringify(key)
    const g = groups.get(id)
    if (g === undefined) groups.set(id, { key, runs: [r] })
    else g.runs.push(r)
  }
  const all = [...groups.values()]
  const fields = [...new Set(all.flatMap((g) => g.key.map(([f]) => f)))]
  const valueOf = (g: (typeof all)[number], f: string) => g.key.find(([k]) => k === f)?.[1]
  const varying = fields.filter((f) => new Set(all.map((g) => valueOf(g, f))).size > 1)
  const display = (f: string, v: string) => (f === 'run' && groupBy === 'run' ? v : f === 'run' ? folderStem(v) : v)
  return all.map((g) => {
    const parts = varying.flatMap((f) => {
      const v = valueOf(g, f)
      return v === undefined ? [] : [display(f, v)]
    })
    const fallback = valueOf(g, 'estimator') ?? valueOf(g, 'label') ?? g.key[g.key.length - 1]?.[1] ?? 'runs'
    return { name: parts.length > 0 ? parts.join(' / ') : display('', fallback), runs: g.runs }
  })
}

/**
 * Warnings about groups: two runs of one group with the same seed (probably the same run twice).
 *
 * @category grouping
 */
export const groupWarnings = (groups: ReadonlyArray<RunGroup>): ReadonlyArray<string> =>
  groups.flatMap((g) => {
    const bySeed = new Map<string, string[]>()
    for (const r of g.runs) {
      if (r.fields['seed'] === undefined) continue
      const s = String(r.fields['seed'])
      bySeed.set(s, [...(bySeed.get(s) ?? []), r.folder])
    }
    return [...bySeed]
      .filter(([, fs]) => fs.length > 1)
      .map(([s, fs]) => `group '${g.name}': ${fs.join(', ')} have the same seed ${s}`)
  })

/**
 * The learning-curve chart of `runs`: per group (one colour) and metric (one dash), the mean over the
 * group's runs at each iteration that has a value, with a ± 1 std band where at least two runs have one. With
 * x = envSteps, a point's x is the runs' mean env steps at that iteration.
 *
 * @category charts
 */
export const learningCurveChart = (
  runs: ReadonlyArray<Run>,
  options: CurveOptions = {}
): {
  readonly chart: LineChart
  readonly groups: ReadonlyArray<RunGroup>
  readonly finals: ReadonlyArray<FinalValue>
} => {
  const x = options.x ?? 'iteration'
  const metrics = options.metrics ?? ['returnPost', 'returnPre']
  const groups = groupRuns(runs, options.groupBy ?? 'auto')
  const series: Series[] = []
  const finals: FinalValue[] = []
  groups.forEach((g, gi) => {
    const xs = aggregate(
      g.runs.flatMap((r) => r.rows.map((row) => ({ group: '', x: row.iteration, y: row.values[x] })))
    )
    const xAt = new Map((xs[0]?.points ?? []).map((p) => [p.x, x === 'iteration' ? p.x : p.mean]))
    metrics.forEach((m, mi) => {
      const agg = aggregate(
        g.runs.flatMap((r) => r.rows.map((row) => ({ group: '', x: row.iteration, y: row.values[m] ?? NaN })))
      )[0]
      if (agg === undefined || agg.points.every((p) => p.n === 0)) return
      // Iterations where no run measured the metric are left out, so a metric recorded every few
      // iterations (held-out evaluation) is one line through its measurements, not scattered dots.
      const points = agg.points
        .filter((p) => p.n > 0)
        .map((p) => {
          const px = xAt.get(p.x) ?? NaN
          return p.n >= 2 ? { x: px, y: p.mean, lo: p.mean - p.std, hi: p.mean + p.std } : { x: px, y: p.mean }
        })
      const name = metrics.length === 1 ? g.name : groups.length === 1 ? metricName(m) : `${g.name}, ${metricName(m)}`
      series.push({ name, points, colour: seriesStyle(gi).colour, dash: dashes[mi % dashes.length] })
      const last = [...agg.points].reverse().find((p) => p.n > 0)
      if (last !== undefined)
        finals.push({ group: g.name, metric: m, x: xAt.get(last.x) ?? NaN, mean: last.mean, std: last.std, n: last.n })
    })
  })
  const envs = new Set(runs.map((r) => r.fields['env']))
  const env = envs.size === 1 ? [...envs][0] : undefined
  const banded = groups.some((g) => g.runs.length > 1)
  const title =
    options.title ??
    `${env === undefined ? 'Learning curves' : `${String(env)}: learning curves`}${banded ? ' (mean ± std over seeds)' : ''}`
  const yLabel = metrics.every((m) => m.startsWith('return')) ? 'average return' : metrics.map(metricName).join(', ')
  return { chart: { title, xLabel: metricName(x), yLabel, xScale: 'linear', series }, groups, finals }
}

/** What `plotLearningCurves` did. */
export interface PlotResult {
  readonly paths: FigurePaths
  readonly groups: ReadonlyArray<RunGroup>
  readonly finals: ReadonlyArray<FinalValue>
  readonly reads: ReadonlyArray<RunRead>
  readonly warnings: ReadonlyArray<string>
}

/** The default figure path for `folders`: `learning-curves` beside the first run folder. */
export const defaultFigurePath = (folders: ReadonlyArray<string>): string =>
  join(dirname(folders[0]?.replace(/[\\/]+$/, '') ?? '.'), 'learning-curves')

/** `file:line: message`. */
export const formatLineIssue = (i: LineIssue): string => `${i.file}:${i.line}: ${i.message}`

/**
 * Read every run folder (all of them, so that every missing one is named), then Left with all the
 * errors, or Right with each run read.
 *
 * @category io
 */
export const readRuns =
  (
    folders: ReadonlyArray<string>,
    request: MetricsRequest
  ): TE.TaskEither<ReadonlyArray<TmamlError>, ReadonlyArray<RunRead>> =>
  async () => {
    const results = await Promise.all(folders.map((f) => readRun(f, request)()))
    const errors = results.flatMap((r) => (E.isLeft(r) ? [r.left] : []))
    return errors.length > 0 ? E.left(errors) : E.right(results.flatMap((r) => (E.isRight(r) ? [r.right] : [])))
  }

/**
 * Read run folders and write their learning curves to `<out>.svg` and `<out>.png`. `onProgress`
 * receives one line per event (a folder read, a skipped line, a warning). Left when a folder is
 * missing (all of them named in one error), nothing can be plotted, or writing fails.
 *
 * @category charts
 */
export const plotLearningCurves =
  (
    folders: ReadonlyArray<string>,
    out: string = defaultFigurePath(folders),
    options: CurveOptions & FigureOptions = {},
    onProgress: (line: string) => void = () => undefined
  ): TE.TaskEither<TmamlError, PlotResult> =>
  async () => {
    if (folders.length === 0) return E.left(invalidInput('plotLearningCurves', 'no run folders given'))
    const x = options.x ?? 'iteration'
    const metrics = options.metrics ?? ['returnPost', 'returnPre']
    const read = await readRuns(folders, { x, metrics })()
    if (E.isLeft(read))
      return E.left(
        read.left.length === 1
          ? read.left[0]
          : resourceError(
              `${read.left.length} run folders`,
              'cannot be read:\n' + read.left.map((e) => `  ${formatError(e)}`).join('\n')
            )
      )
    const warnings: string[] = []
    for (const r of read.right) {
      for (const i of r.issues.slice(0, 10)) onProgress(`${formatLineIssue(i)} (line skipped)`)
      if (r.issues.length > 10)
        onProgress(`${r.issues[0].file}: ... and ${r.issues.length - 10} more bad lines skipped`)
      onProgress(`${r.run.folder}: ${r.validLines} lines, ${r.run.rows.length} iterations`)
      if (r.run.rows.length === 0) warnings.push(`${r.run.folder}: no valid lines`)
      for (const m of metrics)
        if (r.run.rows.length > 0 && r.run.rows.every((row) => !Number.isFinite(row.values[m])))
          warnings.push(`${r.run.folder}: no values of '${m}'`)
    }
    const runs = read.right.map((r) => r.run)
    const { chart, groups, finals } = learningCurveChart(runs, options)
    warnings.push(...groupWarnings(groups))
    for (const w of warnings) onProgress(`warning: ${w}`)
    if (chart.series.length === 0)
      return E.left(
        invalidInput('plot', `nothing to plot: no run has a value of ${metrics.map((m) => `'${m}'`).join(', ')}`)
      )
    const written = await writeFigure(out, chart, options)()
    if (E.isLeft(written)) return written
    return E.right({ paths: written.right, groups, finals, reads: read.right, warnings })
  }

/**
 * One line per group: its runs and seeds, and each metric's final mean ± std.
 *
 * @category utils
 */
export const summaryLines = (r: PlotResult, x = 'iteration'): ReadonlyArray<string> =>
  r.groups.map((g) => {
    const seeds = g.runs.map((run) => run.fields['seed']).filter((s) => s !== undefined)
    const finals = r.finals
      .filter((f) => f.group === g.name)
      .map((f) => `${f.metric} ${formatMeanStd(f.mean, f.std)} at ${metricName(x)} ${formatNumber(f.x, 6)}`)
    const runs = `${g.runs.length} run${g.runs.length === 1 ? '' : 's'}${seeds.length > 0 ? ` (seed ${seeds.join(', ')})` : ''}`
    return `${g.name}: ${runs}${finals.length > 0 ? '; final ' + finals.join(', ') : ''}`
  })
