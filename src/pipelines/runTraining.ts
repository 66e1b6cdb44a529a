/**
 * Meta-training as one library call: what `tmaml train` does — a locked run folder, config.json,
 * metrics (metrics.jsonl, metrics.csv, TensorBoard scalars), checkpoints with the previous one kept,
 * snapshots, the policy file — with the iterations as a stream you may change (`stages`, `outer`),
 * a callback per iteration and an AbortSignal that stops at the next iteration boundary with a
 * checkpoint. The CLI is a thin shell over it (src/cli/train.ts): flags, the terminal, exit codes.
 *
 * @example
 * const cfg = resolveConfig({ env: 'point2d', tasksPerBatch: 4, rolloutsPerTask: 4, iterations: 20, runDir: 'runs/mine' })
 * const stop = new AbortController()
 * const r = await runTraining(cfg.right, {
 *   outer: slowVpg,                                  // an OuterStep of your own
 *   stages: (c$) => c$.pipe(standardIteration(), tap(logMine)),
 *   onIteration: (rec) => console.log(rec.iteration, rec.returnPost),
 *   signal: stop.signal
 * })
 * // Right({ status: 'finished' | 'stopped', runDir, state, saved }) or Left({ error, kind, saved, ... })
 *
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { type OperatorFunction, lastValueFrom, tap } from 'rxjs'
import { type TmamlError, formatError, invalidInput, resourceError } from '../base/errors.js'
import { rngAt } from '../base/rng.js'
import { getEnvSpec } from '../envs/registry.js'
import { isModuleSpec, loadEstimatorModule } from '../estimators/module.js'
import { type BackendInfo, startBackend } from '../graph/backend.js'
import { type ExperimentConfig, encodeConfig, resolveConfig } from './config.js'
import { estimateFootprint, formatBytes, memoryLimit } from './footprint.js'
import type { OuterStep } from './outerStep.js'
import { policyFileJson } from './policyFile.js'
import {
  type RunLock,
  acquireRunLock,
  appendMetrics,
  checkResumable,
  checkpointFile,
  clearFailure,
  defaultRunDir,
  ensureRunDir,
  listSnapshots,
  previousCheckpointFile,
  readCheckpoint,
  truncateMetrics,
  writeAtomic,
  writeCheckpoint,
  writeFailure,
  writeSnapshot
} from './runDir.js'
import { makeSampler } from './sampler/makeSampler.js'
import { policyParamIssues } from './sampler/jsPolicy.js'
import type { Sampler, SamplerEvent } from './sampler/types.js'
import { type IterationContext, StageError, type TrainDeps, type TrainState, trainDeps } from './stages.js'
import { standardIteration } from './streaming.js'
import { type TensorboardWriter, openTensorboard } from './tensorboard.js'
import { type IterationRecord, initialState, metaTrain, safePoint, toRecord } from './train.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** Where a run comes from and runs on: written to config.json and to every metrics line. */
export interface Provenance {
  readonly package: string
  readonly version: string
  /** The git commit of the installed package, when it is a git checkout; null otherwise. */
  readonly commit: string | null
  /** The tfjs backend that ran (the resolved one, never 'auto'). */
  readonly backend: string
  /** Steps per episode (the env's default when the config says 0). */
  readonly horizon: number
  readonly node: string
  /** When this process started the run (ISO time). */
  readonly started: string
}

/** An iteration record as the run folder stores it: the stream's record plus when and on what it ran. */
export interface RunRecord extends IterationRecord {
  /** Wall-clock time the iteration ended (ISO). */
  readonly time: string
  /** Seconds since this process started the run. */
  readonly wallSeconds: number
  readonly backend: string
  readonly horizon: number
  readonly version: string
  readonly commit: string | null
}

/** What is on disk in a run folder. */
export interface Saved {
  readonly runDir: string
  /** The iteration checkpoint.json resumes at; null before the first checkpoint. */
  readonly checkpoint: number | null
  /** The iteration of checkpoint.prev.json, if there is one. */
  readonly previous: number | null
  /** Iterations recorded in metrics.jsonl. */
  readonly metricsLines: number
  /** Snapshot files (snapshots/it-*.json), oldest first. */
  readonly snapshots: ReadonlyArray<string>
  /** The policy file of the latest checkpoint (policy.json), if written. */
  readonly policy: string | null
  readonly tensorboard: string | null
}

/** A run that ended as asked: all its iterations, or stopped by the signal after a checkpoint. */
export interface TrainingOutcome {
  readonly status: 'finished' | 'stopped'
  readonly runDir: string
  /** The state after the last iteration (what the checkpoint holds). */
  readonly state: TrainState
  readonly saved: Saved
  readonly provenance: Provenance
  readonly seconds: number
}

/** A run that could not start or go on. */
export interface TrainingFailure {
  readonly error: TmamlError
  /** 'usage': the config or the request is wrong (fix it; the CLI exits 2); 'run': the run failed (exit 1). */
  readonly kind: 'usage' | 'run'
  /** What is on disk (null when no run folder was taken). */
  readonly saved: Saved | null
  /** Resuming would repeat this failure exactly (a numerical failure: every random number derives from the seed). */
  readonly repeats: boolean
}

/** Options of `runTraining` and `resumeTraining`. */
export interface TrainingOptions {
  /** An iteration's stages (default `standardIteration()`). */
  readonly stages?: OperatorFunction<IterationContext, IterationContext>
  /** The outer optimiser (default: the built-in one `cfg.outer` names). */
  readonly outer?: OuterStep
  /** After each iteration, once its metrics are on disk (and its checkpoint, when one was due). */
  readonly onIteration?: (record: RunRecord, ctx: IterationContext) => void
  /** Notes worth telling a user (a lock taken over, a torn metrics line dropped, a worker replaced). */
  readonly onMessage?: (line: string) => void
  /** Stop at the next iteration boundary, with a checkpoint. */
  readonly signal?: AbortSignal
  /**
   * Asked at each iteration boundary as well as `signal`: for stop requests no event announces in
   * time (a parent process gone while this one was busy). True = stop as `signal` would.
   */
  readonly stopRequested?: () => boolean
  /** The sampler of the run (default: `makeSampler` with `cfg.workers` threads). It is closed at the end. */
  readonly sampler?: (
    cfg: ExperimentConfig,
    runDir: string,
    onMessage: (line: string) => void
  ) => Promise<E.Either<TmamlError, Sampler>>
  /** Run even when the memory estimate exceeds the machine (default false). */
  readonly skipMemoryCheck?: boolean
  /** The memory the run may use, in bytes (default `memoryLimit()`). */
  readonly memoryLimit?: number
  /** Write TensorBoard scalars to <run>/tensorboard (default true). */
  readonly tensorboard?: boolean
}

// ---------------------------------------------------------------------------------------------
// provenance
// ---------------------------------------------------------------------------------------------

const packageRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..')

const packageInfo = (): { readonly name: string; readonly version: string } => {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as Record<string, unknown>
    return { name: String(j['name'] ?? 'tmaml-ts'), version: String(j['version'] ?? 'unknown') }
  } catch {
    return { name: 'tmaml-ts', version: 'unknown' }
  }
}

const gitCommit = (): string | null => {
  if (!fs.existsSync(path.join(packageRoot, '.git'))) return null
  try {
    const out = execFileSync('git', ['-C', packageRoot, 'rev-parse', 'HEAD'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000
    })
    const sha = out.toString('utf8').trim()
    return /^[0-9a-f]{40}$/.test(sha) ? sha : null
  } catch {
    return null
  }
}

/** The provenance of a run of this installation on `backend` with `horizon` steps, started now. */
export const currentProvenance = (backend: string, horizon: number, now: Date = new Date()): Provenance => {
  const pkg = packageInfo()
  return {
    package: pkg.name,
    version: pkg.version,
    commit: gitCommit(),
    backend,
    horizon,
    node: process.version,
    started: now.toISOString()
  }
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** A sampler event in words, or null for the ones not worth a line. */
export const describeSamplerEvent = (e: SamplerEvent): string | null => {
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

const localSampler: NonNullable<TrainingOptions['sampler']> = (cfg, _runDir, onMessage) =>
  makeSampler({
    workers: cfg.workers,
    onEvent: (e) => {
      const m = describeSamplerEvent(e)
      if (m !== null) onMessage(m)
    }
  })

/** What is on disk in `runDir` now. */
export const savedIn = (runDir: string): Saved => {
  let lines = 0
  try {
    lines = fs
      .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '').length
  } catch {
    lines = 0
  }
  const policy = path.join(runDir, 'policy.json')
  const tb = path.join(runDir, 'tensorboard')
  return {
    runDir,
    checkpoint:
      iterationIn(path.join(runDir, checkpointFile)) ?? iterationIn(path.join(runDir, previousCheckpointFile)),
    previous: fs.existsSync(path.join(runDir, checkpointFile))
      ? iterationIn(path.join(runDir, previousCheckpointFile))
      : null,
    metricsLines: lines,
    snapshots: listSnapshots(runDir).map((s) => s.file),
    policy: fs.existsSync(policy) ? policy : null,
    tensorboard: fs.existsSync(tb) ? tb : null
  }
}

/**
 * The iteration a checkpoint file resumes at, read without decoding its config (which may name an
 * estimator only the process that trained knew), or null when it is missing or damaged.
 */
const iterationIn = (file: string): number | null => {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      state?: { iteration?: unknown }
    }
    return typeof j.state?.iteration === 'number' ? j.state.iteration : null
  } catch {
    return null
  }
}

/** A run folder, locked, with the config and the state to start from. */
interface Prepared {
  readonly cfg: ExperimentConfig
  readonly runDir: string
  readonly start: TrainState | null
  readonly lock: RunLock
}

const failure = (
  error: TmamlError,
  kind: TrainingFailure['kind'],
  runDir: string | null = null,
  repeats = false
): TrainingFailure => ({ error, kind, saved: runDir === null ? null : savedIn(runDir), repeats })

/** Refuse a config whose estimated memory exceeds what the run may use (unless told to go on). */
const memoryCheck = (cfg: ExperimentConfig, o: TrainingOptions): E.Either<TrainingFailure, void> => {
  const env = getEnvSpec(cfg.env)
  if (E.isLeft(env) || o.skipMemoryCheck === true) return E.right(undefined)
  const horizon = cfg.horizon > 0 ? cfg.horizon : env.right.horizon
  const f = estimateFootprint(cfg, { obsDim: env.right.obsDim, actDim: env.right.actDim, horizon })
  const limit = o.memoryLimit ?? memoryLimit()
  if (f.bytes <= limit) return E.right(undefined)
  const parts = Object.entries(f.parts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${formatBytes(v)}`)
    .join(', ')
  return E.left(
    failure(
      resourceError(
        'memory',
        `this run would need about ${formatBytes(f.bytes)} of memory (${parts}), and this machine has ` +
          `${formatBytes(limit)}${process.env['TMAML_MEMORY_LIMIT_MB'] !== undefined ? ' (TMAML_MEMORY_LIMIT_MB)' : ''}; ` +
          'make tasksPerBatch, rolloutsPerTask, horizon, innerSteps or hidden smaller, or run anyway ' +
          '(--skip-memory-check; skipMemoryCheck: true in the library)'
      ),
      'usage'
    )
  )
}

const lockOf = (runDir: string, o: TrainingOptions): E.Either<TrainingFailure, RunLock> => {
  const lock = acquireRunLock(runDir)
  if (E.isLeft(lock)) return E.left(failure(lock.left, 'run'))
  const r = lock.right.replaced
  if (r !== null)
    o.onMessage?.(
      `run folder ${runDir}: took over the lock of process ${r.pid} (started ${r.since}), which is no longer running`
    )
  return E.right(lock.right)
}

/** Structural shapes of a JSON value: the same keys and array lengths, numbers as such. */
const sameShape = (a: unknown, b: unknown): boolean => {
  if (Array.isArray(a) || Array.isArray(b))
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameShape(x, b[i]))
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return (
      ka.length === kb.length &&
      ka.every((k, i) => k === kb[i] && sameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    )
  }
  return typeof a === typeof b
}

/**
 * Check a checkpoint's state against its config before anything runs: the env exists, the policy's
 * and Adam's parameters have the shapes of the config's policy, the control variate's state has the
 * shapes of a fresh one. The error names the field.
 */
export const checkStateAgainstConfig = (
  cfg: ExperimentConfig,
  state: TrainState,
  source: string
): E.Either<TmamlError, void> => {
  const env = getEnvSpec(cfg.env)
  if (E.isLeft(env)) return env
  const spec = { obsDim: env.right.obsDim, actDim: env.right.actDim, hidden: cfg.hidden, activation: cfg.activation }
  const issues = [
    ...policyParamIssues(spec, state.policy, 'state.policy'),
    ...(Object.keys(state.adam.m).length === 0 && state.adam.step === 0
      ? []
      : [
          ...policyParamIssues(spec, state.adam.m, 'state.adam.m'),
          ...policyParamIssues(spec, state.adam.v, 'state.adam.v')
        ])
  ]
  const cv = cfg.controlVariate
  if (issues.length === 0 && cv.state !== null) {
    const fresh = cv.state.codec.encode(cv.state.init(spec, cfg, rngAt(0, 'shape-check')))
    const saved: unknown = cv.state.codec.encode(state.cvState)
    if (!sameShape(shapesOf(fresh), shapesOf(saved)))
      issues.push({
        path: 'state.cvState',
        value: '{...}',
        expected: `the state of control variate '${cv.name}' for this config (its network shapes: ${JSON.stringify(shapesOf(fresh))})`
      })
  }
  return issues.length === 0
    ? E.right(undefined)
    : E.left({ _tag: 'DecodeError', source: `${source} (it does not match its config)`, issues })
}

/** A JSON value with every `values` array replaced by its length (shapes, not numbers). */
const shapesOf = (u: unknown): unknown =>
  Array.isArray(u)
    ? u.map(shapesOf)
    : typeof u === 'object' && u !== null
      ? Object.fromEntries(
          Object.entries(u).map(([k, v]) => [k, k === 'values' && Array.isArray(v) ? v.length : shapesOf(v)])
        )
      : typeof u === 'number'
        ? 0
        : u

// ---------------------------------------------------------------------------------------------
// preparing a run folder
// ---------------------------------------------------------------------------------------------

const writeConfigJson = (runDir: string, cfg: ExperimentConfig, provenance: Provenance | null) =>
  writeAtomic(
    path.join(runDir, 'config.json'),
    JSON.stringify({ ...encodeConfig(cfg), runDir, ...(provenance === null ? {} : { provenance }) }, null, 2) + '\n'
  )

const prepareFresh = (cfg: ExperimentConfig, o: TrainingOptions): E.Either<TrainingFailure, Prepared> => {
  const mem = memoryCheck(cfg, o)
  if (E.isLeft(mem)) return mem
  const runDir = cfg.runDir !== '' ? cfg.runDir : defaultRunDir(cfg)
  const made = ensureRunDir(runDir)
  if (E.isLeft(made)) return E.left(failure(made.left, 'run'))
  const lock = lockOf(runDir, o)
  if (E.isLeft(lock)) return lock
  const fail = (f: TrainingFailure): E.Either<TrainingFailure, Prepared> => {
    lock.right.release()
    return E.left(f)
  }
  if (fs.existsSync(path.join(runDir, checkpointFile)))
    return fail(
      failure(
        invalidInput(
          `run folder ${runDir}`,
          `already holds a run; resume it with --resume ${runDir}, or choose another --run-dir`
        ),
        'usage'
      )
    )
  try {
    for (const f of ['metrics.jsonl', 'metrics.csv', previousCheckpointFile])
      fs.rmSync(path.join(runDir, f), { force: true })
  } catch (err) {
    return fail(failure(resourceError(`run folder ${runDir}`, `cannot remove old metrics: ${String(err)}`), 'run'))
  }
  const w = writeConfigJson(runDir, { ...cfg, runDir }, null)
  if (E.isLeft(w)) return fail(failure(w.left, 'run'))
  return E.right({ cfg: { ...cfg, runDir }, runDir, start: null, lock: lock.right })
}

const prepareResume = (
  runDir: string,
  iterations: number | undefined,
  o: TrainingOptions
): E.Either<TrainingFailure, Prepared> => {
  const resumable = checkResumable(runDir)
  if (E.isLeft(resumable)) return E.left(failure(resumable.left, 'run'))
  const lock = lockOf(runDir, o)
  if (E.isLeft(lock)) return lock
  const fail = (f: TrainingFailure): E.Either<TrainingFailure, Prepared> => {
    lock.right.release()
    return E.left(f)
  }
  const ck = readCheckpoint(runDir)
  if (E.isLeft(ck)) return fail(failure(ck.left, 'run'))
  if (ck.right.fallback !== null) o.onMessage?.(`checkpoint: ${ck.right.fallback}`)
  const extended = resolveConfig(
    { ...encodeConfig(ck.right.config), ...(iterations === undefined ? {} : { iterations }) },
    ck.right.config,
    'resumed config'
  )
  if (E.isLeft(extended)) return fail(failure(extended.left, 'usage'))
  const cfg: ExperimentConfig = { ...extended.right, runDir }
  const valid = checkStateAgainstConfig(cfg, ck.right.state, `checkpoint ${ck.right.file}`)
  if (E.isLeft(valid)) return fail(failure(valid.left, 'run'))
  const mem = memoryCheck(cfg, o)
  if (E.isLeft(mem)) return fail(mem.left)
  const start = ck.right.state
  const tr = truncateMetrics(runDir, start.iteration)
  if (E.isLeft(tr)) return fail(failure(tr.left, 'run'))
  if (tr.right.tornLine !== null)
    o.onMessage?.(
      `metrics.jsonl: dropped its last line, cut short by a crash (${JSON.stringify(tr.right.tornLine.slice(0, 60))}); that iteration runs again`
    )
  if (tr.right.kept < start.iteration)
    o.onMessage?.(
      `metrics.jsonl: holds ${tr.right.kept} of the ${start.iteration} iterations before the checkpoint (lines lost before they reached the disk); training continues from the checkpoint`
    )
  return E.right({ cfg, runDir, start, lock: lock.right })
}

// ---------------------------------------------------------------------------------------------
// running
// ---------------------------------------------------------------------------------------------

/** What `execute` started with: told to the caller before the first iteration. */
export interface RunStart {
  readonly runDir: string
  readonly cfg: ExperimentConfig
  readonly deps: TrainDeps
  readonly backend: BackendInfo
  readonly start: TrainState
  readonly resumed: boolean
}

const execute = async (
  p: Prepared,
  o: TrainingOptions & { readonly onStart?: (s: RunStart) => void }
): Promise<E.Either<TrainingFailure, TrainingOutcome>> => {
  const { cfg, runDir, start, lock } = p
  const cleanup: Array<() => void | Promise<void>> = [lock.release]
  process.once('exit', lock.release)
  cleanup.push(() => void process.removeListener('exit', lock.release))
  const message = o.onMessage ?? (() => undefined)
  const stopped = (): boolean => o.signal?.aborted === true || o.stopRequested?.() === true
  const fail = (error: TmamlError, kind: TrainingFailure['kind'], repeats = false) =>
    E.left(failure(error, kind, runDir, repeats))
  try {
    // Services: backend, sampler, the run's dependencies.
    const backend = await startBackend(cfg.backend === 'auto' ? undefined : cfg.backend, process.env)
    if (E.isLeft(backend)) return fail(backend.left, 'run')
    const startedAt = new Date()
    const started = Date.now()
    if (stopped()) return E.right(await stoppedEarly(p, started))
    const sampler = await (o.sampler ?? localSampler)(cfg, runDir, message)
    if (E.isLeft(sampler)) return fail(sampler.left, 'run')
    cleanup.push(() => sampler.right.close())
    const made = trainDeps(cfg, sampler.right)
    if (E.isLeft(made)) return fail(made.left, 'usage')
    const deps: TrainDeps = o.outer === undefined ? made.right : { ...made.right, outer: o.outer }
    const provenance = currentProvenance(backend.right.active, deps.horizon, startedAt)
    const wc = writeConfigJson(runDir, cfg, provenance)
    if (E.isLeft(wc)) return fail(wc.left, 'run')
    const cf = clearFailure(runDir)
    if (E.isLeft(cf)) return fail(cf.left, 'run')
    let state: TrainState
    try {
      state = start ?? initialState(deps)
    } catch (err) {
      if (!(err instanceof RangeError)) throw err
      return fail(resourceError('initial state', `cannot allocate the initial state: ${err.message}`), 'run')
    }
    const saveCheckpoint = (s: TrainState): E.Either<TmamlError, void> => {
      const c = writeCheckpoint(runDir, cfg, s)
      if (E.isLeft(c)) return c
      return writeAtomic(
        path.join(runDir, 'policy.json'),
        JSON.stringify(policyFileJson(cfg, deps.policy, s.policy, s.iteration)) + '\n'
      )
    }
    if (start === null) {
      const w = saveCheckpoint(state)
      if (E.isLeft(w)) return fail(w.left, 'run')
      if (cfg.snapshotEvery > 0) {
        const sn = writeSnapshot(runDir, cfg, state)
        if (E.isLeft(sn)) return fail(sn.left, 'run')
      }
    }
    let tensorboard: TensorboardWriter | null = null
    if (o.tensorboard !== false) {
      const tb = openTensorboard(path.join(runDir, 'tensorboard'))
      if (E.isLeft(tb)) message(`tensorboard: not written (${formatError(tb.left)})`)
      else {
        tensorboard = tb.right
        cleanup.push(() => tb.right.close())
      }
    }
    o.onStart?.({ runDir, cfg, deps, backend: backend.right, start: state, resumed: start !== null })

    // Iterations: metrics, checkpoints and snapshots at the edge of the stream; a stop request ends
    // it at the next iteration boundary (safePoint), where the state is whole.
    let checkpointed = state.iteration
    let last: TrainState = state
    let stageFailure: TmamlError | null = null
    const stages = o.stages ?? standardIteration()
    try {
      await lastValueFrom(
        metaTrain(deps, (c$) => c$.pipe(safePoint(stopped), stages))(state).pipe(
          tap((ctx) => {
            const base = toRecord(ctx)
            const r: RunRecord = {
              ...base,
              time: new Date().toISOString(),
              wallSeconds: (Date.now() - started) / 1000,
              backend: provenance.backend,
              horizon: provenance.horizon,
              version: provenance.version,
              commit: provenance.commit
            }
            const m = appendMetrics(runDir, r)
            if (E.isLeft(m)) throw new StageError('metrics', m.left)
            if (tensorboard !== null) {
              const t = tensorboard.scalars(r.iteration, scalarsOf(r))
              if (E.isLeft(t)) {
                message(`tensorboard: stopped writing (${formatError(t.left)})`)
                tensorboard = null
              }
            }
            const next = ctx.next
            if (next === null)
              throw new StageError(
                'metaUpdate',
                invalidInput(
                  'runTraining',
                  'an iteration ended without an update (a stage list must end with metaUpdate)'
                )
              )
            last = next
            if (next.iteration % cfg.checkpointEvery === 0 || next.iteration >= cfg.iterations) {
              const c = saveCheckpoint(next)
              if (E.isLeft(c)) throw new StageError('checkpoint', c.left)
              checkpointed = next.iteration
            }
            if (cfg.snapshotEvery > 0 && next.iteration % cfg.snapshotEvery === 0) {
              const sn = writeSnapshot(runDir, cfg, next)
              if (E.isLeft(sn)) throw new StageError('snapshot', sn.left)
            }
            o.onIteration?.(r, ctx)
          })
        ),
        { defaultValue: null }
      )
    } catch (err) {
      if (err instanceof StageError) stageFailure = err.error
      else throw err
    }
    if (stageFailure !== null) {
      const repeats = stageFailure._tag === 'NumericalError'
      if (repeats) {
        // A record for tools that continue runs: re-running this one would fail the same way.
        const w = writeFailure(runDir, {
          iteration: last.iteration,
          kind: stageFailure._tag,
          message: formatError(stageFailure)
        })
        if (E.isLeft(w)) message(`could not record the failure in the run folder: ${formatError(w.left)}`)
      }
      return fail(stageFailure, 'run', repeats)
    }
    if (stopped() && checkpointed !== last.iteration) {
      const c = saveCheckpoint(last)
      if (E.isLeft(c)) return fail(c.left, 'run')
    }
    return E.right({
      status: last.iteration < cfg.iterations ? 'stopped' : 'finished',
      runDir,
      state: last,
      saved: savedIn(runDir),
      provenance,
      seconds: (Date.now() - started) / 1000
    })
  } finally {
    let first: unknown
    let threw = false
    for (const f of cleanup.reverse())
      try {
        await f()
      } catch (err) {
        if (!threw) first = err
        threw = true
      }
    if (threw) throw first
  }
}

const stoppedEarly = async (p: Prepared, started: number): Promise<TrainingOutcome> => {
  const ck = readCheckpoint(p.runDir)
  return {
    status: 'stopped',
    runDir: p.runDir,
    state: E.isRight(ck) ? ck.right.state : (p.start as TrainState),
    saved: savedIn(p.runDir),
    provenance: currentProvenance('none', p.cfg.horizon, new Date(started)),
    seconds: (Date.now() - started) / 1000
  }
}

/** The numbers of a record for TensorBoard: returns, stats and timings under their metrics names. */
const scalarsOf = (r: RunRecord): ReadonlyArray<readonly [string, number]> => [
  ...(['returnPre', 'returnPost', 'evalPre', 'evalPost', 'envSteps', 'wallSeconds'] as const).flatMap((k) => {
    const v = r[k]
    return typeof v === 'number' && Number.isFinite(v) ? [[k, v] as const] : []
  }),
  ...Object.entries(r.stats).flatMap(([k, v]) => (Number.isFinite(v) ? [[`stats/${k}`, v] as const] : [])),
  ...Object.entries(r.timings).flatMap(([k, v]) => (Number.isFinite(v) ? [[`timings/${k}`, v] as const] : []))
]

// ---------------------------------------------------------------------------------------------
// entry points
// ---------------------------------------------------------------------------------------------

/**
 * Train `cfg` from scratch in its run folder (`cfg.runDir`, or a fresh one under runs/), as `tmaml
 * train` does. Assumes nothing started: it starts the backend and the sampler and closes the sampler.
 *
 * @category training
 */
export const runTraining = async (
  cfg: ExperimentConfig,
  options: TrainingOptions & { readonly onStart?: (s: RunStart) => void } = {}
): Promise<E.Either<TrainingFailure, TrainingOutcome>> => {
  const p = prepareFresh(cfg, options)
  return E.isLeft(p) ? p : execute(p.right, options)
}

/**
 * Continue the run in `runDir` from its checkpoint (the previous one when the latest is damaged),
 * with its own config; `iterations` may extend it. The checkpoint is checked against its config
 * before anything is sampled. Metrics after the checkpoint are cut back and re-run, bit for bit.
 *
 * @category training
 */
export const resumeTraining = async (
  runDir: string,
  options: TrainingOptions & { readonly iterations?: number; readonly onStart?: (s: RunStart) => void } = {}
): Promise<E.Either<TrainingFailure, TrainingOutcome>> => {
  const modules = await loadRunModules(runDir)
  if (E.isLeft(modules)) return E.left(failure(modules.left, 'run'))
  const p = prepareResume(runDir, options.iterations, options)
  return E.isLeft(p) ? p : execute(p.right, options)
}

/**
 * Load the estimator module a run folder's checkpoints name (a run trained with `--estimator
 * ./my.mjs`), so that its checkpoints decode. Nothing to do for a built-in estimator.
 *
 * @category training
 */
export const loadRunModules = async (runDir: string): Promise<E.Either<TmamlError, void>> => {
  for (const f of [checkpointFile, previousCheckpointFile, 'config.json']) {
    let spec: unknown
    try {
      const j = JSON.parse(fs.readFileSync(path.join(runDir, f), 'utf8')) as Record<string, unknown>
      const c = (f === 'config.json' ? j : j['config']) as Record<string, unknown> | undefined
      spec = c?.['estimator']
    } catch {
      continue
    }
    if (typeof spec === 'string' && isModuleSpec(spec)) {
      const e = await loadEstimatorModule(spec)
      return E.isLeft(e) ? e : E.right(undefined)
    }
    return E.right(undefined)
  }
  return E.right(undefined)
}

/**
 * The dependencies of a run of `cfg` for composing your own pipeline: the backend started, a sampler
 * (default: `cfg.workers` threads) and `trainDeps`. Close the sampler with `close` when done.
 *
 * @category training
 */
export const makeTrainDeps = async (
  cfg: ExperimentConfig,
  options: { readonly sampler?: Sampler; readonly outer?: OuterStep } = {}
): Promise<E.Either<TmamlError, TrainDeps & { readonly close: () => Promise<void> }>> => {
  const backend = await startBackend(cfg.backend === 'auto' ? undefined : cfg.backend, process.env)
  if (E.isLeft(backend)) return backend
  const sampler = options.sampler !== undefined ? E.right(options.sampler) : await makeSampler({ workers: cfg.workers })
  if (E.isLeft(sampler)) return sampler
  const deps = trainDeps(cfg, sampler.right)
  if (E.isLeft(deps)) {
    await sampler.right.close()
    return deps
  }
  return E.right({
    ...deps.right,
    ...(options.outer === undefined ? {} : { outer: options.outer }),
    close: () => sampler.right.close()
  })
}
