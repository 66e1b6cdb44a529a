/**
 * The data of the parallel rollout sampler: what is asked for (`RolloutRequest`: an environment, one
 * task per slot, a Gaussian MLP policy as plain arrays, a seed and a stream path), what comes back
 * (`EpisodeBatch`, one per task), what the sampler reports while it works (`SamplerEvent`), and the
 * `Sampler` itself. Everything here is plain data: it crosses worker-thread boundaries unchanged.
 *
 * @packageDocumentation
 */
import type * as E from 'fp-ts/lib/Either.js'
import type { Worker } from 'node:worker_threads'
import * as t from 'io-ts'
import type { Observable } from 'rxjs'
import { PositiveInt, PositiveNumber, SafeInteger, refine } from '../../base/codecs.js'
import type { TmamlError } from '../../base/errors.js'
import type { ArrayParams } from '../../graph/nn.js'

// -------------------------------------------------------------------------------------------------
// policy
// -------------------------------------------------------------------------------------------------

/**
 * The architecture of a Gaussian MLP policy: `obsDim -> hidden[0] -> ... -> actDim`, `activation` on
 * the hidden layers, a linear output layer (the action mean), and a state-independent log standard
 * deviation per action component. `hidden` may be empty (a linear policy).
 *
 * @category model
 * @since 0.1.0
 */
export const PolicySpec = t.readonly(
  t.type({
    obsDim: PositiveInt,
    actDim: PositiveInt,
    hidden: t.readonlyArray(PositiveInt),
    activation: t.union([t.literal('tanh'), t.literal('relu')])
  }),
  'PolicySpec'
)
export type PolicySpec = t.TypeOf<typeof PolicySpec>

/**
 * A parameter set as a record, checked here only for being one: each parameter's shape and values
 * are checked against the policy by `validateRequest` (its issues name the parameter).
 */
const ParamRecord = new t.Type<ArrayParams, ArrayParams, unknown>(
  'ArrayParams',
  (u): u is ArrayParams => typeof u === 'object' && u !== null && !Array.isArray(u),
  (u, c) =>
    typeof u === 'object' && u !== null && !Array.isArray(u)
      ? t.success(u as ArrayParams)
      : t.failure(u, c, 'a record of parameter arrays'),
  t.identity
)

// -------------------------------------------------------------------------------------------------
// requests and results
// -------------------------------------------------------------------------------------------------

/** A task's index in random paths: a safe integer >= 0 (random streams hash its two 32-bit halves). */
const TaskId = refine(SafeInteger, 'an integer from 0 to 2^53 - 1', (n) => n >= 0)

/**
 * What to sample: `episodesPerTask` episodes of at most `horizon` steps for each task of `tasks`, on
 * environment `envId`, with the Gaussian MLP policy `params[k]` for task k (or `params[0]` for all).
 *
 * Randomness: episode e of task k resets its env from `rngAt(seed, 'rollout', ...stream, k, e)` and
 * draws its action noise from `rngAt(seed, 'rollout', ...stream, k, e, 'action')` (k: the slot's
 * `taskIds` entry, by default the slot's position); nothing else is random, so the result does not
 * depend on how episodes are split across workers, nor on which other tasks share the request.
 *
 * @category model
 * @since 0.1.0
 */
export const RolloutRequest = t.intersection(
  [
    t.type({
      /** A registry id (`src/envs/registry.ts`) of a continuous-action environment. */
      envId: t.string,
      /** One task value per task slot, each valid under the env's task codec. */
      tasks: t.readonlyArray(t.unknown),
      episodesPerTask: PositiveInt,
      /** Steps per episode before truncation. */
      horizon: PositiveInt,
      /** Its `obsDim`/`actDim` must equal the env's. */
      policy: PolicySpec,
      /**
       * One parameter set per task (post-adaptation policies differ per task), or a single shared one,
       * named as in `src/graph/nn.ts`: `W0, b0, ..., W{L-1}, b{L-1}` (`W_l` [in, out] row-major, layer l
       * computes `x W_l + b_l`, L = hidden.length + 1) and `logStd` [actDim]. Other keys are ignored.
       */
      params: t.readonlyArray(ParamRecord),
      /** A safe integer: random streams hash its two 32-bit halves (2^64 would equal 0). */
      seed: SafeInteger,
      /** The path below `seed` and `'rollout'`, e.g. `[iteration, 'pre']`: distinct streams for distinct batches. */
      stream: t.readonlyArray(t.union([t.string, SafeInteger]))
    }),
    t.partial({
      /**
       * Each task slot's index k in the random paths (and its `EpisodeBatch.task`): distinct, one per
       * task; default 0, 1, ..., K-1. A request for some of an iteration's tasks (those whose adapted
       * parameters exist) then samples exactly the episodes a request for all of them would.
       */
      taskIds: t.readonlyArray(TaskId),
      /** `true`: action = mean (evaluation); no action noise is drawn. Default `false`. */
      deterministic: t.boolean,
      /**
       * The policy's output a reaches the simulator as clip(a / actionScale, low, high) — the action
       * convention of ProMP, garage and pytorch-maml-rl at 10 (ENVS.md); 1 (default): clip(a), as
       * learn2learn. Rewards see the applied action; `EpisodeBatch.actions` keep the policy's output.
       */
      actionScale: PositiveNumber
    })
  ],
  'RolloutRequest'
)
export type RolloutRequest = t.TypeOf<typeof RolloutRequest>

/**
 * The episodes of one task, in order e = 0..E-1; time-major within an episode. Entries after an
 * episode's end are 0 (mask 0).
 *
 * An episode ends when the env's termination rule fires (`terminated[e] = 1`; `lastObs` is the
 * observation after that step), at the horizon (`lastObs` after the last step, for bootstrapping), or
 * when the simulation diverges: the diverged step is dropped (mask 0, its obs and action zeroed) and
 * `lastObs` is the last valid observation, i.e. the episode is treated as truncated there.
 *
 * @category model
 * @since 0.1.0
 */
export interface EpisodeBatch {
  /** The task k: the slot's `taskIds` entry in the request (by default its position). */
  readonly task: number
  readonly episodes: number
  readonly horizon: number
  readonly obsDim: number
  readonly actDim: number
  /** `[E, T, obsDim]`: the observation before each step. */
  readonly obs: Float32Array
  /** `[E, T, actDim]`: the sampled (unclipped) actions; the env clips them to its bounds. */
  readonly actions: Float32Array
  /** `[E, T]` */
  readonly rewards: Float32Array
  /** `[E, T]`: 1 for steps taken, 0 after the end. */
  readonly mask: Float32Array
  /** `[E]`: 1 if ended by a termination rule before the horizon. */
  readonly terminated: Uint8Array
  /** `[E, obsDim]`: the observation after the final step (see above). */
  readonly lastObs: Float32Array
  /** Divergence events in this task's episodes (each ends its episode). */
  readonly diverged: number
}

// -------------------------------------------------------------------------------------------------
// events and the sampler
// -------------------------------------------------------------------------------------------------

/**
 * What the sampler reports while it works (for progress displays and logs). `worker` is a slot index
 * in `[0, workers)`; `threadId` the Node thread id of the worker thread in that slot.
 *
 * @category model
 * @since 0.1.0
 */
export type SamplerEvent =
  | { readonly _tag: 'WorkerStarted'; readonly worker: number; readonly threadId: number }
  | { readonly _tag: 'WorkerDied'; readonly worker: number; readonly threadId: number; readonly reason: string }
  | { readonly _tag: 'WorkerReplaced'; readonly worker: number; readonly threadId: number }
  | {
      readonly _tag: 'ChunkRetried'
      readonly chunk: number
      /** 1 for the first retry. */
      readonly attempt: number
      readonly reason: string
    }
  | {
      readonly _tag: 'ChunkDone'
      readonly chunk: number
      /** -1 when run in the calling thread (`workers: 0`). */
      readonly worker: number
      readonly episodes: number
      /** Env steps taken (episodes that ended early count only their steps). */
      readonly steps: number
      readonly seconds: number
      /** Size of the MuJoCo heap of the thread that ran the chunk (0 if none was loaded). */
      readonly heapBytes: number
    }
  | {
      readonly _tag: 'Divergence'
      readonly task: number
      readonly episode: number
      /** The env layer's message: env id, step and cause. */
      readonly message: string
    }
  | { readonly _tag: 'EnvWarning'; readonly task: number; readonly episode: number; readonly message: string }

/**
 * Options of `makeSampler`.
 *
 * @category model
 * @since 0.1.0
 */
export interface SamplerOptions {
  /** 0: run in the calling thread; n >= 1: n worker threads, each with its own MuJoCo module. */
  readonly workers: number
  readonly onEvent?: (e: SamplerEvent) => void
  /** Episodes per chunk at most (one VecEnv per chunk). Default 128. */
  readonly maxChunkEpisodes?: number
  /** Chunks per worker a request is split into (load balancing, cheaper retries). Default 4. */
  readonly chunksPerWorker?: number
  /** Retries of one chunk after its worker died or timed out, then the request fails. Default 3. */
  readonly maxRetries?: number
  /**
   * Time limit of one chunk in a worker: `chunkTimeoutMs.base + chunkTimeoutMs.perStep * env steps`.
   * Default `{ base: 60000, perStep: 5 }` (HalfCheetah takes ~0.03 ms per step, Humanoid ~0.5 ms).
   */
  readonly chunkTimeoutMs?: { readonly base: number; readonly perStep: number }
  /** Time limit for a worker to start and load its MuJoCo module. Default 60000 ms. */
  readonly startTimeoutMs?: number
  /**
   * Keep envs between requests (at most 2 per thread, by env id, size and horizon; disposed by `close`)
   * instead of creating and disposing them per chunk. Results are the same either way. Default true.
   */
  readonly cacheEnvs?: boolean
  /**
   * How a worker thread is created from the compiled worker script and its `workerData` (default
   * `new Worker(script, { workerData })`). A replacement may set resource limits, or run a script of
   * its own that serves chunks with `serveChunks` (./serve.ts), as the test suite's fault injection does.
   */
  readonly spawnWorker?: (script: string, workerData: SamplerWorkerData) => Worker
}

/** What a sampler worker thread is started with. @category model */
export interface SamplerWorkerData {
  /** Keep envs between chunks (see `SamplerOptions.cacheEnvs`). */
  readonly cacheEnvs: boolean
}

/**
 * A parallel rollout sampler. Requests may overlap (their chunks share the threads, first come first
 * served). Build one with `streamSampler` (./stream.ts), which derives `sample` from `sample$`, or
 * `promiseSampler` for one that only has the promise form.
 *
 * @category model
 * @since 0.1.0
 */
export interface Sampler {
  readonly workers: number
  /**
   * The episodes of `req`, one `EpisodeBatch` per task as soon as its last episode is in, in the order
   * they finish (`batch.task` says which); then completes. Cold: each subscription is one request, and
   * unsubscribing cancels what is not yet running. Errors with a `SampleError` holding what failed.
   */
  readonly sample$: (req: RolloutRequest) => Observable<EpisodeBatch>
  /** `sample$` collected: one `EpisodeBatch` per task, in slot order; a `Left` names what failed. */
  readonly sample: (req: RolloutRequest) => Promise<E.Either<TmamlError, ReadonlyArray<EpisodeBatch>>>
  /** Stop the workers and free the envs; running and later requests fail. Idempotent. */
  readonly close: () => Promise<void>
}
