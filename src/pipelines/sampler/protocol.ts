/**
 * Messages between the sampler (main thread) and its worker threads, as io-ts codecs: both ends decode
 * what they receive, so a malformed message is an error naming its fields, not a crash.
 *
 * @packageDocumentation
 */
import * as t from 'io-ts'
import { eitherC } from '../../base/errors.js'
import { Float32ArrayC, Uint8ArrayC } from '../../envs/workerProtocol.js'
import { PolicySpecC } from './request.js'
import type { ChunkJob, ChunkResult } from './chunk.js'

const PolicyArrayC = t.readonly(t.type({ shape: t.readonlyArray(t.number), values: Float32ArrayC }))

/** @category codecs */
export const ChunkJobC: t.Type<ChunkJob, ChunkJob, unknown> = t.readonly(
  t.type({
    chunk: t.number,
    envId: t.string,
    horizon: t.number,
    policy: PolicySpecC,
    params: t.readonlyArray(t.readonly(t.record(t.string, PolicyArrayC))),
    paramOf: t.readonlyArray(t.number),
    tasks: t.readonlyArray(t.unknown),
    taskIds: t.readonlyArray(t.number),
    episodeIds: t.readonlyArray(t.number),
    seed: t.number,
    stream: t.readonlyArray(t.union([t.string, t.number])),
    deterministic: t.boolean,
    actionScale: t.number
  }),
  'ChunkJob'
)

/** How a worker should fail on purpose (test hooks), after `afterSteps` time steps. */
export const CrashC = t.type({
  mode: t.union([t.literal('exit'), t.literal('throw'), t.literal('hang')]),
  afterSteps: t.number
})
export type Crash = t.TypeOf<typeof CrashC>

/** Run a chunk. */
export const ChunkMessage = t.type({
  kind: t.literal('chunk'),
  id: t.number,
  job: ChunkJobC,
  crash: t.union([CrashC, t.undefined])
})
export type ChunkMessage = t.TypeOf<typeof ChunkMessage>

export const ToWorker = ChunkMessage
export type ToWorker = ChunkMessage

/** @category codecs */
export const ChunkResultC: t.Type<ChunkResult, ChunkResult, unknown> = t.readonly(
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
    steps: t.number,
    events: t.readonlyArray(
      t.type({ kind: t.union([t.literal('diverged'), t.literal('warning')]), env: t.number, message: t.string })
    ),
    seconds: t.number,
    heapBytes: t.number
  }),
  'ChunkResult'
)

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
  result: eitherC(ChunkResultC)
})

export const FromWorker = t.union([ReadyMessage, ResultMessage], 'SamplerWorkerResponse')
export type FromWorker = t.TypeOf<typeof FromWorker>
