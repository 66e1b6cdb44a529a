/**
 * Recording adaptation: for one task, the episodes of a meta-policy before adaptation and after each
 * of 1..k inner steps, with the simulator's positions at every frame, so that a viewer can replay
 * what the policy did (`tmaml view`; `tmaml eval --record` can call the same function).
 *
 * Nothing here re-implements training: the inner loop is the training stages themselves
 * (`innerLoop` = rolloutPre -> fitControlVariates -> adaptPolicies, then `rolloutPost`), run on a
 * one-task context with the run's estimator, control variate and step size. The sampler is wrapped,
 * not changed: after each request it re-runs the shown episodes through the sampler's own chunk code
 * (`runChunk`, the function worker threads run) on envs whose state is read after every step, and
 * checks that the re-run reproduces the sampled observations bit for bit (episodes are pure functions
 * of their random-stream path), so what is replayed is what was adapted on.
 *
 * @example
 * const rec = await recordAdaptation({ deps, state, task: { direction: -1 }, innerSteps: 2, seed: 7 })
 * // Right: rec.steps[0] = before adaptation, rec.steps[s] = after s inner steps; each with
 * //        meanReturn (all episodes of the batch) and episodes[e].qpos [frames][nq], rewards [steps]
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, of } from 'rxjs'
import { type TmamlError, invalidInput, numericalError } from '../base/errors.js'
import { robots } from '../envs/robots.js'
import type { EnvSpec } from '../envs/registry.js'
import type { VecEnv } from '../envs/vecEnv.js'
import { episodeReturns, meanReturn } from './episodes.js'
import { chunkJob, makeEnvCache, runChunk, type EnvCache } from './sampler/chunk.js'
import type { ChunkResult } from './sampler/protocol.js'
import { validateRequest } from './sampler/request.js'
import { promiseSampler } from './sampler/stream.js'
import type { EpisodeBatch, RolloutRequest, Sampler } from './sampler/types.js'
import { StageError, type TrainDeps, type TrainState, innerLoop, rolloutPost, startIteration } from './stages.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** One replayable episode. */
export interface RecordedEpisode {
  /** `[frames][qposDim]`: the positions after the reset and after each step (frames = steps + 1). */
  readonly qpos: ReadonlyArray<ReadonlyArray<number>>
  /** `[steps]`: the reward of each step. */
  readonly rewards: ReadonlyArray<number>
  readonly return: number
  /** Ended by the env's termination rule before the horizon. */
  readonly terminated: boolean
}

/** The episodes of one policy of the adaptation: inner step 0 is the meta-policy itself. */
export interface RecordedStep {
  readonly innerStep: number
  /** Mean return over all the episodes sampled at this step (as `returnPre`/`returnPost` in metrics). */
  readonly meanReturn: number
  readonly episodes: ReadonlyArray<RecordedEpisode>
}

/** A recording: where, and the episodes before adaptation and after each inner step. */
export interface Recording {
  readonly env: string
  /** The simulated system (`halfcheetah`, `ant`, ... or `point2d`). */
  readonly system: string
  readonly simulator: 'mujoco' | 'js'
  /** What a frame's positions are: MuJoCo's `qpos`, or a JS env's whole state. */
  readonly qposDim: number
  /** Seconds of simulated time per step (MuJoCo robots), for real-time playback. */
  readonly dt: number | null
  readonly task: unknown
  readonly seed: number
  readonly innerSteps: number
  readonly horizon: number
  /** `innerSteps + 1` entries: before adaptation, then after 1..k inner steps. */
  readonly steps: ReadonlyArray<RecordedStep>
}

/** What to record. */
export interface RecordRequest {
  /** The run's services and settings (estimator, control variate, inner step size, policy, env, sampler). */
  readonly deps: TrainDeps
  /** Where the meta-policy (and a meta control variate's state) come from: a checkpoint, or the initial state. */
  readonly state: TrainState
  /** A task of the env's task distribution (checked with its codec). */
  readonly task: unknown
  /** Inner steps, an integer in [1, 10]. */
  readonly innerSteps: number
  /** The seed of every random stream of the recording (episodes, control-variate fits). */
  readonly seed: number
  /** Episodes shown per step (default 1; the adaptation uses the config's rollouts per task). */
  readonly show?: number
}

// ---------------------------------------------------------------------------------------------
// recording envs
// ---------------------------------------------------------------------------------------------

/** Positions per env of a chunk, frame by frame. */
type Frames = number[][][]

/** The positions part of an env's state: MuJoCo's qpos (the state is qpos then qvel), else all of it. */
export const qposDimOf = (spec: EnvSpec<unknown>, stateDim: number): number =>
  spec.simulator === 'mujoco' && spec.system in robots ? robots[spec.system as keyof typeof robots].nq : stateDim

/** `env`, reading every env's positions after a reset and after each step it took (not after a divergence). */
const recordingEnv = (env: VecEnv<unknown>, dim: number, frames: Frames): VecEnv<unknown> => {
  const qposOf = (i: number): number[] => {
    const s = env.getState(i)
    return E.isRight(s) ? Array.from(s.right.subarray(0, dim)) : []
  }
  return {
    ...env,
    reset: (init) => {
      const r = env.reset(init)
      if (E.isRight(r)) for (let i = 0; i < env.n; i++) frames[i] = [qposOf(i)]
      return r
    },
    step: (actions) => {
      const r = env.step(actions)
      if (E.isRight(r))
        for (let i = 0; i < env.n; i++)
          if (r.right.active[i] === 1 && r.right.diverged[i] === 0) (frames[i] ??= []).push(qposOf(i))
      return r
    }
  }
}

/** An env cache handing out recording envs (fresh per chunk, disposed after it). */
const recordingCache = (dimOf: (spec: EnvSpec<unknown>, stateDim: number) => number, frames: Frames): EnvCache => {
  const inner = makeEnvCache(false)
  return {
    ...inner,
    acquire: async (spec, n, horizon, tasks) => {
      const env = await inner.acquire(spec, n, horizon, tasks)
      return E.isLeft(env) ? env : E.right(recordingEnv(env.right, dimOf(spec, env.right.stateDim), frames))
    }
  }
}

const sameFloats = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

/**
 * Re-run episodes `0..show-1` of task 0 of `req` with the chunk code and read their positions; Left when
 * the re-run's observations or rewards differ from `batch` (then the replay would not show what was sampled).
 */
const replay = async (
  req: RolloutRequest,
  batch: EpisodeBatch,
  show: number
): Promise<E.Either<TmamlError, ReadonlyArray<RecordedEpisode>>> => {
  const valid = validateRequest(req)
  if (E.isLeft(valid)) return valid
  const count = Math.min(show, valid.right.episodesPerTask)
  const frames: Frames = []
  const r = await runChunk(chunkJob(valid.right, 0, { start: 0, count }), recordingCache(qposDimOf, frames))
  if (E.isLeft(r)) return r
  const c: ChunkResult = r.right
  const T = batch.horizon
  const returns = episodeReturns(batch)
  const out: RecordedEpisode[] = []
  for (let e = 0; e < count; e++) {
    const obs = batch.obs.subarray(e * T * batch.obsDim, (e + 1) * T * batch.obsDim)
    const rewards = batch.rewards.subarray(e * T, (e + 1) * T)
    if (
      !sameFloats(c.obs.subarray(e * T * c.obsDim, (e + 1) * T * c.obsDim), obs) ||
      !sameFloats(c.rewards.subarray(e * T, (e + 1) * T), rewards)
    )
      return E.left(
        numericalError(
          'recordAdaptation',
          `episode ${e} of stream ${req.stream.join('/')} re-ran differently from how it was sampled; the sampler ` +
            'is not deterministic by episode path, so a replay would not show the sampled episode'
        )
      )
    const steps = Array.from(batch.mask.subarray(e * T, (e + 1) * T)).filter((m) => m > 0).length
    out.push({
      qpos: (frames[e] ?? []).slice(0, steps + 1),
      rewards: Array.from(rewards.subarray(0, steps)),
      return: returns[e],
      terminated: batch.terminated[e] === 1
    })
  }
  return E.right(out)
}

/** `sampler`, also replaying the shown episodes of each request; the replays go to `onReplay` in call order. */
const recordingSampler = (
  sampler: Sampler,
  show: number,
  onReplay: (batches: ReadonlyArray<EpisodeBatch>, episodes: ReadonlyArray<RecordedEpisode>) => void
): Sampler =>
  promiseSampler({
    workers: sampler.workers,
    close: sampler.close,
    sample: async (req) => {
      const r = await sampler.sample(req)
      if (E.isLeft(r)) return r
      const shown = await replay(req, r.right[0], show)
      if (E.isLeft(shown)) return shown
      onReplay(r.right, shown.right)
      return r
    }
  })

// ---------------------------------------------------------------------------------------------
// recording
// ---------------------------------------------------------------------------------------------

/**
 * Adapt the meta-policy of `state` to `task` for `innerSteps` inner steps, as training does, and record
 * the episodes before adaptation and after each step. Every random number comes from `seed` (the
 * recording's streams are `rngAt(seed, 'rollout', iteration, 'pre', step, 0, e)` and `(..., 'post', 0, e)`
 * with the state's iteration), so a recording is reproducible. Assumes the tfjs backend is initialised.
 * The meta control variate's state is used, never saved.
 *
 * @category recording
 */
export const recordAdaptation = async (req: RecordRequest): Promise<E.Either<TmamlError, Recording>> => {
  const { deps, state, task, innerSteps, seed } = req
  const show = req.show ?? 1
  const where = 'recordAdaptation'
  if (!deps.env.taskCodec.is(task))
    return E.left(
      invalidInput(where, `task ${JSON.stringify(task)} is not a task of ${deps.env.id} (${deps.env.taskCodec.name})`)
    )
  if (!Number.isInteger(innerSteps) || innerSteps < 1 || innerSteps > 10)
    return E.left(invalidInput(where, `innerSteps must be an integer in [1, 10], got ${innerSteps}`))
  if (!Number.isInteger(seed)) return E.left(invalidInput(where, `seed must be an integer, got ${seed}`))
  if (!Number.isInteger(show) || show < 1 || show > deps.cfg.rolloutsPerTask)
    return E.left(invalidInput(where, `show must be an integer in [1, ${deps.cfg.rolloutsPerTask}], got ${show}`))

  const recorded: RecordedStep[] = []
  const sampler = recordingSampler(deps.sampler, show, (batches, episodes) =>
    recorded.push({ innerStep: recorded.length, meanReturn: meanReturn(batches), episodes })
  )
  const recDeps: TrainDeps = { ...deps, sampler, cfg: { ...deps.cfg, seed, innerSteps } }
  const start = { ...startIteration(recDeps, state), tasks: [task] }
  try {
    await lastValueFrom(of(start).pipe(innerLoop(), rolloutPost()))
  } catch (err) {
    if (err instanceof StageError) return E.left(err.error)
    throw err
  }
  const stateDim = recorded[0]?.episodes[0]?.qpos[0]?.length ?? 0
  return E.right({
    env: deps.env.id,
    system: deps.env.system,
    simulator: deps.env.simulator,
    qposDim: stateDim,
    dt: deps.env.dt ?? null,
    task,
    seed,
    innerSteps,
    horizon: deps.horizon,
    steps: recorded
  })
}
