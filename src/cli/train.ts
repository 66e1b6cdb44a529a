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
import { startBackend } from '../graph/backend.js'
import {
  type ExperimentConfig,
  encodeConfig,
  publishedDefaults,
  quickstart,
  resolveConfig
} from '../pipelines/config.js'
import { controlVariateNames } from '../pipelines/controlVariates/registry.js'
import {
  appendMetrics,
  defaultRunDir,
  readCheckpoint,
  truncateMetrics,
  writeAtomic,
  writeCheckpoint
} from '../pipelines/runDir.js'
import { makeSampler } from '../pipelines/sampler/index.js'
import type { SamplerEvent } from '../pipelines/sampler/types.js'
import { StageError, type TrainState, trainDeps } from '../pipelines/stages.js'
import { type IterationRecord, initialState, metaTrain, toRecord } from '../pipelines/train.js'
import { flagOptions, parseFlags } from './flags.js'
import { startRedisSampler } from './redisSampler.js'
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
  --init-log-std X      the policy's initial log standard deviation
  --eval-every N        --eval-tasks N   --checkpoint-every N
  --backend B           auto | native | wasm | cpu | tensorflow | tensorflow-gpu
  --redis URL           sample on 'tmaml worker --redis URL' processes (any machine) instead of
                        local threads; same results (README, "Scaling out")
  --run-dir DIR         where to write (default runs/<env>-<estimator>-<outer>-s<seed>-<time>)
  --json                print each iteration's record as a JSON line on stdout

Writes <run>/config.json, metrics.jsonl, metrics.csv, checkpoint.json, learning-curve.{svg,png}.
Exit code: 0 done, 1 the run failed (message says why; the last checkpoint is intact), 2 bad usage.`

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

const flagSpec = flagOptions(['config', 'resume', 'redis', ...flagFields.map(([flag]) => flag)], ['json'])

const flagOverrides = (values: Readonly<Record<string, unknown>>): E.Either<string, Record<string, unknown>> => {
  const out: Record<string, unknown> = {}
  for (const [flag, field, kind] of flagFields) {
    const v = values[flag]
    if (typeof v !== 'string') continue
    if (kind === 'number') {
      const n = v.trim() === '' ? NaN : Number(v)
      if (!Number.isFinite(n)) return E.left(`--${flag}: got '${v}', expected a number`)
      out[field] = n
    } else out[field] = v
  }
  return E.right(out)
}

const readJson = (file: string): E.Either<TmamlError, unknown> => {
  try {
    return E.right(JSON.parse(fs.readFileSync(file, 'utf8')))
  } catch (err) {
    return E.left(resourceError(`--config ${file}`, err instanceof Error ? err.message : String(err)))
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

  // 1. The config and the starting state: a fresh run, or a resumed one.
  let cfg: ExperimentConfig
  let start: TrainState | null = null
  let runDir: string
  if (typeof values['resume'] === 'string') {
    runDir = values['resume']
    const disallowed = Object.keys(overrides.right).filter((k) => k !== 'iterations')
    if (disallowed.length > 0 || typeof values['config'] === 'string') {
      console.error(
        `--resume continues a run with its own config; only --iterations may change it (got ${[...disallowed, ...(typeof values['config'] === 'string' ? ['config'] : [])].join(', ')})`
      )
      return 2
    }
    const ck = readCheckpoint(runDir)
    if (E.isLeft(ck)) {
      console.error(`tmaml train --resume: ${formatError(ck.left)}`)
      return 1
    }
    const extended = resolveConfig({ ...ck.right.config, ...overrides.right }, publishedDefaults, 'resumed config')
    if (E.isLeft(extended)) {
      console.error(formatError(extended.left))
      return 2
    }
    cfg = extended.right
    start = ck.right.state
    const tr = truncateMetrics(runDir, start.iteration)
    if (E.isLeft(tr)) {
      console.error(formatError(tr.left))
      return 1
    }
  } else {
    let base: ExperimentConfig = publishedDefaults
    let user: Record<string, unknown> = {}
    if (typeof values['config'] === 'string') {
      const j = readJson(values['config'])
      if (E.isLeft(j)) {
        console.error(formatError(j.left))
        return 2
      }
      if (typeof j.right !== 'object' || j.right === null || Array.isArray(j.right)) {
        console.error(`--config ${values['config']}: expected a JSON object`)
        return 2
      }
      user = j.right as Record<string, unknown>
    } else {
      const q = resolveConfig(quickstart, publishedDefaults, 'quickstart')
      if (E.isLeft(q)) throw new Error(formatError(q.left))
      base = q.right
    }
    const resolved = resolveConfig(
      { ...user, ...overrides.right },
      base,
      typeof values['config'] === 'string' ? `config ${values['config']}` : 'flags'
    )
    if (E.isLeft(resolved)) {
      console.error(formatError(resolved.left))
      return 2
    }
    cfg = resolved.right
    runDir = cfg.runDir !== '' ? cfg.runDir : defaultRunDir(cfg)
    if (fs.existsSync(path.join(runDir, 'checkpoint.json'))) {
      console.error(`${runDir} already holds a run; resume it with --resume ${runDir}, or choose another --run-dir`)
      return 2
    }
    fs.mkdirSync(runDir, { recursive: true })
    for (const f of ['metrics.jsonl', 'metrics.csv']) fs.rmSync(path.join(runDir, f), { force: true })
    const w = writeAtomic(
      path.join(runDir, 'config.json'),
      JSON.stringify({ ...encodeConfig(cfg), runDir }, null, 2) + '\n'
    )
    if (E.isLeft(w)) {
      console.error(formatError(w.left))
      return 1
    }
  }

  // 2. Services: backend, environment, estimator, sampler.
  const backend = await startBackend(cfg.backend === 'auto' ? undefined : cfg.backend, process.env)
  if (E.isLeft(backend)) {
    console.error(formatError(backend.left))
    return 1
  }
  const report = (msg: string | null): void => {
    if (msg !== null) process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${msg}\n`)
  }
  const redis = typeof values['redis'] === 'string' ? values['redis'] : undefined
  const sampler =
    redis === undefined
      ? await services.makeSampler({ workers: cfg.workers, onEvent: (e) => report(describeEvent(e)) })
      : await startRedisSampler(redis, runDir, report, describeEvent)
  if (E.isLeft(sampler)) {
    console.error(formatError(sampler.left))
    return 1
  }
  const made = trainDeps(cfg, sampler.right)
  if (E.isLeft(made)) {
    await sampler.right.close()
    console.error(formatError(made.left))
    return 2
  }
  const deps = made.right
  const { horizon } = deps
  const state = start ?? initialState(deps)
  if (start === null) {
    const w = writeCheckpoint(runDir, cfg, state)
    if (E.isLeft(w)) {
      console.error(formatError(w.left))
      return 1
    }
  }
  process.stderr.write(
    `run ${runDir}\n` +
      `  ${cfg.env} (horizon ${horizon}), estimator ${cfg.estimator.name}, control variate ${cfg.controlVariate.name}, outer ${cfg.outer}\n` +
      `  ${cfg.tasksPerBatch} tasks x ${cfg.rolloutsPerTask} episodes, ${cfg.innerSteps} inner step(s) lr ${cfg.innerLr}, outer lr ${cfg.outerLr}, seed ${cfg.seed}\n` +
      `  backend ${backend.right.active}${backend.right.notes.length > 0 ? ` (${backend.right.notes.join(', ')})` : ''}, ` +
      `${redis === undefined ? `${cfg.workers} sampler worker(s)` : `sampling on the workers of ${redis.replace(/:[^:@/]*@/, ':***@')}`}` +
      `${start !== null ? `, resuming at iteration ${start.iteration}` : ''}\n`
  )

  // 3. Train: metrics and checkpoints at the edge of the stream.
  const started = Date.now()
  let failure: TmamlError | null = null
  try {
    await lastValueFrom(
      metaTrain(deps)(state).pipe(
        tap((ctx) => {
          const r = toRecord(ctx)
          const m = appendMetrics(runDir, r)
          if (E.isLeft(m)) throw new StageError('metrics', m.left)
          const next = ctx.next as TrainState
          if (next.iteration % cfg.checkpointEvery === 0 || next.iteration >= cfg.iterations) {
            const c = writeCheckpoint(runDir, cfg, next)
            if (E.isLeft(c)) throw new StageError('checkpoint', c.left)
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
  } finally {
    await sampler.right.close()
  }
  if (process.stderr.isTTY) process.stderr.write('\n')
  if (failure !== null) {
    console.error(
      `tmaml train: the run stopped: ${formatError(failure)}\nresume from the last checkpoint with: tmaml train --resume ${runDir}`
    )
    return 1
  }
  const plot = await renderLearningCurve(runDir)
  if (E.isLeft(plot)) process.stderr.write(`learning curve not rendered: ${formatError(plot.left)}\n`)
  else process.stderr.write(`learning curve: ${plot.right.join(', ')}\n`)
  process.stderr.write(`done: ${runDir} (${fmtTime((Date.now() - started) / 1000)})\n`)
  return 0
}
