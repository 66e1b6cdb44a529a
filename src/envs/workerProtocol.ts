/**
 * Messages between the main thread and an environment worker thread (`worker.ts`), as io-ts codecs:
 * both ends decode what they receive, so a malformed message is an error naming its fields, not a
 * crash.
 *
 * @packageDocumentation
 */
import * as t from 'io-ts'
import { eitherC } from '../base/errors.js'
import {
  FiniteNumber,
  Float32ArrayC,
  Float64ArrayC,
  PositiveInt,
  SharedArrayBufferC,
  Uint8ArrayC
} from '../base/codecs.js'

/** Record a trajectory under given actions (see `recordTrajectory`). */
export const TrajectoryMessage = t.type({
  kind: t.literal('trajectory'),
  id: t.number,
  envId: t.string,
  n: PositiveInt,
  tasks: t.array(t.unknown),
  seed: FiniteNumber,
  steps: t.number,
  actions: Float32ArrayC
})

/**
 * Time random steps (see `timeRandomSteps`). With `barrier`, a shared Int32 counter, the worker
 * increments it after its warm-up and waits until `parties` workers have, so that they run together.
 */
export const TimeMessage = t.type({
  kind: t.literal('time'),
  id: t.number,
  envId: t.string,
  nEnvs: PositiveInt,
  steps: PositiveInt,
  seed: FiniteNumber,
  barrier: t.union([SharedArrayBufferC, t.undefined]),
  parties: PositiveInt
})

/** Any request a worker accepts. */
export const WorkerRequest = t.union([TrajectoryMessage, TimeMessage], 'WorkerRequest')
export type WorkerRequest = t.TypeOf<typeof WorkerRequest>

/** The `Either` a worker returns for a trajectory request. */
export const TrajectoryResult = eitherC(
  t.type({ obs: Float32ArrayC, reward: Float64ArrayC, done: Uint8ArrayC, state: Float64ArrayC })
)
/** The `Either` a worker returns for a timing request. */
export const TimingResult = eitherC(t.type({ steps: t.number, seconds: t.number }))

/** A worker's answer to request `id`: an `Either` (plain data) in `result`. */
export const WorkerResponse = t.type({ id: t.number, result: t.unknown }, 'WorkerResponse')
export type WorkerResponse = t.TypeOf<typeof WorkerResponse>
