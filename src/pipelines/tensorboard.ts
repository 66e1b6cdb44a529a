/**
 * TensorBoard scalars beside metrics.csv: `<run>/tensorboard/events.out.tfevents.<seconds>.<host>`,
 * an event file TensorBoard reads (`tensorboard --logdir runs/`).
 *
 * npm has no maintained package that writes event files without TensorFlow itself (tfjs-node's
 * `summaryFileWriter` needs libtensorflow, which these machines cannot download), so the format is
 * written here from its parts: each `Event` message (wall_time, step, summary { value { tag,
 * simple_value } }) is encoded by protobufjs, and framed as a TFRecord — the data's length (uint64,
 * little-endian), its masked CRC-32C, the data, the data's masked CRC-32C — with CRC-32C from the
 * `crc-32` package. The first event carries `file_version: "brain.Event:2"`.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import protobuf from 'protobufjs'
import { type TmamlError, resourceError } from '../base/errors.js'

const crc32c = createRequire(import.meta.url)('crc-32/crc32c.js') as typeof import('crc-32')

/** The messages of tensorflow/core/util/event.proto and framework/summary.proto that scalars use. */
const root = protobuf.Root.fromJSON({
  nested: {
    tensorboard: {
      nested: {
        Event: {
          oneofs: { what: { oneof: ['fileVersion', 'summary'] } },
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 }
          }
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Value: { fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 } } }
          }
        }
      }
    }
  }
})
const EventType = root.lookupType('tensorboard.Event')

/** TFRecord's checksum: CRC-32C, rotated right by 15 bits, plus a constant (unsigned 32-bit). */
export const maskedCrc32c = (data: Uint8Array): number => {
  const crc = crc32c.buf(data) >>> 0
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0
}

/** One TFRecord: length, its masked CRC, the data, the data's masked CRC. */
export const tfRecord = (data: Uint8Array): Buffer => {
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(data.length))
  const lenCrc = Buffer.alloc(4)
  lenCrc.writeUInt32LE(maskedCrc32c(len))
  const dataCrc = Buffer.alloc(4)
  dataCrc.writeUInt32LE(maskedCrc32c(data))
  return Buffer.concat([len, lenCrc, data, dataCrc])
}

/** The encoded `Event` of scalars at `step`. */
export const scalarEvent = (
  step: number,
  scalars: ReadonlyArray<readonly [string, number]>,
  wallTime: number
): Uint8Array =>
  EventType.encode(
    EventType.fromObject({
      wallTime,
      step,
      summary: { value: scalars.map(([tag, simpleValue]) => ({ tag, simpleValue })) }
    })
  ).finish()

/** An open event file. */
export interface TensorboardWriter {
  readonly file: string
  readonly scalars: (step: number, values: ReadonlyArray<readonly [string, number]>) => E.Either<TmamlError, void>
  readonly close: () => void
}

/**
 * Open a new event file in `dir` (created if missing). Each `scalars` call appends one event and
 * flushes it, so TensorBoard shows a run while it trains.
 */
export const openTensorboard = (dir: string, now: Date = new Date()): E.Either<TmamlError, TensorboardWriter> => {
  const file = path.join(dir, `events.out.tfevents.${Math.floor(now.getTime() / 1000)}.${os.hostname()}`)
  let fd: number
  try {
    fs.mkdirSync(dir, { recursive: true })
    fd = fs.openSync(file, 'a')
    const header = EventType.encode(
      EventType.fromObject({ wallTime: now.getTime() / 1000, fileVersion: 'brain.Event:2' })
    ).finish()
    fs.writeSync(fd, tfRecord(header))
  } catch (err) {
    return E.left(resourceError(`tensorboard event file ${file}`, err instanceof Error ? err.message : String(err)))
  }
  let open = true
  return E.right({
    file,
    scalars: (step, values) => {
      try {
        fs.writeSync(fd, tfRecord(scalarEvent(step, values, Date.now() / 1000)))
        return E.right(undefined)
      } catch (err) {
        return E.left(resourceError(`tensorboard event file ${file}`, err instanceof Error ? err.message : String(err)))
      }
    },
    close: () => {
      if (!open) return
      open = false
      fs.closeSync(fd)
    }
  })
}

/** Decode the events of an event file (for tests and tools): each record's checksums are verified. */
export const readEvents = (file: string): E.Either<TmamlError, ReadonlyArray<Record<string, unknown>>> => {
  const buf = fs.readFileSync(file)
  const out: Array<Record<string, unknown>> = []
  let off = 0
  while (off < buf.length) {
    if (off + 12 > buf.length) return E.left(resourceError(file, `a record cut short at byte ${off}`))
    const lenBytes = buf.subarray(off, off + 8)
    if (buf.readUInt32LE(off + 8) !== maskedCrc32c(lenBytes))
      return E.left(resourceError(file, `bad length checksum at byte ${off}`))
    const n = Number(buf.readBigUInt64LE(off))
    const data = buf.subarray(off + 12, off + 12 + n)
    if (data.length !== n || off + 16 + n > buf.length)
      return E.left(resourceError(file, `a record cut short at byte ${off}`))
    if (buf.readUInt32LE(off + 12 + n) !== maskedCrc32c(data))
      return E.left(resourceError(file, `bad data checksum at byte ${off}`))
    out.push(EventType.toObject(EventType.decode(data), { longs: Number, defaults: true }) as Record<string, unknown>)
    off += 16 + n
  }
  return E.right(out)
}
