/**
 * Sweeps: a base config crossed with a grid of values and a list of seeds, as whole training runs on
 * the BullMQ queue `tmaml:runs` (served by `tmaml worker --runs DIR`). Planning is pure and checks
 * every run's config before anything is enqueued; a run's job id is (sweep, run), so enqueueing the
 * same sweep twice adds nothing.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { Queue } from 'bullmq'
import { decodeWith, invalidInput, resourceError, type TmamlError } from '../base/errors.js'
import { type ExperimentConfig, resolveConfig } from '../pipelines/config.js'
import { connect, waitReady, type RedisTarget } from './connection.js'
import { queueNames, queuePrefix } from './keys.js'
import { RunId } from './wire.js'

export { parseSeeds } from '../base/seeds.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** A run job's data: its sweep, its folder name, and its partial config (checked by the worker again). */
export const RunJobData = t.exact(
  t.type({ v: t.literal(1), sweep: RunId, run: RunId, config: t.UnknownRecord }),
  'RunJobData'
)
export type RunJobData = t.TypeOf<typeof RunJobData>

/** One axis of a grid: a config field (`outerLr`, or `trpo.maxKl` in a section) and its values. */
export interface GridAxis {
  readonly key: string
  readonly values: ReadonlyArray<unknown>
}

/** A planned run: its folder name and full config (its `seed` and grid values set). */
export interface PlannedRun {
  readonly run: string
  readonly config: Readonly<Record<string, unknown>>
  readonly resolved: ExperimentConfig
}

// -------------------------------------------------------------------------------------------------
// parsing and planning
// -------------------------------------------------------------------------------------------------

/** `key=v1,v2,...`; each value is read as JSON when it parses (numbers, booleans), else as a string. */
export const parseGridAxis = (s: string): E.Either<TmamlError, GridAxis> => {
  const m = /^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)?)=(.+)$/.exec(s)
  if (m === null) return E.left(invalidInput('--grid', `'${s}': expected key=v1,v2 (e.g. outerLr=0.001,0.003)`))
  const key = m[1]
  if (key === 'seed' || key === 'runDir' || key === 'workers')
    return E.left(invalidInput('--grid', `${key} is set by the sweep itself (use --seeds for seeds)`))
  const values = m[2].split(',').map((v): unknown => {
    try {
      return JSON.parse(v)
    } catch {
      return v
    }
  })
  return E.right({ key, values })
}

const setField = (cfg: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> => {
  const [a, b] = key.split('.')
  if (b === undefined) return { ...cfg, [a]: value }
  const section = cfg[a]
  return { ...cfg, [a]: { ...(typeof section === 'object' && section !== null ? section : {}), [b]: value } }
}

const safeName = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '')

/**
 * Every run of `base` x grid x seeds, named `<sweep>-<key>=<value>...-s<seed>` (sanitised). A
 * `Left` names the first run whose config is invalid, with the field at fault.
 */
export const planSweep = (
  sweep: string,
  base: Readonly<Record<string, unknown>>,
  grid: ReadonlyArray<GridAxis>,
  seeds: ReadonlyArray<number>
): E.Either<TmamlError, ReadonlyArray<PlannedRun>> => {
  const name = decodeWith(RunId, '--name')(sweep)
  if (E.isLeft(name)) return name
  let combos: ReadonlyArray<ReadonlyArray<readonly [string, unknown]>> = [[]]
  for (const axis of grid) combos = combos.flatMap((c) => axis.values.map((v) => [...c, [axis.key, v] as const]))
  const runs: PlannedRun[] = []
  for (const combo of combos)
    for (const seed of seeds) {
      const config = combo.reduce<Record<string, unknown>>((cfg, [k, v]) => setField(cfg, k, v), { ...base, seed })
      const label = [sweep, ...combo.map(([k, v]) => `${k}=${String(v)}`), `s${seed}`].join('-')
      const run = safeName(label).slice(0, 100)
      const resolved = resolveConfig(config, undefined, `run ${run}`)
      if (E.isLeft(resolved)) return resolved
      if (runs.some((r) => r.run === run))
        return E.left(invalidInput('sweep', `two runs would share the folder name ${run}; shorten the grid values`))
      runs.push({ run, config, resolved: resolved.right })
    }
  return E.right(runs)
}

// -------------------------------------------------------------------------------------------------
// the queue
// -------------------------------------------------------------------------------------------------

/** A run job's id: `<sweep>/<run>`. */
export const runJobId = (sweep: string, run: string): string => `${sweep}/${run}`

const withQueue = async <A>(target: RedisTarget, f: (q: Queue) => Promise<A>): Promise<E.Either<TmamlError, A>> => {
  const conn = connect(target, 'client', 'tmaml-sweep')
  const ready = await waitReady(conn, target, 10_000)
  if (E.isLeft(ready)) {
    conn.disconnect()
    return ready
  }
  const q = new Queue(queueNames.runs, { connection: conn, prefix: queuePrefix })
  q.on('error', () => undefined)
  try {
    return E.right(await f(q))
  } catch (err) {
    return E.left(resourceError(`redis ${target.shown}`, err instanceof Error ? err.message : String(err)))
  } finally {
    await q.close().catch(() => undefined)
    conn.disconnect()
  }
}

/** Enqueue planned runs; resolves to how many were new (a run already on the queue is kept as it is). */
export const enqueueSweep = (
  target: RedisTarget,
  sweep: string,
  runs: ReadonlyArray<PlannedRun>,
  attempts = 3
): Promise<E.Either<TmamlError, number>> =>
  withQueue(target, async (q) => {
    let added = 0
    for (const r of runs) {
      const id = runJobId(sweep, r.run)
      if ((await q.getJobState(id)) !== 'unknown') continue
      const data: RunJobData = { v: 1, sweep, run: r.run, config: r.config }
      await q.add('run', data, { jobId: id, attempts, backoff: { type: 'fixed', delay: 1000 } })
      added++
    }
    return added
  })

/** Where a run stands. */
export interface RunStatus {
  readonly sweep: string
  readonly run: string
  readonly state: string
  /** Iterations done, and of how many (from the worker's progress reports). */
  readonly iteration: number | undefined
  readonly iterations: number | undefined
  /** Times a worker started it (a resumption after a worker died counts). */
  readonly attempts: number
  readonly worker: string | undefined
  readonly failedReason: string | undefined
}

const Progress = t.type({ iteration: t.number, iterations: t.number })

/** Every run on the queue (of `sweep`, or all), by sweep and name. */
export const sweepStatus = (
  target: RedisTarget,
  sweep?: string
): Promise<E.Either<TmamlError, ReadonlyArray<RunStatus>>> =>
  withQueue(target, async (q) => {
    const out: RunStatus[] = []
    for (const state of ['active', 'waiting', 'delayed', 'failed', 'completed'] as const) {
      for (const job of await q.getJobs([state], 0, -1)) {
        const data = RunJobData.decode(job.data)
        if (data._tag === 'Left' || (sweep !== undefined && data.right.sweep !== sweep)) continue
        const p = Progress.decode(job.progress)
        out.push({
          sweep: data.right.sweep,
          run: data.right.run,
          state,
          iteration: p._tag === 'Right' ? p.right.iteration : undefined,
          iterations: p._tag === 'Right' ? p.right.iterations : undefined,
          attempts: job.attemptsStarted,
          worker: typeof job.processedBy === 'string' ? job.processedBy : undefined,
          failedReason: job.failedReason || undefined
        })
      }
    }
    return out.sort((a, b) => (a.sweep === b.sweep ? a.run.localeCompare(b.run) : a.sweep.localeCompare(b.sweep)))
  })
