/**
 * `tmaml train [--config file.json] [flags] | --resume <run folder>`: meta-training (paper
 * Algorithm 2) with any estimator, control variate and outer optimiser; a live progress line,
 * metrics.jsonl/csv and atomic checkpoints in the run folder, a learning-curve plot at the end.
 *
 * With no --config, the embedded quickstart (halfcheetah-dir at a reduced batch) is the base;
 * flags override whichever base applies.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, tap } from 'rxjs'
import { type TmamlError, formatError, resourceError } from '../base/errors.js'
import { getEnvSpec } from '../envs/registry.js'
import { startBackend } from '../graph/backend.js'
import {
  type ExperimentConfig,
  describeRange,
  encodeConfig,
  numericRanges,
  publishedDefaults,
  quickstart,
  resolveConfig
} from '../pipelines/config.js'
import { controlVariateNames } from '../pipelines/controlVariates/registry.js'
import { estimateFootprint, formatBytes } from '../pipelines/footprint.js'
import {
  type RunLock,
  acquireRunLock,
  appendMetrics,
  checkResumable,
  defaultRunDir,
  ensureRunDir,
  readCheckpoint,
  truncateMetrics,
  writeAtomic,
  writeCheckpoint
} from '../pipelines/runDir.js'
import { makeSampler } from '../pipelines/sampler/index.js'
import { policyParamIssues } from '../pipelines/sampler/jsPolicy.js'
import type { SamplerEvent } from '../pipelines/sampler/types.js'
import { StageError, type TrainState, trainDeps } from '../pipelines/stages.js'
import { standardIteration } from '../pipelines/streaming.js'
import { type IterationRecord, initialState, metaTrain, toRecord } from '../pipelines/train.js'
import { flagOptions, parseFlags } from './flags.js'
import { startRedisSampler } from './redisSampler.js'
import {
  type Scope,
  type StopCause,
  exitCodeOf,
  ignoreBrokenPipes,
  makeScope,
  memoryLimit,
  safePoint,
  watchStopRequests
} from './process.js'
import { renderLearningCurve } from './trainPlot.js'

const help = `usage: tmaml train [--config file.json] [options]
       tmaml train --resume <run folder> [--iterations N]

options (each overrides the config; defaults: the published hyperparameters, or with no --config
the quickstart: halfcheetah-dir, 20 tasks x 20 rollouts, maml + linear baseline, TRPO, 50 iterations):
  --env ID              task distribution (tmaml envs list)
  --estimator NAME      inner estimator (tmaml estimators list), default tmaml
  --cv KIND             control variate: ${controlVariateNames.join(' | ')} (default meta)
  --outer ALG           vpg (default) | trpo | ppo
  --tasks N             tasks per meta-batch            --rollouts N   episodes per task
  --horizon N           steps per episode (0 = the env's default)
  --iterations N        --seed N        --workers N (sampler threads; 0 = main thread)
  --inner-lr X          --outer-lr X    --inner-steps N
  --action-scale X      the simulator gets clip(action / X) (ProMP/garage convention: 10)
  --init-log-std X      the policy's initial log std (default: the env's; negative: --init-log-std=-2.3)
  --eval-every N        --eval-tasks N   --checkpoint-every N
  --backend B           auto | native | wasm | cpu | tensorflow | tensorflow-gpu
  --redis URL           sample on 'tmaml worker --redis URL' processes (any machine) instead of
                        local threads; same results (README, "Scaling out")
  --run-dir DIR         where to write (default runs/<env>-<estimator>-<outer>-s<seed>-<time>)
  --json                print each iteration's record as a JSON line on stdout
  --skip-memory-check   run even when the memory estimate exceeds what this machine has
                        (or TMAML_MEMORY_LIMIT_MB, when set)

Numbers are decimal; each field's range is in docs/RELIABILITY.md. Writes <run>/config.json,
metrics.jsonl, metrics.csv, checkpoint.json, learning-curve.{svg,png}; <run>/run.lock while it runs
(one process per run folder).
SIGINT, SIGTERM, SIGHUP (or the parent process exiting) stop the run after the current iteration with
a checkpoint and print the resume command; a second signal stops it at once.
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
  ['inner-lr', 'innerLr', 'number'],
  ['outer-lr', 'outerLr', 'number'],
  ['inner-steps', 'innerSteps', 'number'],
  ['action-scale', 'actionScale', 'number'],
  ['init-log-std', 'initLogStd', 'number'],
  ['eval-every', 'evalEvery', 'number'],
  ['eval-tasks', 'evalTasks', 'number'],
  ['checkpoint-every', 'checkpointEvery', 'number'],
  ['backend', 'backend', 'string'],
  ['run-dir', 'runDir', 'string']
]

const flagSpec = flagOptions(
  ['config', 'resume', 'redis', ...flagFields.map(([flag]) => flag)],
  ['json', 'skip-memory-check']
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

/** A JSON file's value; a UTF-8 byte-order mark (some editors write one) is not part of the JSON. */
const readJson = (file: string): E.Either<TmamlError, unknown> => {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    return E.left(resourceError(`--config ${file}`, err instanceof Error ? err.message : String(err)))
  }
  try {
    return E.right(JSON.parse(text.replace(/^\uFEFF/, '')))
  } catch (err) {
    return E.left(resourceError(`--config ${file}`, `not JSON (${err instanceof Error ? err.message : String(err)})`))
  }
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

const describeEvent = (e: SamplerEvent): string | null => {
  switch (e._tag) {
    case 'WorkerDied':
      return `sampler: worker ${e.worker} died (${e.reason}); replacing it and re-running its work`
    case 'WorkerReplaced':
      return `sampler: worker ${e.worker} replaced`
    case 'ChunkRetried':
      return `sampler: chunk ${e.chunk} retried (attempt ${e.attempt}): ${e.reason}`
    case 'Divergence':
      return `simulation diverged (task ${e.task}, episode ${e.episode}): ${e.message}`
    default:
      return null
  }
}

const say = (msg: string | null): void => {
  if (msg !== null) process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${msg}\n`)
}

/** A run folder, locked, with the config and state to start from. */
interface Prepared {
  readonly cfg: ExperimentConfig
  readonly runDir: string
  readonly start: TrainState | null
  readonly lock: RunLock
}

const lockOrFail = (runDir: string): E.Either<number, RunLock> => {
  const lock = acquireRunLock(runDir)
  if (E.isLeft(lock)) {
    console.error(`tmaml train: ${formatError(lock.left)}`)
    return E.left(1)
  }
  if (lock.right.replaced !== null)
    say(
      `run folder ${runDir}: took over the lock of process ${lock.right.replaced.pid} (started ${lock.right.replaced.since}), which is no longer running`
    )
  return E.right(lock.right)
}

/** Refuse a config whose estimated memory exceeds what the machine has (unless told to go on). */
const memoryCheck = (cfg: ExperimentConfig, skip: boolean): E.Either<number, void> => {
  const env = getEnvSpec(cfg.env)
  if (E.isLeft(env)) return E.right(undefined)
  const horizon = cfg.horizon > 0 ? cfg.horizon : env.right.horizon
  const f = estimateFootprint(cfg, { obsDim: env.right.obsDim, actDim: env.right.actDim, horizon })
  const limit = memoryLimit()
  if (f.bytes <= limit || skip) return E.right(undefined)
  const parts = Object.entries(f.parts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${formatBytes(v)}`)
    .join(', ')
  console.error(
    `tmaml train: this run would need about ${formatBytes(f.bytes)} of memory (${parts}), and this machine has ` +
      `${formatBytes(limit)}${process.env['TMAML_MEMORY_LIMIT_MB'] !== undefined ? ' (TMAML_MEMORY_LIMIT_MB)' : ''}; make tasksPerBatch, rolloutsPerTask, horizon, innerSteps or hidden smaller, ` +
      `or run anyway with --skip-memory-check`
  )
  return E.left(2)
}

/** Resume: the folder's checkpoint and config (only --iterations may change), the lock, metrics cut back. */
const prepareResume = (
  runDir: string,
  overrides: Record<string, unknown>,
  values: Readonly<Record<string, unknown>>
): E.Either<number, Prepared> => {
  const disallowed = Object.keys(overrides).filter((k) => k !== 'iterations')
  if (disallowed.length > 0 || typeof values['config'] === 'string') {
    console.error(
      `--resume continues a run with its own config; only --iterations may change it (got ${[...disallowed, ...(typeof values['config'] === 'string' ? ['config'] : [])].join(', ')})`
    )
    return E.left(2)
  }
  const resumable = checkResumable(runDir)
  if (E.isLeft(resumable)) {
    console.error(`tmaml train --resume: ${formatError(resumable.left)}`)
    return E.left(1)
  }
  const lock = lockOrFail(runDir)
  if (E.isLeft(lock)) return lock
  const fail = (code: number, msg: string): E.Either<number, Prepared> => {
    lock.right.release()
    console.error(msg)
    return E.left(code)
  }
  const ck = readCheckpoint(runDir)
  if (E.isLeft(ck)) return fail(1, `tmaml train --resume: ${formatError(ck.left)}`)
  const extended = resolveConfig({ ...ck.right.config, ...overrides }, publishedDefaults, 'resumed config')
  if (E.isLeft(extended)) return fail(2, formatError(extended.left))
  const mem = memoryCheck(extended.right, values['skip-memory-check'] === true)
  if (E.isLeft(mem)) {
    lock.right.release()
    return mem
  }
  const start = ck.right.state
  const tr = truncateMetrics(runDir, start.iteration)
  if (E.isLeft(tr)) return fail(1, `tmaml train --resume: ${formatError(tr.left)}`)
  if (tr.right.tornLine !== null)
    say(
      `metrics.jsonl: dropped its last line, cut short by a crash (${JSON.stringify(tr.right.tornLine.slice(0, 60))}); that iteration runs again`
    )
  if (tr.right.kept < start.iteration)
    say(
      `metrics.jsonl: holds ${tr.right.kept} of the ${start.iteration} iterations before the checkpoint (lines lost before they reached the disk); training continues from the checkpoint`
    )
  return E.right({ cfg: extended.right, runDir, start, lock: lock.right })
}

/** A fresh run: the config (file, quickstart, flags), a new or empty run folder, locked, with config.json. */
const prepareFresh = (
  overrides: Record<string, unknown>,
  values: Readonly<Record<string, unknown>>
): E.Either<number, Prepared> => {
  let base: ExperimentConfig = publishedDefaults
  let user: Record<string, unknown> = {}
  if (typeof values['config'] === 'string') {
    const j = readJson(values['config'])
    if (E.isLeft(j)) {
      console.error(formatError(j.left))
      return E.left(2)
    }
    if (typeof j.right !== 'object' || j.right === null || Array.isArray(j.right)) {
      console.error(`--config ${values['config']}: expected a JSON object`)
      return E.left(2)
    }
    user = j.right as Record<string, unknown>
  } else {
    const q = resolveConfig(quickstart, publishedDefaults, 'quickstart')
    if (E.isLeft(q)) throw new Error(formatError(q.left))
    base = q.right
  }
  const resolved = resolveConfig(
    { ...user, ...overrides },
    base,
    typeof values['config'] === 'string' ? `config ${values['config']}` : 'flags'
  )
  if (E.isLeft(resolved)) {
    console.error(formatError(resolved.left))
    return E.left(2)
  }
  const cfg = resolved.right
  const mem = memoryCheck(cfg, values['skip-memory-check'] === true)
  if (E.isLeft(mem)) return mem
  const runDir = cfg.runDir !== '' ? cfg.runDir : defaultRunDir(cfg)
  const made = ensureRunDir(runDir)
  if (E.isLeft(made)) {
    console.error(`tmaml train: ${formatError(made.left)}`)
    return E.left(1)
  }
  const lock = lockOrFail(runDir)
  if (E.isLeft(lock)) return lock
  if (fs.existsSync(path.join(runDir, 'checkpoint.json'))) {
    lock.right.release()
    console.error(`${runDir} already holds a run; resume it with --resume ${runDir}, or choose another --run-dir`)
    return E.left(2)
  }
  try {
    for (const f of ['metrics.jsonl', 'metrics.csv']) fs.rmSync(path.join(runDir, f), { force: true })
  } catch (err) {
    lock.right.release()
    console.error(`tmaml train: run folder ${runDir}: cannot remove old metrics: ${String(err)}`)
    return E.left(1)
  }
  const w = writeAtomic(
    path.join(runDir, 'config.json'),
    JSON.stringify({ ...encodeConfig(cfg), runDir }, null, 2) + '\n'
  )
  if (E.isLeft(w)) {
    lock.right.release()
    console.error(`tmaml train: ${formatError(w.left)}`)
    return E.left(1)
  }
  return E.right({ cfg, runDir, start: null, lock: lock.right })
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
  // 1. The config and the starting state, in a locked run folder: a fresh run, or a resumed one.
  const prepared =
    typeof values['resume'] === 'string'
      ? prepareResume(values['resume'], overrides.right, values)
      : prepareFresh(overrides.right, values)
  if (E.isLeft(prepared)) return prepared.left
  const { lock } = prepared.right

  // Everything from here on runs inside a scope whose clean-up (sampler, lock, handlers) runs on every
  // exit path: a thrown bug as well as a failed stage or a stop request.
  const scope = makeScope()
  scope.defer(lock.release)
  process.once('exit', lock.release)
  scope.defer(() => void process.removeListener('exit', lock.release))
  scope.defer(ignoreBrokenPipes())
  const stop = watchStopRequests({
    onStop: (cause) =>
      say(
        `${cause === 'parent-exit' ? 'the parent process exited' : `${cause} received`}: stopping after the current ` +
          `iteration with a checkpoint (a ${cause === 'parent-exit' ? '' : 'second '}signal stops at once)`
      )
  })
  scope.defer(stop.dispose)
  try {
    return await train(prepared.right, values, scope, stop.requested, services)
  } finally {
    await scope.close()
  }
}

/** Steps 2 and 3 of a run: services, then iterations with metrics and checkpoints at the stream's edge. */
const train = async (
  { cfg, runDir, start }: Prepared,
  values: Readonly<Record<string, unknown>>,
  scope: Scope,
  stopCause: () => StopCause | null,
  services: TrainServices
): Promise<number> => {
  /** The last checkpoint on disk in this run folder (its iteration), or null before the first. */
  let checkpointed: number | null = start?.iteration ?? null
  const resumeHint = (): string =>
    checkpointed === null
      ? 'no checkpoint was written, so there is nothing to resume: start the run again'
      : `resume from the last checkpoint (iteration ${checkpointed}) with: tmaml train --resume ${runDir}`
  const stopped = (cause: StopCause): number => {
    say(`stopped by ${cause === 'parent-exit' ? 'the parent process exiting' : cause}; ${resumeHint()}`)
    return exitCodeOf(cause)
  }

  // 2. Services: backend, environment, estimator, sampler.
  const backend = await startBackend(cfg.backend === 'auto' ? undefined : cfg.backend, process.env)
  if (E.isLeft(backend)) {
    console.error(formatError(backend.left))
    return 1
  }
  const early = stopCause()
  if (early !== null) return stopped(early)
  const redis = typeof values['redis'] === 'string' ? values['redis'] : undefined
  const sampler =
    redis === undefined
      ? await services.makeSampler({ workers: cfg.workers, onEvent: (e) => say(describeEvent(e)) })
      : await startRedisSampler(redis, runDir, say, describeEvent)
  if (E.isLeft(sampler)) {
    console.error(formatError(sampler.left))
    return 1
  }
  scope.defer(() => sampler.right.close())
  const made = trainDeps(cfg, sampler.right)
  if (E.isLeft(made)) {
    console.error(formatError(made.left))
    return 2
  }
  const deps = made.right
  const { horizon } = deps
  if (start !== null) {
    const issues = policyParamIssues(deps.policy, start.policy, 'state.policy')
    if (issues.length > 0) {
      console.error(
        formatError({
          _tag: 'DecodeError',
          source: `checkpoint ${path.join(runDir, 'checkpoint.json')} (it does not match its config)`,
          issues
        })
      )
      return 1
    }
  }
  let state: TrainState
  try {
    state = start ?? initialState(deps)
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
    console.error(`tmaml train: cannot allocate the initial state: ${err.message}`)
    return 1
  }
  if (start === null) {
    const w = writeCheckpoint(runDir, cfg, state)
    if (E.isLeft(w)) {
      console.error(`tmaml train: the run stopped: ${formatError(w.left)}\n${resumeHint()}`)
      return 1
    }
    checkpointed = state.iteration
  }
  process.stderr.write(
    `run ${runDir}\n` +
      `  ${cfg.env} (horizon ${horizon}), estimator ${cfg.estimator.name}, control variate ${cfg.controlVariate.name}, outer ${cfg.outer}\n` +
      `  ${cfg.tasksPerBatch} tasks x ${cfg.rolloutsPerTask} episodes, ${cfg.innerSteps} inner step(s) lr ${cfg.innerLr}, outer lr ${cfg.outerLr}, seed ${cfg.seed}\n` +
      `  backend ${backend.right.active}${backend.right.notes.length > 0 ? ` (${backend.right.notes.join(', ')})` : ''}, ` +
      `${redis === undefined ? `${cfg.workers} sampler worker(s)` : `sampling on the workers of ${redis.replace(/:[^:@/]*@/, ':***@')}`}` +
      `${start !== null ? `, resuming at iteration ${start.iteration}` : ''}\n`
  )

  // 3. Train: metrics and checkpoints at the edge of the stream; a stop request ends it at the next
  // iteration boundary (safePoint), where the state is whole.
  const started = Date.now()
  let last: TrainState = state
  let failure: TmamlError | null = null
  try {
    await lastValueFrom(
      metaTrain(deps, (c$) =>
        c$.pipe(
          safePoint(() => stopCause() !== null),
          standardIteration()
        )
      )(state).pipe(
        tap((ctx) => {
          const r = toRecord(ctx)
          const m = appendMetrics(runDir, r)
          if (E.isLeft(m)) throw new StageError('metrics', m.left)
          const next = ctx.next as TrainState
          last = next
          if (next.iteration % cfg.checkpointEvery === 0 || next.iteration >= cfg.iterations) {
            const c = writeCheckpoint(runDir, cfg, next)
            if (E.isLeft(c)) throw new StageError('checkpoint', c.left)
            checkpointed = next.iteration
          }
          if (values['json'] === true) console.log(JSON.stringify(r))
          const line = progressLine(r, cfg.iterations, started, state.iteration)
          if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`)
          else process.stderr.write(`${line}\n`)
        })
      ),
      { defaultValue: null }
    )
  } catch (err) {
    if (err instanceof StageError) failure = err.error
    else throw err
  }
  if (process.stderr.isTTY) process.stderr.write('\n')
  if (failure !== null) {
    const hint =
      failure._tag === 'NumericalError' && checkpointed !== null
        ? `the checkpoint at iteration ${checkpointed} is intact, but resuming would repeat this failure exactly ` +
          '(every random number derives from the seed): start a new run with other settings, e.g. a smaller ' +
          '--outer-lr or --inner-lr'
        : resumeHint()
    console.error(`tmaml train: the run stopped: ${formatError(failure)}\n${hint}`)
    return 1
  }
  const cause = stopCause()
  if (cause !== null) {
    if (checkpointed !== last.iteration) {
      const c = writeCheckpoint(runDir, cfg, last)
      if (E.isLeft(c)) {
        console.error(`tmaml train: the checkpoint at the stop failed: ${formatError(c.left)}\n${resumeHint()}`)
        return 1
      }
      checkpointed = last.iteration
    }
    if (last.iteration < cfg.iterations) return stopped(cause)
  }
  const plot = await renderLearningCurve(runDir)
  if (E.isLeft(plot)) process.stderr.write(`learning curve not rendered: ${formatError(plot.left)}\n`)
  else process.stderr.write(`learning curve: ${plot.right.join(', ')}\n`)
  process.stderr.write(`done: ${runDir} (${fmtTime((Date.now() - started) / 1000)})\n`)
  return 0
}
