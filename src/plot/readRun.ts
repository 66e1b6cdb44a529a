/**
 * Reading a training run folder for plotting: `metrics.jsonl`, one JSON object per line, each line
 * validated with io-ts. A bad line is reported (file:line and why) and skipped; a missing folder or
 * file is an error naming the folder.
 *
 * @packageDocumentation
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import * as t from 'io-ts'
import { type TmamlError, fieldIssues, resourceError } from '../base/errors.js'

/** The file a run folder holds its metrics in. */
export const metricsFile = 'metrics.jsonl'

const NonNegativeInt = new t.Type<number, number, unknown>(
  'a non-negative integer',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0,
  (u, c) => (typeof u === 'number' && Number.isSafeInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c)),
  t.identity
)

/** A metric value: a number, or null for "not measured" (JSON has no NaN). */
const MetricValue = t.union([t.number, t.null])

/**
 * The fields every line of `metrics.jsonl` may carry that plotting reads. Other fields are allowed and
 * ignored unless asked for with `metricsLineCodec`.
 */
export const MetricsLine = t.intersection([
  t.type({ iteration: NonNegativeInt }),
  t.partial({
    envSteps: t.number,
    returnPre: MetricValue,
    returnPost: MetricValue,
    seed: t.union([t.number, t.string]),
    estimator: t.string,
    env: t.string,
    controlVariate: t.string,
    outer: t.string,
    label: t.string
  })
])
export type MetricsLine = t.TypeOf<typeof MetricsLine>

/** What to read from each line: the x field (required on every line) and the metrics (number or null). */
export interface MetricsRequest {
  readonly x: string
  readonly metrics: ReadonlyArray<string>
}

/**
 * `MetricsLine` plus the requested x field (a required number) and metrics (optional, number or null).
 *
 * @category codecs
 */
export const metricsLineCodec = (request: MetricsRequest) =>
  t.intersection([
    MetricsLine,
    t.type(request.x === 'iteration' ? {} : { [request.x]: t.number }),
    t.partial(Object.fromEntries(request.metrics.map((m) => [m, MetricValue])))
  ])

/** One iteration of a run: the iteration number and the requested values (NaN where missing or null). */
export interface MetricsRow {
  readonly iteration: number
  readonly values: Readonly<Record<string, number>>
}

/** A run as read: its folder, rows by increasing iteration, and the scalar fields constant over the run. */
export interface Run {
  readonly folder: string
  readonly rows: ReadonlyArray<MetricsRow>
  /** String and number fields with the same value on every valid line (env, estimator, seed ...). */
  readonly fields: Readonly<Record<string, string | number>>
}

/** A line that was skipped, and why. */
export interface LineIssue {
  readonly file: string
  readonly line: number
  readonly message: string
}

/** The result of reading one run: the run, the lines skipped, and the number of valid lines. */
export interface RunRead {
  readonly run: Run
  readonly issues: ReadonlyArray<LineIssue>
  readonly validLines: number
}

const short = (v: unknown): string => {
  const s = v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v))
  return s.length > 40 ? s.slice(0, 37) + '...' : s
}

/**
 * A line with the numbers of its nested records also at top level under dotted names: the trainer
 * writes `{stats: {kl: 0.01}, timings: {sample: 1.2}}`, read as `stats.kl`, `timings.sample`.
 *
 * @category parsing
 */
export const flattenLine = (json: unknown): unknown => {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json
  const out: Record<string, unknown> = { ...json }
  for (const [k, v] of Object.entries(json))
    if (typeof v === 'object' && v !== null && !Array.isArray(v))
      for (const [k2, v2] of Object.entries(v)) if (typeof v2 === 'number' || v2 === null) out[`${k}.${k2}`] = v2
  return out
}

/**
 * Parse the text of a `metrics.jsonl`. Blank lines are ignored; a line that is not JSON or fails the
 * codec is an issue and is skipped. Nested numbers are read under dotted names (`flattenLine`). When an iteration appears more than once (a resumed run re-logs
 * it) the last line wins.
 *
 * @category parsing
 */
export const parseMetrics = (text: string, file: string, folder: string, request: MetricsRequest): RunRead => {
  const codec = metricsLineCodec(request)
  const issues: LineIssue[] = []
  const byIteration = new Map<number, MetricsRow>()
  let fields: Map<string, string | number> | undefined
  let validLines = 0
  const lines = text.split('\n')
  lines.forEach((raw, i) => {
    const line = raw.trim()
    if (line === '') return
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch (err) {
      issues.push({ file, line: i + 1, message: `not JSON (${err instanceof Error ? err.message : String(err)})` })
      return
    }
    const decoded = codec.decode(flattenLine(json))
    if (E.isLeft(decoded)) {
      const why = fieldIssues(decoded.left)
        .map((f) => `${f.path}: got ${short(f.value)}, expected ${f.expected}`)
        .join('; ')
      issues.push({ file, line: i + 1, message: why })
      return
    }
    const obj = decoded.right as Readonly<Record<string, unknown>>
    validLines++
    const values: Record<string, number> = {}
    for (const k of [request.x, ...request.metrics]) {
      const v = obj[k]
      values[k] = typeof v === 'number' ? v : NaN
    }
    byIteration.set(decoded.right.iteration, { iteration: decoded.right.iteration, values })
    const scalars = Object.entries(obj).filter(
      (e): e is [string, string | number] => typeof e[1] === 'string' || typeof e[1] === 'number'
    )
    if (fields === undefined) fields = new Map(scalars)
    else {
      const here = new Map(scalars)
      for (const [k, v] of fields) if (here.get(k) !== v) fields.delete(k)
    }
  })
  const rows = [...byIteration.values()].sort((a, b) => a.iteration - b.iteration)
  return { run: { folder, rows, fields: Object.fromEntries(fields ?? []) }, issues, validLines }
}

/**
 * Read `<folder>/metrics.jsonl`. Left when the folder or the file is missing or unreadable.
 *
 * @category io
 */
export const readRun =
  (folder: string, request: MetricsRequest): TE.TaskEither<TmamlError, RunRead> =>
  async () => {
    const file = join(folder, metricsFile)
    const s = await stat(folder).catch(() => undefined)
    if (s === undefined) return E.left(resourceError(folder, 'no such run folder'))
    if (!s.isDirectory()) return E.left(resourceError(folder, 'not a folder (expected a run folder)'))
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      return E.left(
        resourceError(
          folder,
          code === 'ENOENT'
            ? `no ${metricsFile} in this run folder`
            : `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`
        )
      )
    }
    return E.right(parseMetrics(text, file, folder, request))
  }
