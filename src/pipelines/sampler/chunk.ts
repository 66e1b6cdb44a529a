/**
 * One chunk of a rollout request: a contiguous run of episodes (flat index j = k * E + e over task k,
 * episode e) simulated together as one `VecEnv` in one thread, with the policy evaluated for all of
 * its live envs per time step. The same function runs in the calling thread (`workers: 0`) and in
 * worker threads, so the two agree bit for bit.
 *
 * Every random number of episode (k, e) comes from its own streams (`rngAt(seed, 'rollout', ...stream,
 * k, e)` for the env, the same path + `'action'` for the action noise), and a row of the policy's
 * batched forward pass never depends on other rows: the chunking does not change the result.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { invalidInput, numericalError, type TmamlError } from '../../base/errors.js'
import { rngAt, type Rng } from '../../base/rng.js'
import { getMujoco, heapBytes } from '../../envs/mujoco.js'
import { getEnvSpec, type EnvSpec } from '../../envs/registry.js'
import type { VecEnv } from '../../envs/vecEnv.js'
import { makeMeanRunner } from './jsPolicy.js'
import type { ChunkEvent, ChunkJob, ChunkResult } from './protocol.js'
import type { ValidRequest } from './request.js'
import type { EpisodeBatch, SamplerEvent } from './types.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** A contiguous run `[start, start + count)` of flat episode indices. */
export interface ChunkRange {
  readonly start: number
  readonly count: number
}

// -------------------------------------------------------------------------------------------------
// planning
// -------------------------------------------------------------------------------------------------

/**
 * Split `total` episodes into about `parts` contiguous chunks of at most `maxCount` episodes, sizes
 * differing by at most one.
 */
export const planChunks = (total: number, parts: number, maxCount: number): ReadonlyArray<ChunkRange> => {
  const nChunks = Math.min(total, Math.max(Math.max(1, parts), Math.ceil(total / Math.max(1, maxCount))))
  const base = Math.floor(total / nChunks)
  const extra = total % nChunks
  const out: ChunkRange[] = []
  let start = 0
  for (let c = 0; c < nChunks; c++) {
    const count = base + (c < extra ? 1 : 0)
    out.push({ start, count })
    start += count
  }
  return out
}

/**
 * The job of chunk `chunk` covering `range` (flat indices slot * episodesPerTask + e) of a validated
 * request; its `taskIds` are the slots' task ids.
 */
export const chunkJob = (req: ValidRequest, chunk: number, range: ChunkRange): ChunkJob => {
  const E_ = req.episodesPerTask
  const slots: number[] = []
  const episodeIds: number[] = []
  for (let j = range.start; j < range.start + range.count; j++) {
    slots.push(Math.floor(j / E_))
    episodeIds.push(j % E_)
  }
  const shared = req.params.length === 1
  const used = shared ? [0] : [...new Set(slots)]
  const slot = new Map(used.map((k, s) => [k, s]))
  return {
    chunk,
    envId: req.envId,
    horizon: req.horizon,
    policy: req.policy,
    params: used.map((k) => req.params[k]),
    paramOf: slots.map((k) => (shared ? 0 : (slot.get(k) ?? 0))),
    tasks: slots.map((k) => req.tasks[k]),
    taskIds: slots.map((k) => req.taskIds[k]),
    episodeIds,
    seed: req.seed,
    stream: req.stream,
    deterministic: req.deterministic,
    actionScale: req.actionScale
  }
}

// -------------------------------------------------------------------------------------------------
// assembling results
// -------------------------------------------------------------------------------------------------

/**
 * Copies chunk results into per-task batches as chunks arrive (in any order): `add(jobs[i], result)`
 * returns the batches its chunk completed. Together the jobs cover every episode of `req` once.
 */
export interface TaskAssembler {
  readonly add: (job: ChunkJob, result: ChunkResult) => ReadonlyArray<EpisodeBatch>
}

export const taskAssembler = (req: ValidRequest, jobs: ReadonlyArray<ChunkJob>): TaskAssembler => {
  const { episodesPerTask: nE, horizon: T } = req
  const { obsDim, actDim } = req.policy
  const slotOf = new Map(req.taskIds.map((id, k) => [id, k]))
  const remaining = req.tasks.map(() => 0)
  for (const job of jobs) for (const id of job.taskIds) remaining[slotOf.get(id) ?? -1]++
  const open = new Map<number, { -readonly [K in keyof EpisodeBatch]: EpisodeBatch[K] }>()
  const batchOf = (slot: number) => {
    const found = open.get(slot)
    if (found !== undefined) return found
    const b = {
      task: req.taskIds[slot],
      episodes: nE,
      horizon: T,
      obsDim,
      actDim,
      obs: new Float32Array(nE * T * obsDim),
      actions: new Float32Array(nE * T * actDim),
      rewards: new Float32Array(nE * T),
      mask: new Float32Array(nE * T),
      terminated: new Uint8Array(nE),
      lastObs: new Float32Array(nE * obsDim),
      diverged: 0
    }
    open.set(slot, b)
    return b
  }
  return {
    add: (job, r) => {
      const finished: EpisodeBatch[] = []
      for (let i = 0; i < r.n; i++) {
        const slot = slotOf.get(job.taskIds[i]) ?? -1
        const b = batchOf(slot)
        const e = job.episodeIds[i]
        b.obs.set(r.obs.subarray(i * T * obsDim, (i + 1) * T * obsDim), e * T * obsDim)
        b.actions.set(r.actions.subarray(i * T * actDim, (i + 1) * T * actDim), e * T * actDim)
        b.rewards.set(r.rewards.subarray(i * T, (i + 1) * T), e * T)
        b.mask.set(r.mask.subarray(i * T, (i + 1) * T), e * T)
        b.terminated[e] = r.terminated[i]
        b.lastObs.set(r.lastObs.subarray(i * obsDim, (i + 1) * obsDim), e * obsDim)
        b.diverged += r.diverged[i]
        if (--remaining[slot] === 0) {
          finished.push(b)
          open.delete(slot)
        }
      }
      return finished
    }
  }
}

/** A chunk's env events as sampler events, by task and episode. */
export const chunkEnvEvents = (job: ChunkJob, r: ChunkResult): ReadonlyArray<SamplerEvent> =>
  r.events.map((ev) => {
    const task = job.taskIds[ev.env]
    const episode = job.episodeIds[ev.env]
    return ev.kind === 'diverged'
      ? { _tag: 'Divergence', task, episode, message: ev.message }
      : { _tag: 'EnvWarning', task, episode, message: ev.message }
  })

// -------------------------------------------------------------------------------------------------
// env cache
// -------------------------------------------------------------------------------------------------

/**
 * Where chunks get their envs. With `keep`, envs are kept after a chunk (at most `capacity`, least
 * recently used evicted and disposed) and reused by later chunks of the same env id, size and horizon
 * (new tasks, fresh reset: the episode is the same as on a new env). Without, each chunk creates and
 * disposes its env.
 */
export interface EnvCache {
  readonly acquire: (
    spec: EnvSpec<unknown>,
    n: number,
    horizon: number,
    tasks: ReadonlyArray<unknown>
  ) => Promise<E.Either<TmamlError, VecEnv<unknown>>>
  readonly release: (env: VecEnv<unknown>) => void
  /** Dispose every kept env. */
  readonly clear: () => void
  readonly size: () => number
}

export const makeEnvCache = (keep: boolean, capacity = 2): EnvCache => {
  const kept = new Map<string, VecEnv<unknown>>() // insertion order = least recently used first
  const keyOf = (id: string, n: number, horizon: number): string => `${id}/${n}/${horizon}`
  return {
    acquire: async (spec, n, horizon, tasks) => {
      const key = keyOf(spec.id, n, horizon)
      const env = kept.get(key)
      if (env !== undefined) {
        kept.delete(key) // in use: not shared until released
        const set = env.setTasks(tasks)
        if (E.isRight(set)) return E.right(env)
        env.dispose()
        return set
      }
      return spec.make({ n, tasks, horizon, autoReset: 'manual' })
    },
    release: (env) => {
      if (!keep || env.isDisposed()) return env.dispose()
      const key = keyOf(env.id, env.n, env.horizon)
      kept.get(key)?.dispose()
      kept.delete(key)
      kept.set(key, env)
      while (kept.size > capacity) {
        const [oldest, old] = kept.entries().next().value as [string, VecEnv<unknown>]
        old.dispose()
        kept.delete(oldest)
      }
    },
    clear: () => {
      for (const env of kept.values()) env.dispose()
      kept.clear()
    },
    size: () => kept.size
  }
}

// -------------------------------------------------------------------------------------------------
// running
// -------------------------------------------------------------------------------------------------

/** The MuJoCo heap size of this thread, or 0 when no env of the request uses MuJoCo. */
const mujocoHeap = async (spec: EnvSpec<unknown>): Promise<number> =>
  spec.simulator === 'mujoco' ? heapBytes(await getMujoco()) : 0

/**
 * Run a chunk in this thread. Errors: an unknown env or bad tasks (`InvalidInput`), a non-finite action (`NumericalError` naming
 * the task, episode and step).
 */
export const runChunk = async (job: ChunkJob, cache: EnvCache): Promise<E.Either<TmamlError, ChunkResult>> => {
  const t0 = performance.now()
  const found = getEnvSpec(job.envId)
  if (E.isLeft(found)) return found
  const spec = found.right
  const n = job.tasks.length
  if (n === 0 || job.taskIds.length !== n || job.episodeIds.length !== n || job.paramOf.length !== n)
    return E.left(invalidInput(`sampler chunk ${job.chunk}`, 'per-env arrays must have one entry per env (>= 1)'))
  const acquired = await cache.acquire(spec, n, job.horizon, job.tasks)
  if (E.isLeft(acquired)) return acquired
  const env = acquired.right
  try {
    const result = simulate(job, env)
    if (E.isLeft(result)) return result
    return E.right({ ...result.right, seconds: (performance.now() - t0) / 1000, heapBytes: await mujocoHeap(spec) })
  } finally {
    cache.release(env)
  }
}

const simulate = (
  job: ChunkJob,
  env: VecEnv<unknown>
): E.Either<TmamlError, Omit<ChunkResult, 'seconds' | 'heapBytes'>> => {
  const { obsDim, actDim, n } = env
  const T = job.horizon
  const where = `sampler (${job.envId}, chunk ${job.chunk})`
  const obsOut = new Float32Array(n * T * obsDim)
  const actOut = new Float32Array(n * T * actDim)
  const rewards = new Float32Array(n * T)
  const mask = new Float32Array(n * T)
  const terminated = new Uint8Array(n)
  const diverged = new Uint8Array(n)
  const lastObs = new Float32Array(n * obsDim)
  const events: ChunkEvent[] = []

  const envRngs: Rng[] = []
  const actRngs: Rng[] = []
  for (let i = 0; i < n; i++) {
    const path = [...job.stream, job.taskIds[i], job.episodeIds[i]]
    envRngs.push(rngAt(job.seed, 'rollout', ...path))
    actRngs.push(rngAt(job.seed, 'rollout', ...path, 'action'))
  }
  const first = env.reset(envRngs)
  if (E.isLeft(first)) return first
  let obs = first.right

  const runner = makeMeanRunner(job.policy, job.params)
  const paramOf = Int32Array.from(job.paramOf)
  const stds = job.params.map((_, s) => runner.std(s))
  const alive = new Uint8Array(n).fill(1)
  let nAlive = n
  const mean = new Float32Array(n * actDim)
  const act = new Float32Array(n * actDim) // rows of finished envs keep finite old values (ignored)
  let steps = 0

  const copyObs = (from: Float32Array, i: number, to: Float32Array, at: number): void => {
    const src = i * obsDim
    for (let k = 0; k < obsDim; k++) to[at + k] = from[src + k]
  }

  for (let t = 0; t < T && nAlive > 0; t++) {
    runner.mean(obs, n, mean, alive, paramOf)
    for (let i = 0; i < n; i++) {
      if (alive[i] === 0) continue
      const o = i * T + t
      copyObs(obs, i, obsOut, o * obsDim)
      const std = stds[paramOf[i]]
      const rng = actRngs[i]
      for (let c = 0; c < actDim; c++) {
        const m = mean[i * actDim + c]
        const a = job.deterministic ? m : Math.fround(m + std[c] * rng.normal())
        if (!Number.isFinite(a))
          return E.left(
            numericalError(
              where,
              `task ${job.taskIds[i]}, episode ${job.episodeIds[i]}, step ${t}: action component ${c} is ${a} ` +
                `(policy mean ${m}); check the policy parameters`
            )
          )
        act[i * actDim + c] = a / job.actionScale
        actOut[o * actDim + c] = a
      }
    }
    const stepped = env.step(act)
    if (E.isLeft(stepped)) return stepped
    const res = stepped.right
    for (const ev of res.events) events.push({ kind: ev.kind, env: ev.env, message: ev.message })
    for (let i = 0; i < n; i++) {
      if (alive[i] === 0) continue
      const o = i * T + t
      if (res.diverged[i] === 1) {
        // The diverged step is dropped: the episode ends at the last valid observation.
        diverged[i] = 1
        alive[i] = 0
        nAlive--
        copyObs(obs, i, lastObs, i * obsDim)
        obsOut.fill(0, o * obsDim, (o + 1) * obsDim)
        actOut.fill(0, o * actDim, (o + 1) * actDim)
        continue
      }
      steps++
      mask[o] = 1
      rewards[o] = res.reward[i]
      if (res.done[i] === 1) {
        alive[i] = 0
        nAlive--
        terminated[i] = res.terminated[i]
        copyObs(res.finalObs, i, lastObs, i * obsDim)
      }
    }
    obs = res.obs
  }
  for (let i = 0; i < n; i++) if (alive[i] === 1) copyObs(obs, i, lastObs, i * obsDim)
  return E.right({
    chunk: job.chunk,
    n,
    horizon: T,
    obsDim,
    actDim,
    obs: obsOut,
    actions: actOut,
    rewards,
    mask,
    terminated,
    diverged,
    lastObs,
    steps,
    events
  })
}
