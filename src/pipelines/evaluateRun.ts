/**
 * Evaluating a trained run: the saved meta-policy (the latest checkpoint, or a snapshot) adapted to
 * held-out or given tasks with 1..K inner steps, exactly as training adapts (the training stages
 * `innerLoop` and `rolloutPost` on a context of those tasks, with the run's estimator, control variate
 * and step size), reporting the return before adaptation and after each step: mean and standard
 * deviation over all episodes, and per task. `tmaml eval` is a shell over `evaluateRun`; it writes the
 * result to `<run>/eval.json`. With `record`, the episodes' simulator positions are recorded as well
 * (`recordAdaptation`, the recordings `tmaml view` replays).
 *
 * @example
 * const r = await evaluateRun('runs/my-run', { innerSteps: 3, episodes: 10, tasks: 5 })
 * // Right({ steps: [{ innerStep: 0, mean, std, perTask: [...] }, ..., { innerStep: 3, ... }], ... })
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, of } from 'rxjs'
import { type TmamlError, invalidInput } from '../base/errors.js'
import { rngAt } from '../base/rng.js'
import { startBackend } from '../graph/backend.js'
import type { ExperimentConfig } from './config.js'
import { episodeReturns } from './episodes.js'
import { type Recording, recordAdaptation } from './record.js'
import { type CheckpointRead, listSnapshots, readCheckpoint, readCheckpointFile, writeAtomic } from './runDir.js'
import { checkStateAgainstConfig, loadRunModules } from './runTraining.js'
import { makeSampler } from './sampler/makeSampler.js'
import type { EpisodeBatch, Sampler } from './sampler/types.js'
import { StageError, type TrainDeps, innerLoop, rolloutPost, startIteration, trainDeps } from './stages.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** What to evaluate. */
export interface EvaluateOptions {
  /** 'latest' (default): checkpoint.json; a number: the snapshot (or checkpoint) of that iteration. */
  readonly checkpoint?: number | 'latest'
  /** Held-out tasks: this many, drawn from the run's evaluation stream (default: the run's `evalTasks`). */
  readonly tasks?: number
  /** Or these tasks (each checked with the env's task codec). */
  readonly taskList?: ReadonlyArray<unknown>
  /** Inner steps, 1..10 (default: the run's `innerSteps`). */
  readonly innerSteps?: number
  /** Episodes per task and step (default: the run's `rolloutsPerTask`). */
  readonly episodes?: number
  /** Seed of the evaluation's random streams (default: the run's seed + 1, apart from training's). */
  readonly seed?: number
  /** Also record each task's episodes (positions per frame) for replay. */
  readonly record?: boolean
  /** Sampler worker threads (default 0: this thread). */
  readonly workers?: number
  /** A sampler to use (then `workers` is ignored and the sampler is not closed). */
  readonly sampler?: Sampler
  /** One line per step done. */
  readonly onProgress?: (line: string) => void
}

/** Returns of one task at one step. */
export interface TaskReturns {
  readonly task: unknown
  readonly mean: number
  readonly std: number
  readonly returns: ReadonlyArray<number>
}

/** One policy of the adaptation: inner step 0 is the meta-policy. */
export interface StepReturns {
  readonly innerStep: number
  /** Over every episode of every task. */
  readonly mean: number
  readonly std: number
  readonly perTask: ReadonlyArray<TaskReturns>
}

/** The result of `evaluateRun`, as eval.json holds it. */
export interface Evaluation {
  readonly format: 'tmaml-eval-1'
  readonly run: string
  readonly checkpoint: { readonly iteration: number; readonly file: string }
  readonly env: string
  readonly estimator: { readonly name: string; readonly formula: string }
  readonly controlVariate: string
  readonly innerLr: number
  readonly innerSteps: number
  readonly episodes: number
  readonly seed: number
  readonly time: string
  /** `innerSteps + 1` entries. */
  readonly steps: ReadonlyArray<StepReturns>
  /** With `record`: per task, the recording file (relative to the run folder). */
  readonly recordings?: ReadonlyArray<string>
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const meanStd = (xs: ReadonlyArray<number>): { readonly mean: number; readonly std: number } => {
  const n = xs.length
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(n, 1)
  const v = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0
  return { mean, std: Math.sqrt(v) }
}

const stepReturns = (
  innerStep: number,
  tasks: ReadonlyArray<unknown>,
  batches: ReadonlyArray<EpisodeBatch>
): StepReturns => {
  const perTask = batches.map((b, k): TaskReturns => {
    const returns = Array.from(episodeReturns(b))
    return { task: tasks[k], ...meanStd(returns), returns }
  })
  return { innerStep, ...meanStd(perTask.flatMap((t) => t.returns)), perTask }
}

/** The checkpoint `which` of a run: the latest, or the snapshot (or checkpoint) of an iteration. */
export const readRunCheckpoint = (
  runDir: string,
  which: number | 'latest' = 'latest'
): E.Either<TmamlError, CheckpointRead> => {
  const latest = readCheckpoint(runDir)
  if (which === 'latest') return latest
  if (E.isRight(latest) && latest.right.state.iteration === which) return latest
  const snap = listSnapshots(runDir).find((s) => s.iteration === which)
  if (snap !== undefined) return readCheckpointFile(snap.file)
  const have = [
    ...listSnapshots(runDir).map((s) => s.iteration),
    ...(E.isRight(latest) ? [latest.right.state.iteration] : [])
  ]
  return E.left(
    invalidInput(
      `run folder ${runDir}`,
      `has no checkpoint of iteration ${which}; it has ${have.length === 0 ? 'none' : [...new Set(have)].sort((a, b) => a - b).join(', ')} (snapshots/ and checkpoint.json)`
    )
  )
}

// ---------------------------------------------------------------------------------------------
// evaluation
// ---------------------------------------------------------------------------------------------

/**
 * Adapt a run's saved meta-policy to tasks and report the returns before and after each inner step.
 * Starts the backend (the run's) and a sampler (closed at the end, unless given). Every random number
 * derives from `seed`, so an evaluation is reproducible. Nothing in the run folder changes (`tmaml
 * eval` writes eval.json itself); recordings, when asked for, go to `<run>/recordings/`.
 *
 * @category evaluation
 */
export const evaluateRun = async (
  runDir: string,
  o: EvaluateOptions = {}
): Promise<E.Either<TmamlError, Evaluation>> => {
  const modules = await loadRunModules(runDir)
  if (E.isLeft(modules)) return modules
  const ck = readRunCheckpoint(runDir, o.checkpoint)
  if (E.isLeft(ck)) return ck
  const base = ck.right.config
  const valid = checkStateAgainstConfig(base, ck.right.state, `checkpoint ${ck.right.file}`)
  if (E.isLeft(valid)) return valid
  const innerSteps = o.innerSteps ?? base.innerSteps
  const episodes = o.episodes ?? base.rolloutsPerTask
  const seed = o.seed ?? base.seed + 1
  const where = 'evaluateRun'
  if (!Number.isInteger(innerSteps) || innerSteps < 1 || innerSteps > 10)
    return E.left(invalidInput(where, `innerSteps must be an integer in [1, 10], got ${innerSteps}`))
  if (!Number.isInteger(episodes) || episodes < 1 || episodes > 10_000)
    return E.left(invalidInput(where, `episodes must be an integer in [1, 10000], got ${episodes}`))
  if (!Number.isSafeInteger(seed) || seed < 0)
    return E.left(invalidInput(where, `seed must be a safe integer >= 0, got ${seed}`))
  const cfg: ExperimentConfig = { ...base, innerSteps, rolloutsPerTask: episodes, seed }

  const backend = await startBackend(base.backend === 'auto' ? undefined : base.backend, process.env)
  if (E.isLeft(backend)) return backend
  const sampler = o.sampler !== undefined ? E.right(o.sampler) : await makeSampler({ workers: o.workers ?? 0 })
  if (E.isLeft(sampler)) return sampler
  try {
    const made = trainDeps(cfg, sampler.right)
    if (E.isLeft(made)) return made
    const deps: TrainDeps = made.right
    const n = o.tasks ?? base.evalTasks
    if (o.taskList === undefined && (!Number.isInteger(n) || n < 1 || n > 10_000))
      return E.left(invalidInput(where, `tasks must be an integer in [1, 10000], got ${n}`))
    // The run's own held-out tasks (training's evaluation draws them from this stream too).
    const tasks = o.taskList ?? deps.env.sampleTasks(rngAt(base.seed, 'eval-tasks'), n)
    const bad = tasks.findIndex((t) => !deps.env.taskCodec.is(t))
    if (bad >= 0)
      return E.left(
        invalidInput(
          where,
          `task ${JSON.stringify(tasks[bad])} is not a task of ${deps.env.id} (${deps.env.taskCodec.name})`
        )
      )
    o.onProgress?.(
      `eval ${runDir} at iteration ${ck.right.state.iteration}: ${tasks.length} task(s) x ${episodes} episode(s), ${innerSteps} inner step(s)`
    )
    let done
    try {
      done = await lastValueFrom(
        of({ ...startIteration(deps, ck.right.state), tasks }).pipe(innerLoop(), rolloutPost())
      )
    } catch (err) {
      if (err instanceof StageError) return E.left(err.error)
      throw err
    }
    if (done.post._tag === 'Open') return E.left(invalidInput(where, 'the post-adaptation episodes were not sampled'))
    const post = done.post.tasks
    const steps: StepReturns[] = [
      ...Array.from({ length: innerSteps }, (_, s) =>
        stepReturns(
          s,
          tasks,
          done.inner.map((rs) => rs[s].batch)
        )
      ),
      stepReturns(
        innerSteps,
        tasks,
        post.map((p) => p.batch)
      )
    ]
    for (const s of steps)
      o.onProgress?.(`  after ${s.innerStep} inner step(s): return ${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}`)
    const recordings: string[] = []
    if (o.record === true) {
      const folder = path.join(runDir, 'recordings')
      fs.mkdirSync(folder, { recursive: true })
      for (let k = 0; k < tasks.length; k++) {
        const rec = await recordAdaptation({
          deps,
          state: ck.right.state,
          task: tasks[k],
          innerSteps,
          seed,
          show: Math.min(episodes, 3)
        })
        if (E.isLeft(rec)) return rec
        const name = `eval-it${ck.right.state.iteration}-task${k}-s${seed}.json`
        const w = writeAtomic(path.join(folder, name), JSON.stringify(rec.right satisfies Recording))
        if (E.isLeft(w)) return w
        recordings.push(path.join('recordings', name))
        o.onProgress?.(`  recorded task ${k}: ${path.join(folder, name)}`)
      }
    }
    return E.right({
      format: 'tmaml-eval-1',
      run: runDir,
      checkpoint: { iteration: ck.right.state.iteration, file: ck.right.file },
      env: base.env,
      estimator: { name: base.estimator.name, formula: base.estimator.formula },
      controlVariate: base.controlVariate.name,
      innerLr: base.innerLr,
      innerSteps,
      episodes,
      seed,
      time: new Date().toISOString(),
      steps,
      ...(o.record === true ? { recordings } : {})
    })
  } finally {
    if (o.sampler === undefined) await sampler.right.close()
  }
}
