/**
 * What the page shows of the run folders, as JSON-safe values: each run's config and provenance, the
 * metrics it has recorded, the learning-curve spec (the same `lineChartSpec` as `tmaml plot`) and the
 * timing spec. Everything is read from the folders on each call, so a training run's progress shows.
 *
 * @packageDocumentation
 */
import { readFile, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, formatError, invalidInput } from '../base/errors.js'
import { learningCurveChart, readRuns } from '../plot/learningCurves.js'
import { type ChartSpec, lineChartSpec } from '../plot/lineSpec.js'
import { flattenLine } from '../plot/readRun.js'
import { timingRows, timingSpec } from '../plot/timingSpec.js'

/** A run folder as the page lists it. */
export interface RunSummary {
  readonly id: number
  readonly name: string
  readonly folder: string
  /** config.json, or null when missing or not JSON (then `problems` says why). */
  readonly config: unknown
  /** Where the run came from and where it is: fields of its metrics, its checkpoint, file times. */
  readonly provenance: Readonly<Record<string, string | number | null>>
  readonly iterations: number
  readonly problems: ReadonlyArray<string>
}

const readJson = async (file: string): Promise<E.Either<string, unknown>> => {
  try {
    return E.right(JSON.parse(await readFile(file, 'utf8')))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return E.left(
      code === 'ENOENT'
        ? `no ${basename(file)}`
        : `${basename(file)}: ${err instanceof Error ? err.message : String(err)}`
    )
  }
}

/** The JSON lines of a run's metrics.jsonl (bad lines skipped), each flattened (`stats.kl` ...). */
export const metricsLines = async (folder: string): Promise<ReadonlyArray<Readonly<Record<string, unknown>>>> => {
  const text = await readFile(join(folder, 'metrics.jsonl'), 'utf8').catch(() => '')
  return text.split('\n').flatMap((l) => {
    if (l.trim() === '') return []
    try {
      const j = flattenLine(JSON.parse(l))
      return typeof j === 'object' && j !== null && !Array.isArray(j) ? [j as Record<string, unknown>] : []
    } catch {
      return []
    }
  })
}

const scalar = (v: unknown): string | number | null => (typeof v === 'string' || typeof v === 'number' ? v : null)

/**
 * The page's summary of run folder `id`.
 *
 * @category runs
 */
export const runSummary = async (id: number, folder: string): Promise<RunSummary> => {
  const problems: string[] = []
  const config = await readJson(join(folder, 'config.json'))
  if (E.isLeft(config)) problems.push(config.left)
  const checkpoint = await readJson(join(folder, 'checkpoint.json'))
  const lines = await metricsLines(folder)
  const first = lines[0] ?? {}
  const last = lines[lines.length - 1] ?? {}
  const ck =
    E.isRight(checkpoint) && typeof checkpoint.right === 'object' && checkpoint.right !== null
      ? (checkpoint.right as Record<string, unknown>)
      : {}
  const ckState = (typeof ck['state'] === 'object' && ck['state'] !== null ? ck['state'] : {}) as Record<
    string,
    unknown
  >
  const mtime = await stat(join(folder, 'metrics.jsonl'))
    .then((s) => s.mtime.toISOString())
    .catch(() => null)
  const extra = await readJson(join(folder, 'provenance.json'))
  const provenance: Record<string, string | number | null> = {
    folder,
    env: scalar(first['env']),
    estimator: scalar(first['estimator']),
    controlVariate: scalar(first['controlVariate']),
    outer: scalar(first['outer']),
    seed: scalar(first['seed']),
    'checkpoint format': scalar(ck['format']),
    'checkpoint iteration': scalar(ckState['iteration']),
    'checkpoint env steps': scalar(ckState['envSteps']),
    'last iteration': scalar(last['iteration']),
    'env steps': scalar(last['envSteps']),
    'metrics written': mtime
  }
  if (E.isRight(extra) && typeof extra.right === 'object' && extra.right !== null)
    for (const [k, v] of Object.entries(extra.right)) provenance[k] = scalar(v) ?? JSON.stringify(v)
  return {
    id,
    name: basename(folder.replace(/[\\/]+$/, '')),
    folder,
    config: E.isRight(config) ? config.right : null,
    provenance,
    iterations: new Set(lines.map((l) => l['iteration'])).size,
    problems
  }
}

/**
 * The numeric fields the runs record, for the page's menu: returns first, then the rest by name.
 *
 * @category runs
 */
export const numericFields = async (folders: ReadonlyArray<string>): Promise<ReadonlyArray<string>> => {
  const fields = new Set<string>()
  for (const f of folders)
    for (const l of await metricsLines(f))
      for (const [k, v] of Object.entries(l))
        if ((typeof v === 'number' || v === null) && k !== 'iteration' && k !== 'seed') fields.add(k)
  const first = ['returnPost', 'returnPre', 'evalPost', 'evalPre'].filter((f) => fields.has(f))
  return [...first, ...[...fields].filter((f) => !first.includes(f)).sort()]
}

/** The page's learning curves: the spec, and the number of drawn points per series. */
export interface Curves {
  readonly spec: ChartSpec
  readonly series: ReadonlyArray<{ readonly name: string; readonly points: number }>
}

/**
 * The learning curves of `folders` for `metrics` against `x`: runs differing only in seed are one
 * group, mean ± std over seeds (`learningCurveChart`, as `tmaml plot`).
 *
 * @category runs
 */
export const curves = async (
  folders: ReadonlyArray<string>,
  metrics: ReadonlyArray<string>,
  x: string,
  size: { readonly width: number; readonly height: number }
): Promise<E.Either<TmamlError, Curves>> => {
  const read = await readRuns(folders, { x, metrics })()
  if (E.isLeft(read)) return E.left(invalidInput('curves', read.left.map(formatError).join('; ')))
  const { chart } = learningCurveChart(
    read.right.map((r) => r.run),
    { x, metrics }
  )
  return E.right({
    spec: lineChartSpec(chart, size),
    series: chart.series.map((s) => ({
      name: s.name,
      points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).length
    }))
  })
}

/**
 * The timing stacked bar of one run.
 *
 * @category runs
 */
export const timings = async (
  folder: string,
  size: { readonly width: number; readonly height: number }
): Promise<ChartSpec> => {
  const lines = await metricsLines(folder)
  const rows = timingRows(
    lines.map((l) => ({
      iteration: typeof l['iteration'] === 'number' ? l['iteration'] : NaN,
      timings: (typeof l['timings'] === 'object' && l['timings'] !== null ? l['timings'] : {}) as Record<string, number>
    }))
  )
  return timingSpec(rows, {
    ...size,
    title: `${basename(folder.replace(/[\\/]+$/, ''))}: seconds per iteration, by stage`
  })
}
