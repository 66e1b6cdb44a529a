/**
 * `tmaml train [--config file.json] [flags] | --resume <run folder>`: meta-training (paper
 * Algorithm 2) with any estimator (a built-in name or a module path), control variate and outer
 * optimiser. A thin shell over `runTraining` / `resumeTraining` (src/pipelines/runTraining.ts): flags
 * and config files in, a live progress line and the exit code out; signals become the run's
 * AbortSignal. A learning-curve plot is drawn in the run folder at the end.
 *
 * With no --config, the embedded quickstart (halfcheetah-dir at a reduced batch) is the base;
 * flags override whichever base applies.
 */
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, formatError } from '../base/errors.js'
import { readJsonFile } from '../base/json.js'
import { getEnvSpec } from '../envs/registry.js'
import { isModuleSpec, loadEstimatorModule, preloadConfigEstimator } from '../estimators/module.js'
import {
  type ExperimentConfig,
  describeRange,
  learn2learnTrpo,
  numericRanges,
  publishedDefaults,
  quickstart,
  resolveConfig
} from '../pipelines/config.js'
import {
  type RunStart,
  type Saved,
  type TrainingFailure,
  type TrainingOptions,
  type TrainingOutcome,
  describeSamplerEvent,
  resumeTraining,
  runTraining
} from '../pipelines/runTraining.js'
import { makeSampler } from '../pipelines/sampler/index.js'
import type { IterationRecord } from '../pipelines/train.js'
import { flagOptions, parseFlags } from './flags.js'
import { backendChoices, backendDefault, controlVariateChoices } from './helpText.js'
import { startRedisSampler } from './redisSampler.js'
import { type StopCause, exitCodeOf, ignoreBrokenPipes, memoryLimit, watchStopRequests } from './process.js'
import { renderLearningCurve } from './trainPlot.js'

/** The quickstart in words, from the preset itself (so the help cannot drift from it). */
const quickstartSummary = [
  quickstart.env,
  `${quickstart.tasksPerBatch} tasks x ${quickstart.rolloutsPerTask} rollouts`,
  `${quickstart.estimator ?? publishedDefaults.estimator.name} + ${quickstart.controlVariate ?? publishedDefaults.controlVariate.name} control variate`,
  `${(quickstart.outer ?? publishedDefaults.outer).toUpperCase()} (max KL ${quickstart.trpo?.maxKl ?? publishedDefaults.trpo.maxKl}: 0.01 per action component)`,
  `gamma ${quickstart.gamma ?? publishedDefaults.gamma}`,
  `${quickstart.iterations} iterations`
]
  .join(', ')
  .replace(/(.{1,96})(?:, |$)/g, '$1,\n  ')
  .replace(/,\n {2}$/, '')

const help = `usage: tmaml train [--config file.json] [options]
       tmaml train --resume <run folder> [--iterations N]

options (each overrides the config; defaults: the published hyperparameters, or with no --config
the quickstart:
  ${quickstartSummary}):
  --env ID              task distribution (tmaml envs list)
  --estimator NAME      inner estimator: a name (tmaml estimators list; default ${publishedDefaults.estimator.name}) or the
                        path of a module exporting one (./my-estimator.mjs, ./many.mjs#name), checked
                        as 'tmaml estimators check --module' checks it
  --cv KIND             control variate: ${controlVariateChoices} (default ${publishedDefaults.controlVariate.name})
  --outer ALG           vpg | trpo | ppo (default ${publishedDefaults.outer})
  --tasks N             tasks per meta-batch            --rollouts N   episodes per task
  --horizon N           steps per episode (0 = the env's default)
  --iterations N        --seed N        --workers N (sampler threads; 0 = main thread)
  --kernel-threads N    threads of the native kernels in the outer step (default 0 = all cores;
                        results do not depend on it)
  --inner-lr X          --outer-lr X    --inner-steps N
  --action-scale X      the simulator gets clip(action / X) (ProMP/garage convention: 10)
  --init-log-std X      the policy's initial log std (default: the env's; negative: --init-log-std=-2.3)
  --eval-every N        --eval-tasks N   --checkpoint-every N
  --snapshot-every N    keep snapshots/it-NNNNNN.json every N iterations (0 = none; default ${publishedDefaults.snapshotEvery})
  --snapshot-keep N     how many snapshots to keep, the most recent (0 = all; default ${publishedDefaults.snapshotKeep})
  --backend B           ${backendChoices}
                        (${backendDefault})
  --redis URL           sample on 'tmaml worker --redis URL' processes (any machine) instead of
                        local threads; same results (README, "Scaling out")
  --run-dir DIR         where to write (default runs/<env>-<estimator>-<outer>-s<seed>-<time>)
  --json                print each iteration's record as a JSON line on stdout
  --no-tensorboard      do not write TensorBoard scalars (<run>/tensorboard)
  --skip-memory-check   run even when the memory estimate exceeds what this machine has
                        (or TMAML_MEMORY_LIMIT_MB, when set)

Numbers are decimal; each field's range is in docs/RELIABILITY.md. Writes <run>/config.json (with
provenance: version, commit, backend, horizon), metrics.jsonl, metrics.csv, tensorboard/,
checkpoint.json and checkpoint.prev.json, snapshots/, policy.json (docs/POLICY.md),
learning-curve.{svg,png}; <run>/run.lock while it runs (one process per run folder).
SIGINT, SIGTERM, SIGHUP (or the parent process exiting) stop the run after the current iteration with
a checkpoint, list what was saved and print the resume command; a second signal stops it at once.
Exit code: 0 done, 1 the run failed (message says why; the last checkpoint is intact), 2 bad usage,
129 / 130 / 143 stopped by SIGHUP / SIGINT / SIGTERM.`

/** Flag name -> config field; numbers are parsed here and range-checked by the config codec. */
const flagFields: ReadonlyArray<readonly [string, keyof ExperimentConfig, 'string' | 'number']> = [
  ['env', 'env', 'string'],
  ['estimator', 'estimator', 'string'],
  ['cv', 'controlVariate', 'string'],
  ['outer', 'outer', 'string'],
  ['tasks', 'tasksPerBatch', 'number'],
  ['rollouts', 'rolloutsPerTask', 'number'],
  ['horizon', 'horizon', 'number'],
  ['iterations', 'iterations', 'number'],
  ['seed', 'seed', 'number'],
  ['workers', 'workers', 'number'],
  ['kernel-threads', 'kernelThreads', 'number'],
  ['inner-lr', 'innerLr', 'number'],
  ['outer-lr', 'outerLr', 'number'],
  ['inner-steps', 'innerSteps', 'number'],
  ['action-scale', 'actionScale', 'number'],
  ['init-log-std', 'initLogStd', 'number'],
  ['eval-every', 'evalEvery', 'number'],
  ['eval-tasks', 'evalTasks', 'number'],
  ['checkpoint-every', 'checkpointEvery', 'number'],
  ['snapshot-every', 'snapshotEvery', 'number'],
  ['snapshot-keep', 'snapshotKeep', 'number'],
  ['backend', 'backend', 'string'],
  ['run-dir', 'runDir', 'string']
]

const flagSpec = flagOptions(
  ['config', 'resume', 'redis', ...flagFields.map(([flag]) => flag)],
  ['json', 'skip-memory-check', 'no-tensorboard']
)

/** Decimal numbers only: `Number` would also read '0x10' as 16, '0b1' as 1 and ' ' as 0. */
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

const flagOverrides = (values: Readonly<Record<string, unknown>>): E.Either<string, Record<string, unknown>> => {
  const out: Record<string, unknown> = {}
  for (const [flag, field, kind] of flagFields) {
    const v = values[flag]
    if (typeof v !== 'string') continue
    if (kind === 'number') {
      const range = (numericRanges as Readonly<Record<string, (typeof numericRanges)[keyof typeof numericRanges]>>)[
        field
      ]
      if (!decimal.test(v.trim()))
        return E.left(
          `--${flag}: got '${v}', expected a decimal number${range === undefined ? '' : `: ${describeRange(range)}`}`
        )
      out[field] = Number(v)
    } else out[field] = v
  }
  return E.right(out)
}

const fmtTime = (s: number): string =>
  !Number.isFinite(s)
    ? '?'
    : s >= 3600
      ? `${(s / 3600).toFixed(1)}h`
      : s >= 60
        ? `${Math.floor(s / 60)}m${Math.round(s % 60)
            .toString()
            .padStart(2, '0')}s`
        : `${s.toFixed(0)}s`

const fmtNum = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(1))

/** The progress line of one iteration. */
const progressLine = (r: IterationRecord, total: number, started: number, firstIteration: number): string => {
  const elapsed = (Date.now() - started) / 1000
  const done = r.iteration + 1 - firstIteration
  const perIt = elapsed / Math.max(done, 1)
  const iterSeconds = Object.values(r.timings).reduce((a, b) => a + b, 0)
  const sps = (r.stats['stepsThisIteration'] ?? 0) / Math.max(iterSeconds, 1e-9)
  const evalPart = r.evalPost !== undefined ? `  eval ${fmtNum(r.evalPre)} -> ${fmtNum(r.evalPost)}` : ''
  return (
    `it ${String(r.iteration + 1).padStart(String(total).length)}/${total}  return pre ${fmtNum(r.returnPre)} post ${fmtNum(r.returnPost)}${evalPart}` +
    `  ${(sps / 1000).toFixed(1)}k steps/s  ${perIt.toFixed(1)} s/it  ETA ${fmtTime(perIt * (total - r.iteration - 1))}`
  )
}

const say = (msg: string | null): void => {
  if (msg !== null) process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${msg}\n`)
}

/** A path as a shell word: quoted when it holds anything but safe characters. */
const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** The exact command that continues the run in `runDir` (with the sampler it used). */
export const resumeCommand = (runDir: string, redis: string | undefined): string =>
  `npx tmaml train --resume ${shellWord(runDir)}${redis === undefined ? '' : ` --redis ${shellWord(redis)}`}`

/** What a run folder holds, one line per file, for the message after a stop or a failure. */
export const savedLines = (s: Saved): ReadonlyArray<string> => [
  ...(s.checkpoint === null
    ? ['  no checkpoint yet']
    : [
        `  checkpoint.json       resumes at iteration ${s.checkpoint}` +
          (s.previous === null ? '' : ` (checkpoint.prev.json: iteration ${s.previous})`)
      ]),
  `  metrics.jsonl/.csv    ${s.metricsLines} iteration(s)${s.tensorboard === null ? '' : ', and tensorboard/'}`,
  ...(s.snapshots.length === 0
    ? []
    : [`  snapshots/            ${s.snapshots.map((f) => path.basename(f, '.json')).join(', ')}`]),
  ...(s.policy === null ? [] : ['  policy.json           the meta-policy of the checkpoint (docs/POLICY.md)'])
]

/** Read the user's config file (line:column on a syntax error) and load the estimator module it names. */
const userConfig = async (file: string | undefined): Promise<E.Either<TmamlError, Record<string, unknown>>> => {
  if (file === undefined) return E.right({})
  const j = readJsonFile(file)
  if (E.isLeft(j)) return j
  if (typeof j.right !== 'object' || j.right === null || Array.isArray(j.right))
    return E.left({ _tag: 'InvalidInput', where: `--config ${file}`, message: 'expected a JSON object' })
  const loaded = await preloadConfigEstimator(j.right, path.dirname(path.resolve(file)))
  return E.map((u: unknown) => u as Record<string, unknown>)(loaded)
}

/** What `run` creates its services with: user code and tests may wrap them (e.g. a faulty sampler). */
export interface TrainServices {
  readonly makeSampler: typeof makeSampler
}

export const run = async (argv: ReadonlyArray<string>, services: TrainServices = { makeSampler }): Promise<number> => {
  const flags = parseFlags(argv, flagSpec, help)
  if (E.isLeft(flags)) return flags.left
  const values = flags.right
  const overrides = flagOverrides(values)
  if (E.isLeft(overrides)) {
    console.error(`${overrides.left}\n\n${help}`)
    return 2
  }
  const resume = typeof values['resume'] === 'string' ? values['resume'] : undefined
  const configFile = typeof values['config'] === 'string' ? values['config'] : undefined
  const redis = typeof values['redis'] === 'string' ? values['redis'] : undefined
  if (resume !== undefined) {
    const disallowed = Object.keys(overrides.right).filter((k) => k !== 'iterations')
    if (disallowed.length > 0 || configFile !== undefined) {
      console.error(
        `--resume continues a run with its own config; only --iterations may change it (got ${[...disallowed, ...(configFile !== undefined ? ['config'] : [])].join(', ')})`
      )
      return 2
    }
  }
  // 1. The config (fresh runs): the file or the quickstart, then the flags; an estimator module loaded.
  let cfg: ExperimentConfig | null = null
  if (resume === undefined) {
    const user = await userConfig(configFile)
    if (E.isLeft(user)) {
      console.error(formatError(user.left))
      return 2
    }
    const flagEstimator = overrides.right['estimator']
    if (typeof flagEstimator === 'string' && isModuleSpec(flagEstimator)) {
      const e = await loadEstimatorModule(flagEstimator)
      if (E.isLeft(e)) {
        console.error(`--estimator: ${formatError(e.left)}`)
        return 2
      }
      overrides.right['estimator'] = e.right.module
    }
    let base: ExperimentConfig = publishedDefaults
    if (configFile === undefined) {
      // learn2learn's trust region is per action component: the chosen env's, not HalfCheetah's.
      const env = getEnvSpec(String(overrides.right['env'] ?? quickstart.env))
      const trust = E.isRight(env) ? learn2learnTrpo(env.right.actDim) : {}
      const q = resolveConfig({ ...quickstart, ...trust }, publishedDefaults, 'quickstart')
      if (E.isLeft(q)) throw new Error(formatError(q.left))
      base = q.right
    }
    const resolved = resolveConfig(
      { ...user.right, ...overrides.right },
      base,
      configFile !== undefined ? `config ${configFile}` : 'flags'
    )
    if (E.isLeft(resolved)) {
      console.error(formatError(resolved.left))
      return 2
    }
    cfg = resolved.right
  }

  // 2. The run, with signals as its AbortSignal; every exit path below ends in `finish`.
  const removePipes = ignoreBrokenPipes()
  const abort = new AbortController()
  let cause: StopCause | null = null
  const stop = watchStopRequests({
    onStop: (c) => {
      cause = c
      say(
        `${c === 'parent-exit' ? 'the parent process exited' : `${c} received`}: stopping after the current ` +
          `iteration with a checkpoint (a ${c === 'parent-exit' ? '' : 'second '}signal stops at once)`
      )
      abort.abort()
    }
  })
  let firstIteration = 0
  let started = Date.now()
  let total = cfg?.iterations ?? 0
  const options: TrainingOptions & { readonly onStart: (s: RunStart) => void } = {
    signal: abort.signal,
    stopRequested: () => stop.requested() !== null,
    onMessage: say,
    skipMemoryCheck: values['skip-memory-check'] === true,
    memoryLimit: memoryLimit(),
    tensorboard: values['no-tensorboard'] !== true,
    sampler: (c, runDir, message) =>
      redis === undefined
        ? services.makeSampler({ workers: c.workers, onEvent: (e) => say(describeSamplerEvent(e)) })
        : startRedisSampler(redis, runDir, (l) => (l === null ? undefined : message(l)), describeSamplerEvent),
    onStart: (s) => {
      firstIteration = s.start.iteration
      started = Date.now()
      total = s.cfg.iterations
      const c = s.cfg
      process.stderr.write(
        `run ${s.runDir}\n` +
          `  ${c.env} (horizon ${s.deps.horizon}), estimator ${c.estimator.name}, control variate ${c.controlVariate.name}, outer ${s.deps.outer?.name ?? c.outer}\n` +
          `  ${c.tasksPerBatch} tasks x ${c.rolloutsPerTask} episodes, ${c.innerSteps} inner step(s) lr ${c.innerLr}, outer lr ${c.outerLr}, seed ${c.seed}\n` +
          `  backend ${s.backend.active}${s.backend.notes.length > 0 ? ` (${s.backend.notes.join(', ')})` : ''}, ` +
          `${redis === undefined ? `${c.workers} sampler worker(s)` : `sampling on the workers of ${redis.replace(/:[^:@/]*@/, ':***@')}`}` +
          `${s.resumed ? `, resuming at iteration ${s.start.iteration}` : ''}\n`
      )
    },
    onIteration: (r) => {
      if (values['json'] === true) console.log(JSON.stringify(r))
      const line = progressLine(r, total, started, firstIteration)
      if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`)
      else process.stderr.write(`${line}\n`)
    }
  }
  try {
    const r =
      resume !== undefined
        ? await resumeTraining(resume, {
            ...options,
            ...(typeof overrides.right['iterations'] === 'number' ? { iterations: overrides.right['iterations'] } : {})
          })
        : await runTraining(cfg as ExperimentConfig, options)
    if (process.stderr.isTTY) process.stderr.write('\n')
    return E.isLeft(r) ? failed(r.left, resume !== undefined, redis) : await finished(r.right, cause, redis, total)
  } finally {
    stop.dispose()
    removePipes()
  }
}

const failed = (f: TrainingFailure, resuming: boolean, redis: string | undefined): number => {
  const msg = formatError(f.error)
  if (f.saved === null || f.kind === 'usage') {
    console.error(resuming ? `tmaml train --resume: ${msg}` : msg.startsWith('invalid ') ? msg : `tmaml train: ${msg}`)
    return f.kind === 'usage' ? 2 : 1
  }
  const s = f.saved
  const hint =
    s.checkpoint === null
      ? 'no checkpoint was written, so there is nothing to resume: start the run again'
      : f.repeats
        ? `the checkpoint at iteration ${s.checkpoint} is intact, but resuming would repeat this failure exactly ` +
          '(every random number derives from the seed): start a new run with other settings, e.g. a smaller ' +
          '--outer-lr or --inner-lr'
        : `resume from the last checkpoint (iteration ${s.checkpoint}) with: ${resumeCommand(s.runDir, redis)}`
  console.error(`tmaml train: the run stopped: ${msg}\n${hint}`)
  return 1
}

const finished = async (
  o: TrainingOutcome,
  cause: StopCause | null,
  redis: string | undefined,
  total: number
): Promise<number> => {
  if (o.status === 'stopped') {
    const c = cause ?? 'SIGINT'
    say(
      [
        `stopped by ${c === 'parent-exit' ? 'the parent process exiting' : c} with ${o.state.iteration} of ` +
          `${total} iterations done; saved in ${o.runDir}:`,
        ...savedLines(o.saved),
        o.saved.checkpoint === null
          ? 'no checkpoint was written, so there is nothing to resume: start the run again'
          : `resume from the last checkpoint (iteration ${o.saved.checkpoint}) with:\n  ${resumeCommand(o.runDir, redis)}`
      ].join('\n')
    )
    return exitCodeOf(c)
  }
  const plot = await renderLearningCurve(o.runDir)
  if (E.isLeft(plot)) process.stderr.write(`learning curve not rendered: ${formatError(plot.left)}\n`)
  else process.stderr.write(`learning curve: ${plot.right.join(', ')}\n`)
  process.stderr.write(`done: ${o.runDir} (${fmtTime(o.seconds)})\n`)
  return 0
}
