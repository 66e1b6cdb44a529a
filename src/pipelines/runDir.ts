/**
 * The run folder: the edge where training meets the file system.
 *
 * ```
 * <run>/config.json       the resolved experiment config
 * <run>/metrics.jsonl     one IterationRecord per line
 * <run>/metrics.csv       the same, flat, fixed columns
 * <run>/checkpoint.json   the latest TrainState (+ config), written atomically
 * <run>/checkpoint.prev.json  the checkpoint before it (the fallback when the latest is damaged)
 * <run>/snapshots/it-000100.json  a checkpoint every `snapshotEvery` iterations, the latest `snapshotKeep` kept
 * <run>/policy.json       the latest meta-policy as a policy file (policyFile.ts)
 * <run>/run.lock          while a process writes the folder: its pid, host and start time
 * <run>/failure.json      only after a failure that resuming would repeat (numerical): what and when
 * <run>/learning-curve.{svg,png}
 * ```
 *
 * Durability (docs/RELIABILITY.md, "What survives what"): whole files go to a temp file that is
 * flushed to the disk (fsync), renamed over the target, and the folder is flushed, so a crash or a
 * power loss at any point leaves the old or the new file, never half of one. Metrics lines are
 * appended and flushed before the checkpoint that follows them is written; a line cut short by a
 * crash (the last one) is ignored and reported when the metrics are read. One process writes a run
 * folder at a time: `acquireRunLock`.
 *
 * Every failure is one `ResourceError` naming the path and the cause in words.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { ArrayParams } from '../graph/nn.js'
import { type TmamlError, decodeWith, resourceError } from '../base/errors.js'
import { type RngState, rngAt } from '../base/rng.js'
import { type ExperimentConfig, encodeConfig, resolveConfig } from './config.js'
import type { AdamState } from './optim/adam.js'
import { ParamsJson, fromJson, toJson } from './optim/params.js'
import type { TrainState } from './stages.js'
import type { IterationRecord } from './train.js'

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

const causes: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  EEXIST: 'already exists',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EIO: 'input/output error',
  EMFILE: 'too many open files'
}

/** A file-system error in words, on one line: "no space left on the device (ENOSPC)". */
export const describeFsError = (err: unknown): string => {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
  const words = causes[code]
  if (words !== undefined) return `${words} (${code})`
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ')
}

const errorOf = (where: string, err: unknown): TmamlError => resourceError(where, describeFsError(err))

/** A path as messages show it: JSON-quoted when it holds control characters (a NUL byte ...). */
const showPath = (p: string): string => (/[\u0000-\u001f]/.test(p) ? JSON.stringify(p) : p)

// ---------------------------------------------------------------------------------------------
// durable writes
// ---------------------------------------------------------------------------------------------

/** Flush a folder's entries (a rename) to the disk; file systems that cannot do it are skipped. */
const syncDir = (dir: string): void => {
  let fd: number | undefined
  try {
    fd = fs.openSync(dir, 'r')
    fs.fsyncSync(fd)
  } catch {
    // Some file systems refuse fsync on a folder (EINVAL, EISDIR); the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

const writeAll = (fd: number, text: string): void => {
  const buf = Buffer.from(text, 'utf8')
  let off = 0
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off)
}

/**
 * Write `contents` to `file` atomically and durably: a temp file in the same folder (`tmp`, default
 * `.<name>.<pid>.tmp`), flushed to the disk, renamed over `file`, and the folder flushed.
 */
export const writeAtomic = (
  file: string,
  contents: string,
  tmp?: string,
  keepPrevious?: string
): E.Either<TmamlError, void> => {
  const dir = path.dirname(file)
  const temp = tmp ?? path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`)
  let fd: number | undefined
  try {
    fd = fs.openSync(temp, 'w')
    writeAll(fd, contents)
    fs.fsyncSync(fd)
    fs.closeSync(fd)
    fd = undefined
    // The old file becomes `keepPrevious` only once the new one is whole on the disk: a crash between
    // the two renames leaves no `file`, and readers fall back to `keepPrevious`.
    if (keepPrevious !== undefined && fs.existsSync(file)) fs.renameSync(file, keepPrevious)
    fs.renameSync(temp, file)
    syncDir(dir)
    return E.right(undefined)
  } catch (err) {
    try {
      if (fd !== undefined) fs.closeSync(fd)
      fs.rmSync(temp, { force: true })
    } catch {
      // nothing to clean
    }
    return E.left(errorOf(`writing ${showPath(file)}`, err))
  }
}

/** Append `text` to `file` (created if missing) and flush it to the disk before returning. */
const appendDurable = (file: string, text: string): void => {
  const fd = fs.openSync(file, 'a')
  try {
    writeAll(fd, text)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

// ---------------------------------------------------------------------------------------------
// the folder
// ---------------------------------------------------------------------------------------------

/** A fresh run folder name: runs/<env>-<estimator>-<outer>-s<seed>-<yyyymmdd-hhmmss>. */
export const defaultRunDir = (cfg: ExperimentConfig, now: Date = new Date()): string => {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return path.join('runs', `${cfg.env}-${cfg.estimator.name}-${cfg.outer}-s${cfg.seed}-${stamp}`)
}

const statOf = (p: string): fs.Stats | undefined => {
  try {
    return fs.statSync(p)
  } catch {
    return undefined
  }
}

/**
 * Make sure `dir` is a folder, creating it and its missing parents one level at a time (Node's
 * recursive mkdirSync spins forever on some paths, e.g. under /proc). The error names the path and
 * the cause: a NUL byte, a file in the way, a read-only disk, a permission.
 */
export const ensureRunDir = (dir: string): E.Either<TmamlError, void> => {
  const where = `run folder ${showPath(dir)}`
  if (dir === '') return E.left(resourceError('run folder', 'the path is empty'))
  if (dir.includes('\u0000')) return E.left(resourceError(where, 'the path contains a NUL byte'))
  const missing: string[] = []
  let p = path.resolve(dir)
  for (;;) {
    const st = statOf(p)
    if (st !== undefined) {
      if (!st.isDirectory())
        return E.left(
          resourceError(where, p === path.resolve(dir) ? 'is a file, not a folder' : `${p} is a file, not a folder`)
        )
      break
    }
    const parent = path.dirname(p)
    if (parent === p) break
    missing.push(p)
    p = parent
  }
  for (const m of missing.reverse()) {
    try {
      fs.mkdirSync(m)
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : ''
      if (code === 'EEXIST' && statOf(m)?.isDirectory() === true) continue
      return E.left(resourceError(where, `cannot create ${m}: ${describeFsError(err)}`))
    }
  }
  return E.right(undefined)
}

/**
 * Whether `dir` holds a run that `--resume` can continue: a folder with a checkpoint. The error says
 * what is there instead (nothing, a file, a run stopped before its first checkpoint).
 */
export const checkResumable = (dir: string): E.Either<TmamlError, void> => {
  const where = `run folder ${showPath(dir)}`
  if (dir === '' || dir.includes('\u0000')) return ensureRunDir(dir)
  const st = statOf(dir)
  if (st === undefined) return E.left(resourceError(where, 'does not exist'))
  if (!st.isDirectory()) return E.left(resourceError(where, 'is a file, not a folder'))
  if (
    statOf(path.join(dir, checkpointFile)) !== undefined ||
    statOf(path.join(dir, previousCheckpointFile)) !== undefined
  )
    return E.right(undefined)
  if (statOf(path.join(dir, 'config.json')) !== undefined)
    return E.left(
      resourceError(
        where,
        `has no checkpoint.json: the run stopped before its first checkpoint, so there is nothing to resume; ` +
          `start it again with: tmaml train --config ${path.join(dir, 'config.json')}`
      )
    )
  return E.left(resourceError(where, 'is not a run folder (no checkpoint.json, no config.json)'))
}

// ---------------------------------------------------------------------------------------------
// the lock
// ---------------------------------------------------------------------------------------------

/** Who holds a run folder: written to `<run>/run.lock`. */
export interface LockOwner {
  readonly pid: number
  readonly host: string
  /** Linux's boot id: a lock from before a reboot is stale whatever its pid. */
  readonly bootId: string | null
  /** The holder's start time in clock ticks since boot (Linux): tells a reused pid from the holder. */
  readonly processStart: string | null
  /** ISO time the lock was taken. */
  readonly since: string
}

const LockOwnerC = t.type({
  pid: t.number,
  host: t.string,
  bootId: t.union([t.string, t.null]),
  processStart: t.union([t.string, t.null]),
  since: t.string
})

const readText = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

const bootId = (): string | null => readText('/proc/sys/kernel/random/boot_id')?.trim() ?? null

/** Field 22 of /proc/<pid>/stat (start time), after the command name, which may hold spaces. */
const processStart = (pid: number): string | null => {
  const stat = readText(`/proc/${pid}/stat`)
  if (stat === null) return null
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return fields[19] ?? null
}

/** This process as a lock owner. */
export const currentLockOwner = (now: Date = new Date()): LockOwner => ({
  pid: process.pid,
  host: os.hostname(),
  bootId: bootId(),
  processStart: processStart(process.pid),
  since: now.toISOString()
})

/** Field 3 of /proc/<pid>/stat: 'Z' for a zombie (dead, not yet reaped by its parent). */
const isZombie = (pid: number): boolean => {
  const stat = readText(`/proc/${pid}/stat`)
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return !isZombie(pid)
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return typeof err === 'object' && err !== null && 'code' in err && err.code === 'EPERM'
  }
}

/**
 * Whether a lock's owner is certainly gone: same host, and the machine rebooted since, or its pid is
 * not running (or a zombie), or that pid now belongs to a process started at another time. A lock from another
 * host cannot be checked and is never stale.
 */
export const isStaleLock = (owner: LockOwner): boolean => {
  if (owner.host !== os.hostname()) return false
  const boot = bootId()
  if (owner.bootId !== null && boot !== null && owner.bootId !== boot) return true
  if (!isAlive(owner.pid)) return true
  const start = processStart(owner.pid)
  return owner.processStart !== null && start !== null && owner.processStart !== start
}

/** A held run-folder lock. */
export interface RunLock {
  readonly file: string
  readonly owner: LockOwner
  /** The stale lock this one replaced (its owner had died), if any. */
  readonly replaced: LockOwner | null
  /** Remove the lock file if it is still this one. Idempotent; safe in exit handlers (synchronous). */
  readonly release: () => void
}

/** The lock file of a run folder. */
export const lockFile = (dir: string): string => path.join(dir, 'run.lock')

/** A lock file younger than this may be one being written right now; an unreadable older one is stale. */
const unreadableGraceMs = 10_000

type LockRead =
  | { readonly _tag: 'Owner'; readonly owner: LockOwner; readonly text: string }
  | { readonly _tag: 'Gone' }
  | { readonly _tag: 'Unreadable'; readonly text: string; readonly ageMs: number }

const readLock = (file: string): LockRead => {
  const text = readText(file)
  const st = statOf(file)
  if (text === null || st === undefined) return { _tag: 'Gone' }
  try {
    const owner = LockOwnerC.decode(JSON.parse(text))
    if (E.isRight(owner)) return { _tag: 'Owner', owner: owner.right, text }
  } catch {
    // not JSON: a lock being written, or garbage
  }
  return { _tag: 'Unreadable', text, ageMs: Date.now() - st.mtimeMs }
}

/** Remove `file` if it still holds `text`, serialised by an exclusive breaker file so two takers never race. */
const breakLock = (file: string, text: string): boolean => {
  const breaker = `${file}.break`
  const old = statOf(breaker)
  if (old !== undefined && Date.now() - old.mtimeMs > unreadableGraceMs) fs.rmSync(breaker, { force: true })
  let fd: number
  try {
    fd = fs.openSync(breaker, 'wx')
  } catch {
    return false
  }
  try {
    if (readText(file) === text) fs.rmSync(file, { force: true })
    return true
  } finally {
    fs.closeSync(fd)
    fs.rmSync(breaker, { force: true })
  }
}

/**
 * Take the exclusive lock of run folder `dir` (which must exist): `<dir>/run.lock` created with
 * O_EXCL, holding `owner`. A lock whose owner is gone (`isStaleLock`) is replaced, and reported in
 * `replaced`; a live one is an error naming its pid, host and start, and what to do.
 */
export const acquireRunLock = (dir: string, owner: LockOwner = currentLockOwner()): E.Either<TmamlError, RunLock> => {
  const file = lockFile(dir)
  const text = JSON.stringify(owner) + '\n'
  const where = `run folder ${showPath(dir)}`
  let replaced: LockOwner | null = null
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx')
      try {
        writeAll(fd, text)
        fs.fsyncSync(fd)
      } catch (err) {
        fs.closeSync(fd)
        fs.rmSync(file, { force: true })
        return E.left(resourceError(where, `cannot write its lock ${file}: ${describeFsError(err)}`))
      }
      fs.closeSync(fd)
      let released = false
      const release = (): void => {
        if (released) return
        released = true
        if (readText(file) === text) fs.rmSync(file, { force: true })
      }
      return E.right({ file, owner, replaced, release })
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : ''
      if (code !== 'EEXIST')
        return E.left(resourceError(where, `cannot create its lock ${file}: ${describeFsError(err)}`))
    }
    const held = readLock(file)
    if (held._tag === 'Gone') continue
    if (held._tag === 'Unreadable') {
      if (held.ageMs < unreadableGraceMs)
        return E.left(resourceError(where, `is being locked by another process right now (${file})`))
      breakLock(file, held.text)
      continue
    }
    if (!isStaleLock(held.owner))
      return E.left(
        resourceError(
          where,
          `is in use by process ${held.owner.pid} on ${held.owner.host} since ${held.owner.since} ` +
            `(lock ${file}); wait for it to finish or stop it` +
            (held.owner.host === os.hostname()
              ? ''
              : `; if nothing on ${held.owner.host} uses the folder any more, delete the lock`)
        )
      )
    replaced = held.owner
    breakLock(file, held.text)
  }
  return E.left(resourceError(where, `could not take its lock ${file} (other processes keep taking it)`))
}

// ---------------------------------------------------------------------------------------------
// metrics
// ---------------------------------------------------------------------------------------------
const statColumns = [
  'gradNorm',
  'surrogate',
  'kl',
  'improvement',
  'lineSearch',
  'cvLoss',
  'diverged',
  'stepsThisIteration'
]
const timingColumns = ['tasks', 'sample', 'controlVariates', 'adapt', 'metaUpdate', 'evaluate']
export const csvColumns: ReadonlyArray<string> = [
  'iteration',
  'envSteps',
  'returnPre',
  'returnPost',
  'evalPre',
  'evalPost',
  ...statColumns,
  ...timingColumns.map((c) => `t_${c}`)
]

const csvRow = (r: IterationRecord): string =>
  csvColumns
    .map((c) => {
      const v = c.startsWith('t_')
        ? r.timings[c.slice(2)]
        : c in r
          ? (r as unknown as Record<string, unknown>)[c]
          : r.stats[c]
      return typeof v === 'number' && Number.isFinite(v) ? String(v) : ''
    })
    .join(',')

/**
 * Append one record to metrics.jsonl and metrics.csv (creating the csv with its header), each flushed
 * to the disk before this returns: a checkpoint written afterwards never covers a line a power loss
 * could take back.
 */
export const appendMetrics = (dir: string, r: IterationRecord): E.Either<TmamlError, void> => {
  try {
    appendDurable(path.join(dir, 'metrics.jsonl'), JSON.stringify(r) + '\n')
    const csv = path.join(dir, 'metrics.csv')
    appendDurable(csv, (fs.existsSync(csv) ? '' : csvColumns.join(',') + '\n') + csvRow(r) + '\n')
    return E.right(undefined)
  } catch (err) {
    return E.left(errorOf(`writing metrics in ${showPath(dir)}`, err))
  }
}

/** The records of a metrics.jsonl, and its last line when a crash cut it short (it is not among them). */
export interface MetricsText {
  readonly records: ReadonlyArray<IterationRecord>
  readonly tornLine: string | null
}

const isRecordLike = (u: unknown): u is IterationRecord =>
  typeof u === 'object' &&
  u !== null &&
  'iteration' in u &&
  typeof u.iteration === 'number' &&
  Number.isSafeInteger(u.iteration) &&
  u.iteration >= 0

/**
 * Parse the text of a metrics.jsonl. Lines are written whole, newline last, so only the final line
 * can be cut short (a kill or a full disk during an append): without its newline and not a record,
 * it is returned as `tornLine`. Any other line that is not a record is an error naming the line.
 */
export const parseMetricsText = (text: string, file: string): E.Either<TmamlError, MetricsText> => {
  const lines = text.split('\n')
  const last = lines.pop() ?? ''
  const records: IterationRecord[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue
    let json: unknown
    try {
      json = JSON.parse(lines[i])
    } catch {
      json = undefined
    }
    if (!isRecordLike(json))
      return E.left(
        resourceError(
          `${showPath(file)} line ${i + 1}`,
          `not an iteration record (${JSON.stringify(lines[i].slice(0, 60))}); ` +
            'tmaml never writes such a line: repair or delete it'
        )
      )
    records.push(json)
  }
  if (last.trim() === '') return E.right({ records, tornLine: null })
  let json: unknown
  try {
    json = JSON.parse(last)
  } catch {
    json = undefined
  }
  if (isRecordLike(json)) return E.right({ records: [...records, json], tornLine: null })
  return E.right({ records, tornLine: last })
}

const readMetricsText = (dir: string): E.Either<TmamlError, MetricsText> => {
  const file = path.join(dir, 'metrics.jsonl')
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    return E.left(errorOf(`reading ${showPath(file)}`, err))
  }
  return parseMetricsText(text, file)
}

/** What `truncateMetrics` kept: records of iterations before the checkpoint, and any torn line dropped. */
export interface MetricsTruncation {
  readonly kept: number
  readonly tornLine: string | null
}

/**
 * Keep only the records of iterations before `iteration` (a resumed run re-runs the rest), dropping
 * a torn last line, and rewrite metrics.csv to match. Both files are rewritten atomically.
 */
export const truncateMetrics = (dir: string, iteration: number): E.Either<TmamlError, MetricsTruncation> => {
  const jsonl = path.join(dir, 'metrics.jsonl')
  if (!fs.existsSync(jsonl)) return E.right({ kept: 0, tornLine: null })
  const m = readMetricsText(dir)
  if (E.isLeft(m)) return m
  const kept = m.right.records.filter((r) => r.iteration < iteration)
  const w1 = writeAtomic(
    jsonl,
    kept.map((r) => JSON.stringify(r) + '\n').join(''),
    path.join(dir, '.metrics.jsonl.tmp')
  )
  if (E.isLeft(w1)) return w1
  const w2 = writeAtomic(
    path.join(dir, 'metrics.csv'),
    [csvColumns.join(','), ...kept.map(csvRow)].join('\n') + '\n',
    path.join(dir, '.metrics.csv.tmp')
  )
  return E.isLeft(w2) ? w2 : E.right({ kept: kept.length, tornLine: m.right.tornLine })
}

/** Every record of metrics.jsonl (a torn last line, from a crash, is left out). */
export const readMetrics = (dir: string): E.Either<TmamlError, ReadonlyArray<IterationRecord>> =>
  E.map((m: MetricsText) => m.records)(readMetricsText(dir))

// ---------------------------------------------------------------------------------------------
// checkpoints
// ---------------------------------------------------------------------------------------------

const isCount = (u: unknown): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0
/** An iteration, a step or a count: an integer >= 0 (a checkpoint saying -3 or 2.5 is damaged). */
const Count = new t.Type<number, number, unknown>(
  'an integer >= 0',
  isCount,
  (u, c) => (isCount(u) ? t.success(u) : t.failure(u, c, 'an integer >= 0')),
  t.identity
)
const AdamJson = t.type({ step: Count, m: ParamsJson, v: ParamsJson })

const CheckpointJson = t.type({
  format: t.literal('tmaml-checkpoint-1'),
  config: t.unknown,
  state: t.intersection([
    t.type({
      iteration: Count,
      envSteps: Count,
      policy: ParamsJson,
      adam: AdamJson
    }),
    // The control variate's state, in its codec's JSON form (checkpoints before the registry of control
    // variates called it `metaCv`; the meta control variate's JSON form is unchanged).
    t.partial({ cvState: t.unknown, metaCv: t.unknown })
  ]),
  /** The state of the stream the next iteration's randomness derives from (documentation: every
   * stream is a pure function of (seed, path), so this is rngAt(seed, 'iteration', iteration)). */
  rng: t.type({ seed: Count, iteration: Count, state: t.array(t.number) })
})

const adamJson = (a: AdamState) => ({ step: a.step, m: toJson(a.m), v: toJson(a.v) })
const adamFromJson = (a: t.TypeOf<typeof CheckpointJson>['state']['adam']): AdamState => ({
  step: a.step,
  m: fromJson(a.m),
  v: fromJson(a.v)
})

/** The latest checkpoint of a run folder, and the one before it. */
export const checkpointFile = 'checkpoint.json'
export const previousCheckpointFile = 'checkpoint.prev.json'

/** The JSON text of a checkpoint of `state` under `cfg`. */
const checkpointText = (cfg: ExperimentConfig, state: TrainState): string => {
  const rngState: RngState = rngAt(cfg.seed, 'iteration', state.iteration).state()
  return JSON.stringify({
    format: 'tmaml-checkpoint-1',
    config: encodeConfig(cfg),
    state: {
      iteration: state.iteration,
      envSteps: state.envSteps,
      policy: toJson(state.policy),
      adam: adamJson(state.adam),
      cvState: cfg.controlVariate.state === null ? null : cfg.controlVariate.state.codec.encode(state.cvState)
    },
    rng: { seed: cfg.seed, iteration: state.iteration, state: [...rngState] }
  })
}

/**
 * Write the checkpoint of `state` (the next iteration to run) atomically and durably; the checkpoint
 * it replaces becomes checkpoint.prev.json. The temp file has a fixed name (`.checkpoint.json.tmp`):
 * one process writes a run folder (`acquireRunLock`), and a killed run leaves at most that one file.
 */
export const writeCheckpoint = (dir: string, cfg: ExperimentConfig, state: TrainState): E.Either<TmamlError, void> =>
  writeAtomic(
    path.join(dir, checkpointFile),
    checkpointText(cfg, state),
    path.join(dir, '.checkpoint.json.tmp'),
    path.join(dir, previousCheckpointFile)
  )

/** A checkpoint as read: its config and state, the file, and why the latest was passed over (if it was). */
export interface CheckpointRead {
  readonly config: ExperimentConfig
  readonly state: TrainState
  readonly file: string
  /** Null when this is the latest checkpoint; else what was wrong with the latest (the previous one was read). */
  readonly fallback: string | null
}

/** Read one checkpoint file (a run's checkpoint or a snapshot). */
export const readCheckpointFile = (file: string): E.Either<TmamlError, CheckpointRead> => {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    return E.left(errorOf(`reading checkpoint ${showPath(file)}`, err))
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    return E.left(
      resourceError(
        `checkpoint ${showPath(file)}`,
        `not JSON, the file is damaged (${err instanceof Error ? err.message : String(err)})`
      )
    )
  }
  const decoded = decodeWith(CheckpointJson, `checkpoint ${file}`)(raw)
  if (E.isLeft(decoded)) return decoded
  const config = resolveConfig(decoded.right.config, undefined, `config in ${file}`)
  if (E.isLeft(config)) return config
  const s = decoded.right.state
  const cv = config.right.controlVariate
  const cvState =
    cv.state === null
      ? E.right(null)
      : decodeWith(cv.state.codec, `control-variate state in ${file}`)(s.cvState ?? s.metaCv)
  if (E.isLeft(cvState)) return cvState
  const policy: ArrayParams = fromJson(s.policy)
  return E.right({
    config: config.right,
    state: { iteration: s.iteration, envSteps: s.envSteps, policy, adam: adamFromJson(s.adam), cvState: cvState.right },
    file,
    fallback: null
  })
}

/**
 * Read a run's checkpoint: its config and state. When checkpoint.json is missing, cut short or
 * damaged and checkpoint.prev.json is whole, the previous one is returned, with `fallback` saying why
 * (the run then repeats the iterations since, bit for bit).
 */
export const readCheckpoint = (dir: string): E.Either<TmamlError, CheckpointRead> => {
  const latest = readCheckpointFile(path.join(dir, checkpointFile))
  if (E.isRight(latest)) return latest
  const prevFile = path.join(dir, previousCheckpointFile)
  if (!fs.existsSync(prevFile)) return latest
  const prev = readCheckpointFile(prevFile)
  if (E.isLeft(prev)) return latest
  return E.right({
    ...prev.right,
    fallback: `${formatErrorLine(latest.left)}; read the previous checkpoint ${previousCheckpointFile} (iteration ${prev.right.state.iteration}) instead`
  })
}

const formatErrorLine = (e: TmamlError): string =>
  e._tag === 'DecodeError'
    ? `${e.source}: ${e.issues.map((i) => `${i.path} expected ${i.expected}`).join('; ')}`
    : `${e.where}: ${e.message}`

// ---------------------------------------------------------------------------------------------
// snapshots
// ---------------------------------------------------------------------------------------------

/** The folder of a run's snapshots. */
export const snapshotsDir = (dir: string): string => path.join(dir, 'snapshots')

/** `snapshots/it-000100.json`: the snapshot of the state before iteration 100. */
export const snapshotFile = (dir: string, iteration: number): string =>
  path.join(snapshotsDir(dir), `it-${String(iteration).padStart(6, '0')}.json`)

/** The snapshots of a run folder, by increasing iteration. */
export const listSnapshots = (dir: string): ReadonlyArray<{ readonly iteration: number; readonly file: string }> => {
  let names: string[]
  try {
    names = fs.readdirSync(snapshotsDir(dir))
  } catch {
    return []
  }
  return names
    .flatMap((n) => {
      const m = /^it-(\d+)\.json$/.exec(n)
      return m === null ? [] : [{ iteration: Number(m[1]), file: path.join(snapshotsDir(dir), n) }]
    })
    .sort((a, b) => a.iteration - b.iteration)
}

/**
 * Write the snapshot of `state` (a checkpoint file of its own), then remove the oldest snapshots
 * beyond `cfg.snapshotKeep` (0 keeps every one). Returns the snapshot's path and the removed ones.
 */
export const writeSnapshot = (
  dir: string,
  cfg: ExperimentConfig,
  state: TrainState
): E.Either<TmamlError, { readonly file: string; readonly removed: ReadonlyArray<string> }> => {
  const file = snapshotFile(dir, state.iteration)
  try {
    fs.mkdirSync(snapshotsDir(dir), { recursive: true })
  } catch (err) {
    return E.left(errorOf(`creating ${showPath(snapshotsDir(dir))}`, err))
  }
  const w = writeAtomic(file, checkpointText(cfg, state), path.join(snapshotsDir(dir), '.snapshot.json.tmp'))
  if (E.isLeft(w)) return w
  const all = listSnapshots(dir)
  const removed =
    cfg.snapshotKeep === 0 ? [] : all.slice(0, Math.max(0, all.length - cfg.snapshotKeep)).map((x) => x.file)
  try {
    for (const f of removed) fs.rmSync(f, { force: true })
  } catch (err) {
    return E.left(errorOf(`removing old snapshots in ${showPath(snapshotsDir(dir))}`, err))
  }
  return E.right({ file, removed })
}

// ---------------------------------------------------------------------------------------------
// failure record
// ---------------------------------------------------------------------------------------------

/**
 * `<run>/failure.json`: written when a run stops on a failure that resuming would repeat exactly (a
 * numerical one: every random number derives from the seed), removed when the run starts or resumes.
 * It tells tools that continue runs (`tmaml experiment compare`) that re-running this one is futile.
 */
export const failureFile = 'failure.json'

/** What `failure.json` holds. */
export const FailureRecord = t.type({
  format: t.literal('tmaml-failure-1'),
  /** The iterations the run had finished when it failed (its next one failed). */
  iteration: Count,
  /** The error's tag (`NumericalError`). */
  kind: t.string,
  /** The error in words. */
  message: t.string,
  /** ISO 8601. */
  time: t.string
})
export type FailureRecord = t.TypeOf<typeof FailureRecord>

export const writeFailure = (
  dir: string,
  r: Omit<FailureRecord, 'format' | 'time'>,
  now: Date = new Date()
): E.Either<TmamlError, void> =>
  writeAtomic(
    path.join(dir, failureFile),
    JSON.stringify({ format: 'tmaml-failure-1', ...r, time: now.toISOString() }, null, 2) + '\n'
  )

/** The failure record of a run folder; null when there is none (or it cannot be read: a run that is not known to have failed). */
export const readFailure = (dir: string): FailureRecord | null => {
  const text = readText(path.join(dir, failureFile))
  if (text === null) return null
  try {
    const d = FailureRecord.decode(JSON.parse(text))
    return E.isRight(d) ? d.right : null
  } catch {
    return null
  }
}

/** Remove a run folder's failure record (a run that starts again may succeed: other settings). */
export const clearFailure = (dir: string): E.Either<TmamlError, void> => {
  try {
    fs.rmSync(path.join(dir, failureFile), { force: true })
    return E.right(undefined)
  } catch (err) {
    return E.left(errorOf(`removing ${showPath(path.join(dir, failureFile))}`, err))
  }
}
