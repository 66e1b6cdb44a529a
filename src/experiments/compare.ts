/**
 * Method comparison (paper section 5.4, Fig. 3 and Table 1): one `tmaml train` run folder per
 * (method, seed) under `<out>`, every run with the same sample budget (tasks x rollouts x horizon per
 * iteration, the same number of iterations), run as child processes `parallel` at a time.
 *
 * Resumable: a run whose checkpoint is at the last iteration is skipped, one with an earlier
 * checkpoint is continued (`tmaml train --resume`), others start fresh. Re-running the same command
 * after a kill therefore finishes the job; re-running it with more --iterations extends every run.
 *
 * Output: learning curves (post-update return, mean ± std over seeds, optionally smoothed) and a
 * table in the form of the paper's Table 1 — the final return per method, mean ± std over seeds,
 * where a run's final return is the mean post-update return of its last `final` iterations.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, invalidInput, resourceError } from '../base/errors.js'
import {
  type ExperimentConfig,
  type OuterAlgorithm,
  encodeConfig,
  publishedDefaults,
  resolveConfig
} from '../pipelines/config.js'
import { getEnvSpec } from '../envs/registry.js'
import { estimateFootprint, formatBytes, memoryLimit } from '../pipelines/footprint.js'
import { type FailureRecord, failureFile, readCheckpoint, readFailure, writeAtomic } from '../pipelines/runDir.js'
import { meanStd } from '../plot/aggregate.js'
import type { LineChart, Series } from '../plot/chart.js'
import { readRun } from '../plot/readRun.js'
import { formatMeanStd, formatNumber, renderTable } from '../plot/renderTable.js'
import type { Method } from './metaGradients.js'
import { formatDuration } from './progress.js'
import { styled, trainingSeconds, writeReport } from './report.js'
import type { TrainRunner } from './trainRunner.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The settings of the experiment (the CLI's flags). */
export interface CompareOptions {
  readonly env: string
  readonly methods: ReadonlyArray<Method>
  /** The seeds each method runs with (the CLI: 1..N, or a list). */
  readonly seeds: ReadonlyArray<number>
  readonly iterations: number
  readonly parallel: number
  readonly tasks: number
  readonly rollouts: number
  /** 0: the env's default. */
  readonly horizon: number
  readonly outer: OuterAlgorithm
  readonly outerLr: number
  readonly innerLr: number
  /** Sampler threads per run. */
  readonly workers: number
  /** Iterations averaged for a run's final return. */
  readonly final: number
  /** Moving-average window of the plotted curves. */
  readonly smooth: number
  readonly out: string
  readonly figure: string
  /** The backend setting of the runs (`auto` or a backend name). */
  readonly backend: string
  /**
   * What every run's config is merged over (default: the published hyperparameters): the fields the
   * options above set come from them, every other field (discount, trust region, exploration, ...)
   * from here. The CLI's `--config FILE`.
   */
  readonly base?: ExperimentConfig
  /** Runs `tmaml train` (here: as child processes; the CLI supplies it). */
  readonly runner: TrainRunner
  /**
   * Least time between two progress lines (default 10 s; a run's first iteration is always
   * reported, so even short runs show their pace before they finish).
   */
  readonly progressEveryMs?: number
  /** The memory all runs together may use, in bytes (default `memoryLimit()`: the machine's). */
  readonly memoryLimit?: number
  /**
   * Run nothing: report the run folders as they are, every curve cut to the iterations the least
   * advanced run has (a long comparison looked at before it ends; runs that stopped on a failure a
   * re-run would repeat are left out, as in every report). The CLI's `--report`.
   */
  readonly reportOnly?: boolean
  /**
   * When it aborts: start no more runs, ask each running one to stop after its current iteration
   * (its checkpoint is then the last iteration it finished), wait for them, and return a Left that
   * says so.
   * The CLI aborts it on SIGINT, SIGTERM or SIGHUP.
   */
  readonly stop?: AbortSignal
}

/** One (method, seed) run. */
export interface RunSpec {
  readonly method: Method
  readonly seed: number
  readonly dir: string
  readonly config: ExperimentConfig
}

/**
 * A run's state on disk: not started, continued from its checkpoint's iteration, done, or stopped on
 * a failure that continuing would repeat (`failure.json`: a numerical one, every random number being
 * a function of the seed), which is reported, not re-run.
 */
export type RunStatus =
  | { readonly _tag: 'Fresh' }
  | { readonly _tag: 'Partial'; readonly at: number }
  | { readonly _tag: 'Done' }
  | { readonly _tag: 'Failed'; readonly failure: FailureRecord }

/** The statuses of runs that train in an invocation. */
type Runnable = Extract<RunStatus, { readonly _tag: 'Fresh' | 'Partial' }>

/** One method's line in the final table. */
export interface FinalRow {
  readonly method: string
  readonly finals: ReadonlyArray<number>
  readonly mean: number
  readonly std: number
  readonly iterations: number
  /** Its runs left out because they stopped on a failure a re-run would repeat (`CompareResult.failed`). */
  readonly failed: number
}

/** A run that stopped on a failure a re-run would repeat: left out of the curves and the table's means. */
export interface FailedRun {
  readonly run: string
  readonly method: string
  readonly failure: FailureRecord
}

export interface CompareResult {
  readonly table: ReadonlyArray<FinalRow>
  /** The runs left out (each said in the table): none when every run trained to the end. */
  readonly failed: ReadonlyArray<FailedRun>
  readonly paths: ReadonlyArray<string>
  readonly seconds: number
}

// ---------------------------------------------------------------------------------------------
// runs
// ---------------------------------------------------------------------------------------------

/** `seeds 1..3` for a leading run of integers from 1, else `seeds 2, 5`. */
const seedsText = (seeds: ReadonlyArray<number>): string =>
  seeds.length > 1 && seeds.every((x, i) => x === i + 1) ? `seeds 1..${seeds.length}` : `seeds ${seeds.join(', ')}`

/** `tmaml-meta` style folder-safe label. */
const slug = (label: string): string => label.replace(/[^A-Za-z0-9.()-]+/g, '-')

/** Every (method, seed) run with its resolved config. Left: a config error (names the field). */
export const planRuns = (o: CompareOptions): E.Either<TmamlError, ReadonlyArray<RunSpec>> => {
  const out: RunSpec[] = []
  for (const method of o.methods)
    for (const seed of o.seeds) {
      const dir = path.join(o.out, `${slug(method.label)}-s${seed}`)
      const config = resolveConfig(
        {
          env: o.env,
          estimator: method.estimator.name,
          controlVariate: method.cv.name,
          outer: o.outer,
          tasksPerBatch: o.tasks,
          rolloutsPerTask: o.rollouts,
          horizon: o.horizon,
          iterations: o.iterations,
          innerLr: o.innerLr,
          outerLr: o.outerLr,
          seed,
          workers: o.workers,
          // Runs side by side share the cores: each run's kernels stay on its main thread.
          kernelThreads: o.parallel > 1 ? 1 : 0,
          evalEvery: 0,
          checkpointEvery: Math.max(1, Math.min(10, Math.round(o.iterations / 20))),
          backend: o.backend,
          runDir: dir
        },
        o.base ?? publishedDefaults
      )
      if (E.isLeft(config)) return config
      out.push({ method, seed, dir, config: config.right })
    }
  return E.right(out)
}

/** Config fields that may differ between invocations without changing a run's results. */
const incidental: ReadonlyArray<string> = [
  'iterations',
  'workers',
  'kernelThreads',
  'backend',
  'runDir',
  'checkpointEvery'
]

/** The fields (other than incidental ones) where two configs differ. */
export const configDifferences = (a: ExperimentConfig, b: ExperimentConfig): ReadonlyArray<string> => {
  const [ja, jb] = [encodeConfig(a), encodeConfig(b)]
  return (Object.keys(ja) as ReadonlyArray<keyof typeof ja>).filter(
    (k) => !incidental.includes(k) && JSON.stringify(ja[k]) !== JSON.stringify(jb[k])
  )
}

/**
 * Where a run stands. Left when its folder holds a run made with other settings (continuing it would
 * mix two experiments).
 */
export const runStatus = (r: RunSpec): E.Either<TmamlError, RunStatus> => {
  const ck = readCheckpoint(r.dir)
  if (E.isLeft(ck)) return E.right({ _tag: 'Fresh' })
  const diff = configDifferences(r.config, ck.right.config)
  if (diff.length > 0)
    return E.left(
      invalidInput(
        r.dir,
        `holds a run with other settings (${diff.join(', ')}); choose another --out or remove the folder`
      )
    )
  const failure = readFailure(r.dir)
  if (failure !== null) return E.right({ _tag: 'Failed', failure })
  return E.right(
    ck.right.state.iteration >= r.config.iterations
      ? { _tag: 'Done' }
      : { _tag: 'Partial', at: ck.right.state.iteration }
  )
}

/** `stopped after 3 iteration(s): numerical failure in ...` (the error's first line). */
const failedText = (f: FailureRecord): string =>
  `stopped after ${f.iteration} iteration(s): ${f.message.split('\n')[0]}`

/** The `tmaml` arguments that start or continue a run. */
export const trainArgs = (r: RunSpec, status: Runnable): ReadonlyArray<string> =>
  status._tag === 'Partial'
    ? ['train', '--resume', r.dir, '--iterations', String(r.config.iterations)]
    : ['train', '--config', path.join(r.dir, 'experiment-config.json')]

/** The live state of a child, from its progress lines (`it 12/100 ...`). */
interface Live {
  readonly name: string
  /** The iteration it resumes at (0 for a fresh run). */
  readonly startAt: number
  /** When this invocation started it. */
  readonly started: number
  iteration: number
  line: string
  /** Ask the child to stop after its current iteration (with a checkpoint). */
  stop?: () => void
}

/** The ETA of one run from its own pace in this invocation (unknown before its first iteration). */
const runEta = (l: Live, total: number, now: number): number => {
  const done = l.iteration - l.startAt
  return done > 0 ? ((now - l.started) / 1000 / done) * (total - l.iteration) : NaN
}

/**
 * Run one child to completion; its stderr goes to `<dir>/train.log`; resolves to its exit code.
 * `onIteration` is called each time the child reports a new iteration.
 */
const runChild = (
  runner: TrainRunner,
  r: RunSpec,
  status: Runnable,
  live: Live,
  onIteration: () => void,
  stop: AbortSignal | undefined
): Promise<number> =>
  new Promise((resolve) => {
    const { command, args } = runner.childCommand(trainArgs(r, status))
    const log = fs.createWriteStream(path.join(r.dir, 'train.log'), { flags: 'a' })
    log.write(`\n# ${new Date().toISOString()} ${args.slice(-6).join(' ')}\n`)
    // Its own process group: a Ctrl-C at the terminal reaches the compare alone, which then asks each
    // child once (`live.stop`); a child that saw the terminal's SIGINT as well would take the compare's
    // SIGTERM as a second signal and stop at once, losing its iteration. A child whose compare died
    // stops by itself (it watches its parent: src/cli/process.ts).
    const child = spawn(command, [...args], { stdio: ['ignore', 'ignore', 'pipe'], env: process.env, detached: true })
    live.stop = () => void child.kill('SIGTERM')
    if (stop?.aborted === true) live.stop()
    let buffer = ''
    child.stderr.on('data', (chunk: Buffer) => {
      log.write(chunk)
      buffer += chunk.toString('utf8')
      const lines = buffer.split(/[\r\n]/)
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        const m = /^it\s+(\d+)\/(\d+)/.exec(line)
        if (m !== null) {
          const fresh = Number(m[1]) !== live.iteration
          live.iteration = Number(m[1])
          live.line = line
          if (fresh) onIteration()
        }
      }
    })
    child.on('close', (code) => {
      log.end()
      resolve(code ?? 1)
    })
    child.on('error', () => {
      log.end()
      resolve(1)
    })
  })

// ---------------------------------------------------------------------------------------------
// results
// ---------------------------------------------------------------------------------------------

/** Moving average over the previous `w` values (fewer at the start); NaNs are skipped. @category utils */
export const movingAverage = (ys: ReadonlyArray<number>, w: number): ReadonlyArray<number> =>
  ys.map((_, i) => {
    const window = ys.slice(Math.max(0, i - w + 1), i + 1).filter(Number.isFinite)
    return window.length === 0 ? NaN : window.reduce((a, b) => a + b, 0) / window.length
  })

/** The mean of the last `k` finite values (NaN if none). @category utils */
export const finalValue = (ys: ReadonlyArray<number>, k: number): number => {
  const finite = ys.filter(Number.isFinite)
  const tail = finite.slice(Math.max(0, finite.length - k))
  return tail.length === 0 ? NaN : tail.reduce((a, b) => a + b, 0) / tail.length
}

type Curves = ReadonlyArray<{ readonly method: string; readonly runs: ReadonlyArray<ReadonlyArray<number>> }>

/** Learning curves: per method, mean ± std over its runs of the (smoothed) post-update return. @category report */
export const compareChart = (curves: Curves, smooth: number, title: string): LineChart => {
  const series: Series[] = curves.map(({ method, runs }) => {
    const smoothed = runs.map((ys) => movingAverage(ys, smooth))
    const length = Math.max(0, ...smoothed.map((ys) => ys.length))
    return {
      name: method,
      points: Array.from({ length }, (_, i) => {
        const s = meanStd(smoothed.map((ys) => ys[i] ?? NaN))
        return s.n >= 2 ? { x: i, y: s.mean, lo: s.mean - s.std, hi: s.mean + s.std } : { x: i, y: s.mean }
      })
    }
  })
  return {
    title,
    xLabel: 'iteration',
    yLabel: `average post-update return${smooth > 1 ? ` (moving average of ${smooth})` : ''}`,
    xScale: 'linear',
    series: styled(series)
  }
}

/** Final return per method (mean of the last `k` iterations per run; mean ± std over runs). @category report */
export const finalRows = (curves: Curves, k: number): ReadonlyArray<FinalRow> =>
  curves.map(({ method, runs }) => {
    const finals = runs.map((ys) => finalValue(ys, k))
    const s = meanStd(finals)
    return { method, finals, mean: s.mean, std: s.std, iterations: Math.min(...runs.map((ys) => ys.length)), failed: 0 }
  })

/** Every run's curve cut to its first `n` iterations. */
const cutCurves = (curves: Curves, n: number): Curves =>
  curves.map(({ method, runs }) => ({ method, runs: runs.map((ys) => ys.slice(0, n)) }))

const readCurves = async (o: CompareOptions, runs: ReadonlyArray<RunSpec>): Promise<E.Either<TmamlError, Curves>> => {
  const out: { method: string; runs: number[][] }[] = []
  for (const m of o.methods) {
    const mine: number[][] = []
    for (const r of runs.filter((x) => x.method.label === m.label)) {
      const read = await readRun(r.dir, { x: 'iteration', metrics: ['returnPost'] })()
      if (E.isLeft(read)) return read
      const rows = read.right.run.rows.filter((row) => row.iteration < o.iterations)
      const ys: number[] = []
      for (const row of rows) ys[row.iteration] = row.values['returnPost'] ?? NaN
      mine.push(Array.from({ length: ys.length }, (_, i) => ys[i] ?? NaN))
    }
    out.push({ method: m.label, runs: mine })
  }
  return E.right(out)
}

// ---------------------------------------------------------------------------------------------
// memory
// ---------------------------------------------------------------------------------------------

/**
 * How many of the runs fit in memory together: `parallel`, or fewer when that many runs' estimated
 * peaks (the largest of `configs`, src/pipelines/footprint.ts) exceed `limit` — never fewer than 1
 * (a run too big on its own is refused by `tmaml train` itself). Why: without swap, runs past the
 * machine's memory do not fail, they thrash (measured: 11 TRPO runs of 2.1 GB on a 24 GB machine
 * took 443 s per iteration each, against ~50 s for 8).
 *
 * @category experiments
 */
export const runsThatFit = (
  parallel: number,
  configs: ReadonlyArray<ExperimentConfig>,
  limit: number
): { readonly atOnce: number; readonly perRun: number } => {
  let perRun = 0
  for (const cfg of configs) {
    const env = getEnvSpec(cfg.env)
    if (E.isLeft(env)) continue
    const horizon = cfg.horizon > 0 ? cfg.horizon : env.right.horizon
    perRun = Math.max(
      perRun,
      estimateFootprint(cfg, { obsDim: env.right.obsDim, actDim: env.right.actDim, horizon }).bytes
    )
  }
  const fit = perRun > 0 ? Math.floor(limit / perRun) : parallel
  return { atOnce: Math.max(1, Math.min(parallel, fit)), perRun }
}

// ---------------------------------------------------------------------------------------------
// the experiment
// ---------------------------------------------------------------------------------------------

/**
 * Run (or continue) every run, `parallel` at a time, then write the curves and the table.
 *
 * @category experiments
 */
export const runCompare = async (o: CompareOptions): Promise<E.Either<TmamlError, CompareResult>> => {
  const started = Date.now()
  const planned = planRuns(o)
  if (E.isLeft(planned)) return planned
  const runs = planned.right
  const todo: { run: RunSpec; status: Runnable }[] = []
  const log = (s: string) => void process.stderr.write(`${s}\n`)
  for (const r of runs) {
    const st = runStatus(r)
    if (E.isLeft(st)) return st
    const status = st.right
    if (status._tag === 'Done') continue
    if (status._tag === 'Failed') {
      log(`[compare] skip ${path.basename(r.dir)}: ${failedText(status.failure)} (${path.join(r.dir, failureFile)})`)
      continue
    }
    if (o.reportOnly === true) {
      if (status._tag === 'Fresh')
        return E.left(
          invalidInput('compare --report', `run ${r.dir} has not started: run the comparison without --report first`)
        )
      continue
    }
    fs.mkdirSync(r.dir, { recursive: true })
    if (status._tag === 'Fresh') {
      const w = writeAtomic(
        path.join(r.dir, 'experiment-config.json'),
        JSON.stringify(encodeConfig(r.config), null, 2) + '\n'
      )
      if (E.isLeft(w)) return w
    }
    todo.push({ run: r, status })
  }
  const limit = o.memoryLimit ?? memoryLimit()
  const { atOnce, perRun: runBytes } = runsThatFit(
    Math.min(o.parallel, Math.max(1, todo.length)),
    todo.map((t) => t.run.config),
    limit
  )
  log(
    `compare ${o.env}: ${o.methods.map((m) => `${m.label} (${m.estimator.name}, cv ${m.cv.name})`).join(', ')}; ` +
      `${seedsText(o.seeds)} x ${o.iterations} iterations of ${o.tasks} tasks x ${o.rollouts} episodes, outer ${o.outer}; ` +
      (o.reportOnly === true
        ? 'report only (nothing runs)'
        : `${runs.length - todo.length} of ${runs.length} runs done, ${todo.length} to run, ${atOnce} at a time`)
  )
  if (atOnce < Math.min(o.parallel, todo.length))
    log(
      `[compare] --parallel ${o.parallel}: ${atOnce} run(s) at a time instead, as each run may need about ` +
        `${formatBytes(runBytes)} and ${formatBytes(limit)} of memory is available` +
        `${process.env['TMAML_MEMORY_LIMIT_MB'] !== undefined ? ' (TMAML_MEMORY_LIMIT_MB)' : ''}`
    )
  const totalIterations = todo.reduce((a, t) => a + o.iterations - (t.status._tag === 'Partial' ? t.status.at : 0), 0)
  const lives: Live[] = []
  const failures: string[] = []
  let next = 0
  let finishedIterations = 0
  let finished = 0
  // The overall ETA: the pace so far over every run's iterations of this invocation, times those left.
  const overall = (): string => {
    const doneIts = finishedIterations + lives.reduce((a, l) => a + Math.max(0, l.iteration - l.startAt), 0)
    const elapsed = (Date.now() - started) / 1000
    const eta = doneIts > 0 ? (elapsed / doneIts) * (totalIterations - doneIts) : NaN
    return (
      `${finished}/${todo.length} runs finished, ${doneIts}/${totalIterations} iterations, ` +
      `elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(eta)}`
    )
  }
  const everyMs = o.progressEveryMs ?? 10_000
  let lastLine = 0
  // One run's progress: its iteration and ETA, and the whole experiment's.
  const progressOf = (l: Live, first: boolean): void => {
    const now = Date.now()
    if (!first && now - lastLine < everyMs) return
    lastLine = now
    log(
      `[compare] ${l.name} it ${l.iteration}/${o.iterations} (run ETA ${formatDuration(runEta(l, o.iterations, now))}); ` +
        overall()
    )
  }
  // Every 30 s whatever happens (a slow first iteration): each running run's last line.
  const status = () =>
    log(`[compare] ${overall()}` + lives.map((l) => `\n  ${l.name}: ${l.line || 'starting'}`).join(''))
  const timer = setInterval(status, 30_000)
  const stopRequested = (): boolean => o.stop?.aborted === true
  const stopRunning = (): void => lives.forEach((l) => l.stop?.())
  o.stop?.addEventListener('abort', stopRunning, { once: true })
  const worker = async (): Promise<void> => {
    while (next < todo.length && !stopRequested()) {
      const { run, status: st } = todo[next++]
      const startAt = st._tag === 'Partial' ? st.at : 0
      const live: Live = { name: path.basename(run.dir), startAt, started: Date.now(), iteration: startAt, line: '' }
      lives.push(live)
      log(`[compare] start ${live.name}${st._tag === 'Partial' ? ` (resuming at iteration ${st.at})` : ''}`)
      let first = true
      const code = await runChild(
        o.runner,
        run,
        st,
        live,
        () => {
          progressOf(live, first)
          first = false
        },
        o.stop
      )
      lives.splice(lives.indexOf(live), 1)
      finishedIterations += Math.max(0, live.iteration - startAt)
      finished++
      // 129 / 130 / 143: the run stopped on request, after an iteration, with its checkpoint.
      const stopped = stopRequested() && [129, 130, 143].includes(code)
      // A failure the run recorded as one a re-run would repeat is a result (reported), not an error.
      const repeats = code !== 0 && !stopped ? readFailure(run.dir) : null
      if (code !== 0 && !stopped && repeats === null)
        failures.push(`${live.name} (exit ${code}; see ${path.join(run.dir, 'train.log')})`)
      const outcome = code === 0 ? 'finished' : stopped ? 'stopped' : repeats !== null ? 'FAILED (repeats)' : 'FAILED'
      log(
        `[compare] ${outcome} ${live.name}${stopped ? ` at iteration ${live.iteration}` : ''}` +
          `${repeats !== null ? `: ${failedText(repeats)}` : ''}; ${overall()}`
      )
    }
  }
  try {
    if (o.reportOnly !== true) await Promise.all(Array.from({ length: atOnce }, worker))
  } finally {
    clearInterval(timer)
    o.stop?.removeEventListener('abort', stopRunning)
  }
  if (stopRequested() && failures.length === 0)
    return E.left(
      resourceError(
        'compare',
        `stopped: ${finished} run(s) ended this invocation, each at its last finished iteration with a checkpoint ` +
          `(${overall()}). Re-run the same command to continue.`
      )
    )
  if (failures.length > 0)
    return E.left(
      resourceError(
        'compare',
        `${failures.length} run(s) failed: ${failures.join(', ')}. Re-run the same command to continue them ` +
          'from their checkpoints.'
      )
    )
  const failed: FailedRun[] = []
  const trained: RunSpec[] = []
  for (const r of runs) {
    const f = readFailure(r.dir)
    if (f === null) trained.push(r)
    else failed.push({ run: path.basename(r.dir), method: r.method.label, failure: f })
  }
  if (trained.length === 0)
    return E.left(
      resourceError(
        'compare',
        `every run stopped on a failure a re-run would repeat: ${failed.map((f) => `${f.run} ${failedText(f.failure)}`).join('; ')}`
      )
    )
  const read = await readCurves(o, trained)
  if (E.isLeft(read)) return read
  // Curves hold the runs method by method, each method's in seed order: the order of `trained`.
  const reached = read.right.flatMap((c) => c.runs.map((ys) => ys.length))
  const common = Math.min(...reached)
  const partial = common < o.iterations
  const curves = partial ? cutCurves(read.right, common) : read.right
  const rows = finalRows(curves, o.final).map((row) => ({
    ...row,
    failed: failed.filter((f) => f.method === row.method).length
  }))
  const seconds = (Date.now() - started) / 1000
  const perRun = runs.map((r) => trainingSeconds(r.dir))
  const trainSeconds = perRun.reduce((a, b) => a + b, 0)
  const horizonText = o.horizon > 0 ? `horizon ${o.horizon}` : 'default horizon'
  const budget = `${o.tasks} tasks x ${o.rollouts} episodes (${horizonText}) per iteration, ${o.iterations} iterations`
  const chart = compareChart(
    curves,
    o.smooth,
    `${o.env}, ${o.outer.toUpperCase()}, ${o.tasks}x${o.rollouts} episodes/it (mean ± std, ${o.seeds.length} seeds)`
  )
  const table = renderTable(
    rows.map((r) => ({
      method: r.method,
      [`final return (last ${o.final} it.)`]: r.finals.length === 0 ? '-' : formatMeanStd(r.mean, r.std),
      seeds: r.finals.length,
      iterations: r.finals.length === 0 ? 0 : r.iterations,
      'per seed': r.finals.map((f) => formatNumber(f, 4)).join(', '),
      ...(failed.length > 0 ? { 'left out (failed)': r.failed } : {})
    }))
  )
  const runsAt = trained.map((r, i) => `${path.basename(r.dir)} ${reached[i]}`).join(', ')
  const md = [
    `${o.env}, ${budget}, outer ${o.outer} (lr ${o.outerLr}), inner lr ${o.innerLr}, ${seedsText(o.seeds)}.`,
    ...(partial
      ? [
          `PARTIAL (--report): every run cut to its first ${common} of ${o.iterations} iterations, the least ` +
            `advanced run's; iterations each run has: ${runsAt}.`
        ]
      : []),
    `Final return: mean post-update return over each run's last ${o.final} iterations; mean ± std over seeds.`,
    ...(failed.length > 0
      ? [
          `Left out of the curves and the table (stopped on a failure a re-run would repeat): ` +
            failed.map((f) => `${f.run} ${failedText(f.failure)}`).join('; ') +
            '.'
        ]
      : []),
    '',
    table,
    `Training compute, summed over the ${runs.length} runs and their invocations: ${formatDuration(trainSeconds)} ` +
      `(mean per run ${formatDuration(trainSeconds / runs.length)}); this invocation ${formatDuration(seconds)} with ${atOnce} run(s) at a time.`,
    ''
  ].join('\n')
  const data = {
    experiment: 'compare',
    options: { ...o, methods: o.methods.map((m) => ({ label: m.label, estimator: m.estimator.name, cv: m.cv.name })) },
    rows,
    seconds,
    trainSeconds
  }
  const paths = await writeReport(o.figure, chart, md, data)
  if (E.isLeft(paths)) return paths
  return E.right({
    table: rows,
    failed,
    paths: [paths.right.png, paths.right.svg, paths.right.table, paths.right.json],
    seconds
  })
}
