/**
 * `tmaml plot <run folders...> [--out path] [--metric returnPost,returnPre] [--x iteration|envSteps]
 *                              [--group-by auto|run|field,...] [--title text]`
 *
 * Learning curves of training runs: runs that differ only in seed form one group, drawn as mean ± std
 * over seeds; written as SVG and PNG (no browser). Progress and a summary go to stderr.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../base/errors.js'
import { type GroupBy, defaultFigurePath, plotLearningCurves, summaryLines } from '../plot/learningCurves.js'
import { flattenLine, metricsFile } from '../plot/readRun.js'
import { choiceFlag, flagOptions, intFlag, parseFlagsWithPositionals } from './flags.js'

const help = `usage: tmaml plot <run folder>... [options]

Plots each run folder's metrics.jsonl: runs that differ only in seed are one group, drawn as the mean
over seeds with a ± 1 std band (a group of one run has no band). Writes <out>.svg and <out>.png.

options:
  --out PATH           figure path without extension (default: inside the run folder for one run,
                       <run>/learning-curves or <run>/<metric>; beside the first folder for several)
  --metric a,b         metrics to plot (default returnPost,returnPre): any recorded number, by its name
                       in metrics.jsonl (evalPost, stats.kl, timings.sample) or a stat's bare name (kl)
  --x FIELD            iteration (default) | envSteps
  --group-by G         auto (default: env, estimator, controlVariate, outer, label; not seed)
                       | run (each folder alone) | field,... (e.g. estimator)
  --title TEXT         chart title
  --width PX           drawing width (default 720; the PNG is twice as wide)
  --height PX          drawing height (default 440)

A bad line of metrics.jsonl is reported as file:line and skipped.
Exit code: 0 figure written; 1 a run folder or its metrics.jsonl is missing, nothing to plot, or the
figure cannot be written; 2 bad usage.`

const fieldName = /^[A-Za-z_$][\w$.-]*$/

/** The numeric fields the first readable line of each run's metrics.jsonl holds (nested ones dotted). */
const recordedFields = (folders: ReadonlyArray<string>): ReadonlySet<string> => {
  const out = new Set<string>()
  for (const f of folders) {
    let text = ''
    try {
      text = readFileSync(join(f, metricsFile), 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n')) {
      try {
        const flat = flattenLine(JSON.parse(line)) as Record<string, unknown>
        for (const [k, v] of Object.entries(flat)) if (typeof v === 'number' || v === null) out.add(k)
        break
      } catch {
        continue
      }
    }
  }
  return out
}

/**
 * Each metric as metrics.jsonl names it: as given when recorded, else the stat or timing of that bare
 * name (`kl` -> `stats.kl`), else as given (the plot then says there is nothing to plot).
 */
const resolveMetrics = (fields: ReadonlySet<string>, metrics: ReadonlyArray<string>): ReadonlyArray<string> =>
  metrics.map((m) => [m, `stats.${m}`, `timings.${m}`].find((c) => fields.has(c)) ?? m)

const fieldList = (
  flag: string,
  value: unknown,
  dflt: ReadonlyArray<string>
): E.Either<string, ReadonlyArray<string>> => {
  if (value === undefined) return E.right(dflt)
  const names = String(value)
    .split(',')
    .map((s) => s.trim())
  const bad = names.find((n) => !fieldName.test(n))
  return bad === undefined
    ? E.right(names)
    : E.left(`--${flag}: got '${String(value)}', expected comma-separated field names (e.g. returnPost,returnPre)`)
}

/** Entry point of `tmaml plot`; returns the exit code. */
export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = parseFlagsWithPositionals(argv, flagOptions('out metric x group-by title width height'), help)
  if (E.isLeft(parsed)) return parsed.left
  const { values, positionals } = parsed.right
  if (positionals.length === 0) {
    console.error(`tmaml plot: give at least one run folder\n\n${help}`)
    return 2
  }
  const groupByRaw = values['group-by']
  const flags = {
    x: choiceFlag('x', values['x'], 'iteration', ['iteration', 'envSteps'] as const),
    metrics: fieldList('metric', values['metric'], ['returnPost', 'returnPre']),
    groupBy:
      groupByRaw === 'auto' || groupByRaw === 'run' || groupByRaw === undefined
        ? E.right<string, GroupBy>(groupByRaw ?? 'auto')
        : fieldList('group-by', groupByRaw, []),
    width: intFlag('width', values['width'], 720, 240, 10_000),
    height: intFlag('height', values['height'], 440, 160, 10_000)
  }
  for (const v of Object.values(flags))
    if (E.isLeft(v)) {
      console.error(`${v.left}\n\n${help}`)
      return 2
    }
  const get = <A>(e: E.Either<string, A>): A => (e as E.Right<A>).right
  const fields = recordedFields(positionals)
  const metrics = resolveMetrics(fields, get(flags.metrics))
  const out =
    typeof values['out'] === 'string'
      ? values['out']
      : positionals.length === 1
        ? join(
            positionals[0],
            values['metric'] === undefined
              ? 'learning-curves'
              : get(flags.metrics)
                  .join('-')
                  .replace(/[^\w.-]/g, '_')
          )
        : defaultFigurePath(positionals)
  const x = get(flags.x)
  const result = await plotLearningCurves(
    positionals,
    out,
    {
      x,
      metrics,
      groupBy: get(flags.groupBy),
      title: typeof values['title'] === 'string' ? values['title'] : undefined,
      width: get(flags.width),
      height: get(flags.height)
    },
    (line) => console.error(line)
  )()
  if (E.isLeft(result)) {
    console.error(`tmaml plot: ${formatError(result.left)}`)
    if (fields.size > 0)
      console.error(
        `recorded: ${[...fields]
          .filter((f) => f !== 'iteration')
          .sort()
          .join(', ')}`
      )
    return 1
  }
  for (const line of summaryLines(result.right, x)) console.error(line)
  console.error(`wrote ${result.right.paths.svg} and ${result.right.paths.png}`)
  return 0
}
