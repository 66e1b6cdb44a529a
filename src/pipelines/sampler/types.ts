/**
 * The data of the parallel rollout sampler: what is asked for (`RolloutRequest`: an environment, one
 * task per slot, a Gaussian MLP policy as plain arrays, a seed and a stream path), what comes back
 * (`EpisodeBatch`, one per task), what the sampler reports while it works (`SamplerEvent`), and the
 * `Sampler` itself. Everything here is plain data: it crosses worker-thread boundaries unchanged.
 *
 * @packageDocumentation
 */
import type * as E from 'fp-ts/lib/Either.js'
import type { TmamlError } from '../../base/errors.js'

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
export interface PolicySpec {
  readonly obsDim: number
  readonly actDim: number
  readonly hidden: ReadonlyArray<number>
  readonly activation: 'tanh' | 'relu'
}

/** One parameter: its shape and its values in row-major order. @category model @since 0.1.0 */
export interface PolicyArray {
  readonly shape: ReadonlyArray<number>
  readonly values: Float32Array
}

/**
 * A policy's parameters as plain arrays, named as in `src/graph/nn.ts`: `W0, b0, ..., W{L-1}, b{L-1}`
 * (`W_l` has shape `[in, out]`, row-major; layer l computes `x W_l + b_l`) and `logStd` `[actDim]`.
 * `L = hidden.length + 1`. Other keys are ignored (and not shipped to workers).
 *
 * @category model
 * @since 0.1.0
 */
export type PolicyArrays = Readonly<Record<string, PolicyArray>>

// -------------------------------------------------------------------------------------------------
// requests and results
// -------------------------------------------------------------------------------------------------

/**
 * Test-only fault injection, honoured only when the environment variable `TMAML_TEST_HOOKS` is `1` in
 * the thread that calls `sample` (ignored otherwise). The first `times` chunks dispatched to worker
 * slot `worker` in this request (retries included) fail the way `crash` says:
 * - `'exit'`: the worker calls `process.exit(3)` after `afterSteps` time steps of the chunk;
 * - `'throw'`: an uncaught exception in the worker after `afterSteps` steps (the thread dies with an error);
 * - `'hang'`: the worker spins forever after `afterSteps` steps (only the chunk timeout ends it);
 * - `'terminate'`: the main thread calls `worker.terminate()` `afterMs` ms after posting the chunk.
 *
 * @category model
 * @since 0.1.0
 */
export interface SamplerTestHooks {
  readonly crash: 'exit' | 'throw' | 'hang' | 'terminate'
  /** Worker slot index, default 0. */
  readonly worker?: number
  /** Default 1. */
  readonly times?: number
  /** Default 0. */
  readonly afterSteps?: number
  /** Default 10. */
  readonly afterMs?: number
}

/**
 * What to sample: `episodesPerTask` episodes of at most `horizon` steps for each task of `tasks`, on
 * environment `envId`, with the Gaussian MLP policy `params[k]` for task k (or `params[0]` for all).
 *
 * Randomness: episode e of task k resets its env from `rngAt(seed, 'rollout', ...stream, k, e)` and
 * draws its action noise from `rngAt(seed, 'rollout', ...stream, k, e, 'action')`; nothing else is
 * random, so the result does not depend on how episodes are split across workers.
 *
 * @category model
 * @since 0.1.0
 */
export interface RolloutRequest {
  /** A registry id (`src/envs/registry.ts`) of a continuous-action environment. */
  readonly envId: string
  /** One task value per task slot, each valid under the env's task codec. */
  readonly tasks: ReadonlyArray<unknown>
  /** An integer >= 1. */
  readonly episodesPerTask: number
  /** Steps per episode before truncation, an integer >= 1. */
  readonly horizon: number
  /** Its `obsDim`/`actDim` must equal the env's. */
  readonly policy: PolicySpec
  /** One parameter set per task (post-adaptation policies differ per task), or a single shared one. */
  readonly params: ReadonlyArray<PolicyArrays>
  /** A finite number. */
  readonly seed: number
  /** The path below `seed` and `'rollout'`, e.g. `[iteration, 'pre']`: distinct streams for distinct batches. */
  readonly stream: ReadonlyArray<string | number>
  /** `true`: action = mean (evaluation); no action noise is drawn. Default `false`. */
  readonly deterministic?: boolean
  /**
   * The policy's output a reaches the simulator as clip(a / actionScale, low, high) — the action
   * convention of ProMP, garage and pytorch-maml-rl at 10 (ENVS.md); 1 (default): clip(a), as
   * learn2learn. Rewards see the applied action; `EpisodeBatch.actions` keep the policy's output.
   */
  readonly actionScale?: number
  /** Fault injection for tests; see `SamplerTestHooks`. */
  readonly testHooks?: SamplerTestHooks
}

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
  /** The task slot k. */
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
}

/**
 * A parallel rollout sampler. Requests are served one at a time, in call order.
 *
 * @category model
 * @since 0.1.0
 */
export interface Sampler {
  readonly workers: number
  /** Sample the episodes of `req`: one `EpisodeBatch` per task, in task order; a `Left` names what failed. */
  readonly sample: (req: RolloutRequest) => Promise<E.Either<TmamlError, ReadonlyArray<EpisodeBatch>>>
  /** Stop the workers and free the envs; later `sample` calls return a `Left`. Idempotent. */
  readonly close: () => Promise<void>
}
