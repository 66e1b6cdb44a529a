/**
 * Writing an experiment's outputs: the figure (`<path>.svg`, `<path>.png`), its table
 * (`<path>.md`) and every number behind them (`<path>.json`), each file written atomically; and
 * small JSON state files that make long experiments resumable.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { type TmamlError, resourceError } from '../base/errors.js'
import { readMetrics, writeAtomic } from '../pipelines/runDir.js'
import type { LineChart, Series } from '../plot/chart.js'
import { seriesStyle } from '../plot/palette.js'
import { type FigurePaths, writeFigure } from '../plot/writeFigure.js'

/** Where a report went. */
export interface ReportPaths extends FigurePaths {
  readonly table: string
  readonly json: string
}

/** Give series distinct colour/dash pairs (the palette has 8 colours; then dashes change). */
export const styled = (series: ReadonlyArray<Series>): ReadonlyArray<Series> =>
  series.map((s, i) => ({ ...s, colour: s.colour ?? seriesStyle(i).colour, dash: s.dash ?? seriesStyle(i).dash }))

const mkdirFor = (file: string): E.Either<TmamlError, void> => {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    return E.right(undefined)
  } catch (err) {
    return E.left(resourceError(file, err instanceof Error ? err.message : String(err)))
  }
}

/**
 * Write a figure, its Markdown table and its data beside each other: `<base>.{svg,png,md,json}`, and
 * each of `more` as `<base>-<suffix>.{svg,png}`.
 *
 * @category io
 */
export const writeReport = async (
  base: string,
  chart: LineChart,
  table: string,
  data: unknown,
  more: Readonly<Record<string, LineChart>> = {}
): Promise<E.Either<TmamlError, ReportPaths>> => {
  const dir = mkdirFor(base + '.md')
  if (E.isLeft(dir)) return dir
  const fig = await writeFigure(base, chart)()
  if (E.isLeft(fig)) return fig
  for (const [suffix, c] of Object.entries(more)) {
    const extra = await writeFigure(`${base}-${suffix}`, c)()
    if (E.isLeft(extra)) return extra
  }
  const t = writeAtomic(base + '.md', table)
  if (E.isLeft(t)) return t
  const j = writeAtomic(base + '.json', JSON.stringify(data, null, 1) + '\n')
  if (E.isLeft(j)) return j
  return E.right({ ...fig.right, table: base + '.md', json: base + '.json' })
}

/**
 * Read a JSON state file written by `saveState`: its value, if the file exists, its `key` equals `key`
 * (the settings that produced it) and the value decodes with `codec`; otherwise undefined (recompute).
 */
export const loadState = <A>(file: string, key: string, codec: t.Type<A, unknown, unknown>): A | undefined => {
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
  const decoded = t.type({ key: t.string, value: codec }).decode(raw)
  return E.isRight(decoded) && decoded.right.key === key ? decoded.right.value : undefined
}

/** Save a value with the key of the settings that produced it (atomically). */
export const saveState = (file: string, key: string, value: unknown): E.Either<TmamlError, void> => {
  const dir = mkdirFor(file)
  if (E.isLeft(dir)) return dir
  return writeAtomic(file, JSON.stringify({ key, value }) + '\n')
}

/**
 * Seconds a training run folder has computed: the sum of its iterations' stage timings
 * (metrics.jsonl), whatever the number of invocations it took. 0 when there are no metrics.
 */
export const trainingSeconds = (dir: string): number => {
  const m = readMetrics(dir)
  if (E.isLeft(m)) return 0
  return m.right.reduce((a, r) => a + Object.values(r.timings ?? {}).reduce((b, x) => b + x, 0), 0)
}
