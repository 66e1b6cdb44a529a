/**
 * What travels through Redis, and how it is checked when it arrives. Nothing read from Redis is ever
 * evaluated: job data and headers are JSON decoded by io-ts codecs, arrays are raw little-endian
 * floats whose byte lengths must equal what the header implies, and a request is then checked by the
 * sampler's own `validateRequest` before any of it reaches the rollout code.
 *
 * - A request is uploaded once: its description (`RequestMeta`, no parameters) and each of its
 *   parameter sets (a frame of float32 values in `policyParamShapes` order). Chunk jobs carry only a
 *   reference to it (`ChunkJobData`): policy parameters travel once per request, not per chunk.
 * - A chunk's result is a frame (`ChunkResult` header + its arrays), stored once under its own key.
 * - A worker tells the learner a chunk is done (or failed, with a `TmamlError`) with a `DoneNote`.
 *
 * A frame is `'TMF1'`, the header's byte length (uint32 LE), the header as UTF-8 JSON, zero padding
 * to a multiple of 4, then the body.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto'
import { endianness } from 'node:os'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { TmamlErrorC, decodeWith, invalidInput, type TmamlError } from '../base/errors.js'
import { FiniteNumber, NonNegativeInt, PositiveInt } from '../base/codecs.js'
import type { ArrayParams } from '../graph/nn.js'
import { policyParamShapes } from '../pipelines/sampler/jsPolicy.js'
import type { ChunkJob, ChunkResult } from '../pipelines/sampler/protocol.js'
import type { ValidRequest } from '../pipelines/sampler/request.js'
import { PolicySpec } from '../pipelines/sampler/types.js'

// -------------------------------------------------------------------------------------------------
// frames
// -------------------------------------------------------------------------------------------------

const magic = Buffer.from('TMF1', 'latin1')

/** Encode a JSON header and raw arrays as one frame. */
export const encodeFrame = (header: unknown, arrays: ReadonlyArray<ArrayBufferView>): Buffer => {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const len = Buffer.alloc(4)
  len.writeUInt32LE(json.length)
  const pad = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4)
  const parts: Buffer[] = [magic, len, json, pad(json.length)]
  for (const a of arrays) {
    parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength), pad(a.byteLength))
  }
  return Buffer.concat(parts)
}

/** A decoded frame: its header (still unchecked) and its body. */
export interface Frame {
  readonly header: unknown
  readonly body: Buffer
}

/** Split a frame; a `Left` names what is wrong with it (never throws on bad bytes). */
export const decodeFrame = (buf: Buffer, what: string): E.Either<TmamlError, Frame> => {
  const bad = (why: string): E.Either<TmamlError, never> => E.left(invalidInput(what, why))
  if (endianness() !== 'LE') return bad('this machine is big-endian; frames hold little-endian floats')
  if (buf.length < 8 || !buf.subarray(0, 4).equals(magic)) return bad('not a tmaml frame (wrong magic bytes)')
  const h = buf.readUInt32LE(4)
  if (8 + h > buf.length) return bad(`header length ${h} exceeds the frame (${buf.length} bytes)`)
  let header: unknown
  try {
    header = JSON.parse(buf.subarray(8, 8 + h).toString('utf8'))
  } catch (err) {
    return bad(`the header is not JSON (${err instanceof Error ? err.message : String(err)})`)
  }
  const start = 8 + h + ((4 - (h % 4)) % 4)
  return E.right({ header, body: buf.subarray(Math.min(start, buf.length)) })
}

type ArrayKind = 'f32' | 'u8'

/**
 * Cut `body` into arrays of the given kinds and element counts (each padded to 4 bytes), copied into
 * fresh, aligned buffers; a `Left` unless the body has exactly that length.
 */
export const splitBody = (
  body: Buffer,
  layout: ReadonlyArray<readonly [ArrayKind, number]>,
  what: string
): E.Either<TmamlError, ReadonlyArray<Float32Array | Uint8Array>> => {
  const bytes = layout.map(([kind, n]) => (kind === 'f32' ? 4 : 1) * n)
  const total = bytes.reduce((a, b) => a + b + ((4 - (b % 4)) % 4), 0)
  if (body.length !== total)
    return E.left(invalidInput(what, `the body has ${body.length} bytes, expected ${total} for its header`))
  const out: Array<Float32Array | Uint8Array> = []
  let at = 0
  layout.forEach(([kind, n], i) => {
    const copy = new Uint8Array(bytes[i])
    copy.set(body.subarray(at, at + bytes[i]))
    out.push(kind === 'f32' ? new Float32Array(copy.buffer, 0, n) : copy)
    at += bytes[i] + ((4 - (bytes[i] % 4)) % 4)
  })
  return E.right(out)
}

// -------------------------------------------------------------------------------------------------
// requests
// -------------------------------------------------------------------------------------------------

/** A request without its parameters, as uploaded once per request. */
export const RequestMeta = t.type(
  {
    v: t.literal(1),
    envId: t.string,
    tasks: t.readonlyArray(t.unknown),
    episodesPerTask: PositiveInt,
    horizon: PositiveInt,
    policy: PolicySpec,
    seed: FiniteNumber,
    stream: t.readonlyArray(t.union([t.string, FiniteNumber])),
    deterministic: t.boolean,
    actionScale: FiniteNumber,
    /** 1 (shared) or one per task. */
    paramSets: PositiveInt,
    /** Each slot's task id in the random paths (`RolloutRequest.taskIds`). */
    taskIds: t.readonlyArray(NonNegativeInt)
  },
  'RequestMeta'
)
export type RequestMeta = t.TypeOf<typeof RequestMeta>

/** An uploaded request: its parts and its content digest (which names its keys and jobs). */
export interface EncodedRequest {
  readonly meta: Buffer
  readonly params: ReadonlyArray<Buffer>
  /** The first 32 hex digits of the SHA-256 of all parts. */
  readonly digest: string
}

/** A parameter set as one frame of float32 values, in `policyParamShapes(spec)` order. */
const encodeParams = (spec: PolicySpec, p: ArrayParams): Buffer =>
  encodeFrame(
    { v: 1 },
    policyParamShapes(spec).map(([name]) => p[name].values)
  )

/**
 * Decode a parameter set of `spec`. The shapes come from the spec, so only the values travel; the
 * caller checks them with `validateRequest` (finiteness).
 */
export const decodeParams = (spec: PolicySpec, buf: Buffer): E.Either<TmamlError, ArrayParams> => {
  const what = 'parameter set from Redis'
  const frame = decodeFrame(buf, what)
  if (E.isLeft(frame)) return frame
  const shapes = policyParamShapes(spec)
  const arrays = splitBody(
    frame.right.body,
    shapes.map(([, shape]) => ['f32', shape.reduce((a, b) => a * b, 1)] as const),
    what
  )
  if (E.isLeft(arrays)) return arrays
  return E.right(
    Object.fromEntries(shapes.map(([name, shape], i) => [name, { shape, values: arrays.right[i] as Float32Array }]))
  )
}

/** The parts of a validated request. */
export const encodeRequest = (req: ValidRequest): EncodedRequest => {
  const meta: RequestMeta = {
    v: 1,
    envId: req.envId,
    tasks: req.tasks,
    episodesPerTask: req.episodesPerTask,
    horizon: req.horizon,
    policy: req.policy,
    seed: req.seed,
    stream: req.stream,
    deterministic: req.deterministic,
    actionScale: req.actionScale,
    paramSets: req.params.length,
    taskIds: req.taskIds
  }
  const metaBuf = Buffer.from(JSON.stringify(meta), 'utf8')
  const params = req.params.map((p) => encodeParams(req.policy, p))
  const h = createHash('sha256').update(metaBuf)
  for (const p of params) h.update(p)
  return { meta: metaBuf, params, digest: h.digest('hex').slice(0, 32) }
}

export const decodeMeta = (buf: Buffer): E.Either<TmamlError, RequestMeta> => {
  let u: unknown
  try {
    u = JSON.parse(buf.toString('utf8'))
  } catch {
    return E.left(invalidInput('request from Redis', 'not JSON'))
  }
  return decodeWith(RequestMeta, 'request from Redis')(u)
}

// -------------------------------------------------------------------------------------------------
// jobs and notes
// -------------------------------------------------------------------------------------------------

const matching = (re: RegExp, expected: string): t.Type<string, string, unknown> =>
  new t.Type<string, string, unknown>(
    expected,
    (u): u is string => typeof u === 'string' && re.test(u),
    (u, c) => (typeof u === 'string' && re.test(u) ? t.success(u) : t.failure(u, c, expected)),
    t.identity
  )

/**
 * A run id as it appears in Redis keys and as a folder name: 1-100 of letters, digits, `.`, `_`, `-`,
 * starting with a letter or digit (so never `.` or `..`).
 */
export const RunId = matching(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
  'a run id (1-100 of A-Z a-z 0-9 . _ -, starting with a letter or digit)'
)
/** A request digest: 32 lowercase hex digits. */
export const Digest = matching(/^[0-9a-f]{32}$/, 'a request digest (32 hex digits)')

/**
 * The data of a chunk job: which request (by run and digest), and which episodes `start ..
 * start + count - 1` of task `task`, with parameter set `param`. Chunk `chunk` numbers the request's
 * chunks in plan order.
 */
export const ChunkJobData = t.exact(
  t.type({
    v: t.literal(1),
    run: RunId,
    request: Digest,
    chunk: NonNegativeInt,
    task: NonNegativeInt,
    start: NonNegativeInt,
    count: PositiveInt,
    param: NonNegativeInt
  }),
  'ChunkJobData'
)
export type ChunkJobData = t.TypeOf<typeof ChunkJobData>

/**
 * Why a worker gives up a chunk whose request description is missing from Redis. The learner, which
 * still holds the request, takes a failure with this reason as a server that lost the description
 * (restarted without persistence, between a worker taking the job and reading the description): it
 * uploads the description again and re-enqueues the chunk instead of failing the request.
 */
export const requestGoneReason = 'it is no longer in Redis (finished, abandoned by its learner, or expired)'

/** A worker's word on a chunk: done (its result is stored), or failed for good. */
export const DoneNote = t.union(
  [
    t.type({ chunk: NonNegativeInt, ok: t.literal(true) }),
    t.type({ chunk: NonNegativeInt, ok: t.literal(false), error: TmamlErrorC })
  ],
  'DoneNote'
)
export type DoneNote = t.TypeOf<typeof DoneNote>

export const decodeNote = (s: string): E.Either<TmamlError, DoneNote> => {
  let u: unknown
  try {
    u = JSON.parse(s)
  } catch {
    return E.left(invalidInput('note from Redis', 'not JSON'))
  }
  return decodeWith(DoneNote, 'note from Redis')(u)
}

// -------------------------------------------------------------------------------------------------
// results
// -------------------------------------------------------------------------------------------------

const ResultHeader = t.type(
  {
    v: t.literal(1),
    chunk: NonNegativeInt,
    n: PositiveInt,
    horizon: PositiveInt,
    obsDim: PositiveInt,
    actDim: PositiveInt,
    steps: NonNegativeInt,
    events: t.readonlyArray(
      t.type({ kind: t.union([t.literal('diverged'), t.literal('warning')]), env: NonNegativeInt, message: t.string })
    ),
    seconds: FiniteNumber,
    heapBytes: NonNegativeInt
  },
  'ChunkResultHeader'
)

const resultLayout = (n: number, T: number, obsDim: number, actDim: number) =>
  [
    ['f32', n * T * obsDim],
    ['f32', n * T * actDim],
    ['f32', n * T],
    ['f32', n * T],
    ['u8', n],
    ['u8', n],
    ['f32', n * obsDim]
  ] as const

export const encodeResult = (r: ChunkResult): Buffer => {
  const { obs, actions, rewards, mask, terminated, diverged, lastObs, ...rest } = r
  return encodeFrame({ v: 1, ...rest }, [obs, actions, rewards, mask, terminated, diverged, lastObs])
}

/**
 * Decode a stored chunk result and check it is the result of `job`: its chunk number, size, horizon
 * and dimensions, and every event's env index.
 */
export const decodeResult = (buf: Buffer, job: ChunkJob, policy: PolicySpec): E.Either<TmamlError, ChunkResult> => {
  const what = `result of chunk ${job.chunk} from Redis`
  const frame = decodeFrame(buf, what)
  if (E.isLeft(frame)) return frame
  const header = decodeWith(ResultHeader, what)(frame.right.header)
  if (E.isLeft(header)) return header
  const h = header.right
  const n = job.taskIds.length
  if (h.chunk !== job.chunk || h.n !== n || h.horizon !== job.horizon)
    return E.left(
      invalidInput(
        what,
        `it is chunk ${h.chunk} of ${h.n} x ${h.horizon} steps, expected ${job.chunk} of ${n} x ${job.horizon}`
      )
    )
  if (h.obsDim !== policy.obsDim || h.actDim !== policy.actDim || h.events.some((e) => e.env >= n))
    return E.left(invalidInput(what, 'its dimensions or event indices do not match the request'))
  const arrays = splitBody(frame.right.body, resultLayout(n, h.horizon, h.obsDim, h.actDim), what)
  if (E.isLeft(arrays)) return arrays
  const [obs, actions, rewards, mask, terminated, diverged, lastObs] = arrays.right
  return E.right({
    chunk: h.chunk,
    n,
    horizon: h.horizon,
    obsDim: h.obsDim,
    actDim: h.actDim,
    obs: obs as Float32Array,
    actions: actions as Float32Array,
    rewards: rewards as Float32Array,
    mask: mask as Float32Array,
    terminated: terminated as Uint8Array,
    diverged: diverged as Uint8Array,
    lastObs: lastObs as Float32Array,
    steps: h.steps,
    events: h.events,
    seconds: h.seconds,
    heapBytes: h.heapBytes
  })
}
