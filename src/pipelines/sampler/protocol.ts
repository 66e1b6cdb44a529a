/**
 * The work of a worker thread and the messages between the sampler (main thread) and its workers, as
 * io-ts codecs whose types are derived from them: both ends decode what they receive, so a malformed
 * message is an error naming its fields, not a crash.
 *
 * @packageDocumentation
 */
import * as t from 'io-ts'
import { Float32ArrayC, Uint8ArrayC } from '../../base/codecs.js'
import { eitherC } from '../../base/errors.js'
import { PolicySpec } from './types.js'

const ParamArrayC = t.readonly(t.type({ shape: t.readonlyArray(t.number), values: Float32ArrayC }))

// -------------------------------------------------------------------------------------------------
// chunks
// -------------------------------------------------------------------------------------------------

/** A chunk's work, as plain data (it is posted to worker threads). Per-env arrays have length n. */
export const ChunkJob = t.readonly(
  t.type({
    chunk: t.number,
    envId: t.string,
    horizon: t.number,
    policy: PolicySpec,
    /** The parameter sets this chunk uses. */
    params: t.readonlyArray(t.readonly(t.record(t.string, ParamArrayC))),
    /** Per env: index into `params`. */
    paramOf: t.readonlyArray(t.number),
    /** Per env: its task value. */
    tasks: t.readonlyArray(t.unknown),
    /** Per env: task slot k. */
    taskIds: t.readonlyArray(t.number),
    /** Per env: episode index e within its task. */
    episodeIds: t.readonlyArray(t.number),
    seed: t.number,
    stream: t.readonlyArray(t.union([t.string, t.number])),
    deterministic: t.boolean,
    actionScale: t.number
  }),
  'ChunkJob'
)
export type ChunkJob = t.TypeOf<typeof ChunkJob>

/** An env event of a chunk, by env index within the chunk. */
export const ChunkEvent = t.readonly(
  t.type({ kind: t.union([t.literal('diverged'), t.literal('warning')]), env: t.number, message: t.string })
)
export type ChunkEvent = t.TypeOf<typeof ChunkEvent>

/** A chunk's episodes, env-major: `obs` `[n, T, obsDim]`, `rewards` `[n, T]`, ... (as `EpisodeBatch`). */
export const ChunkResult = t.readonly(
  t.type({
    chunk: t.number,
    n: t.number,
    horizon: t.number,
    obsDim: t.number,
    actDim: t.number,
    obs: Float32ArrayC,
    actions: Float32ArrayC,
    rewards: Float32ArrayC,
    mask: Float32ArrayC,
    terminated: Uint8ArrayC,
    diverged: Uint8ArrayC,
    lastObs: Float32ArrayC,
    /** Env steps taken. */
    steps: t.number,
    events: t.readonlyArray(ChunkEvent),
    seconds: t.number,
    /** The MuJoCo heap size of this thread after the chunk (0 for JS envs). */
    heapBytes: t.number
  }),
  'ChunkResult'
)
export type ChunkResult = t.TypeOf<typeof ChunkResult>

// -------------------------------------------------------------------------------------------------
// messages
// -------------------------------------------------------------------------------------------------

/** Run a chunk. */
export const ToWorker = t.type({ kind: t.literal('chunk'), id: t.number, job: ChunkJob }, 'SamplerWorkerRequest')
export type ToWorker = t.TypeOf<typeof ToWorker>

/** The worker is up; `mujoco` says whether its MuJoCo module loaded (`message`: why not). */
export const ReadyMessage = t.type({
  kind: t.literal('ready'),
  threadId: t.number,
  mujoco: t.boolean,
  message: t.string
})

/** The answer to a `chunk` request. */
export const ResultMessage = t.type({
  kind: t.literal('result'),
  id: t.number,
  result: eitherC(ChunkResult)
})

export const FromWorker = t.union([ReadyMessage, ResultMessage], 'SamplerWorkerResponse')
export type FromWorker = t.TypeOf<typeof FromWorker>
