// The run folder's file-system edge: one-line errors for bad paths (no hang, no stack trace), an
// exclusive lock that recognises a dead holder, metrics that survive a torn last line, checkpoints
// that reject damaged counts and shapes, and writes that leave the old file whole when the disk is full.
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { type TmamlError, formatError } from '../../src/base/errors.js'
import { resolveConfig } from '../../src/pipelines/config.js'
import {
  type LockOwner,
  acquireRunLock,
  checkResumable,
  currentLockOwner,
  ensureRunDir,
  lockFile,
  parseMetricsText,
  readCheckpoint,
  truncateMetrics,
  writeAtomic,
  writeCheckpoint
} from '../../src/pipelines/runDir.js'
import type { TrainState } from '../../src/pipelines/stages.js'

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `tmaml-rundir-${name}-`))

const left = <A>(e: E.Either<TmamlError, A>): string => {
  if (E.isRight(e)) throw new Error('expected an error, got a success')
  return formatError(e.left)
}
const right = <A>(e: E.Either<TmamlError, A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

/** The pid of a process that has exited. */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ['-e', ''])
  return r.pid ?? 999_999
}

const record = (iteration: number): string =>
  JSON.stringify({ iteration, envSteps: iteration * 10, returnPre: -1, returnPost: 0, timings: {}, stats: {} })

describe('pipelines/runDir', () => {
  describe('ensureRunDir', () => {
    const oneLine = (msg: string): void => {
      expect(msg.split('\n')).toHaveLength(1)
      expect(msg).not.toMatch(/\n\s+at /)
    }

    it('creates missing parents and accepts an existing folder', () => {
      const dir = path.join(tmp('mk'), 'a', 'b', 'c')
      right(ensureRunDir(dir))
      expect(fs.statSync(dir).isDirectory()).toBe(true)
      right(ensureRunDir(dir))
    })

    it.each([
      ['an existing file', (d: string) => fs.writeFileSync(path.join(d, 'f'), ''), 'f', 'is a file, not a folder'],
      [
        'a path under a file',
        (d: string) => fs.writeFileSync(path.join(d, 'f'), ''),
        'f/run',
        'is a file, not a folder'
      ],
      ['a NUL byte', () => undefined, 'a\u0000b', 'the path contains a NUL byte']
    ])('refuses %s in one line naming the path', (_name, setup, rel, cause) => {
      const d = tmp('bad')
      setup(d)
      const msg = left(ensureRunDir(path.join(d, rel)))
      oneLine(msg)
      expect(msg).toContain(cause)
      expect(msg).toContain(rel === 'a\u0000b' ? JSON.stringify(path.join(d, rel)) : path.join(d, rel))
    })

    it('refuses a folder it cannot create (under /proc: Node recursive mkdir would spin forever there)', () => {
      const msg = left(ensureRunDir('/proc/tmaml-test/run'))
      oneLine(msg)
      expect(msg).toContain('cannot create /proc/tmaml-test')
    })

    it('refuses a folder on a file system that does not let it write', () => {
      // As root, permission bits do not stop mkdir; sysfs does (as a read-only mount would).
      const parent = process.getuid?.() === 0 ? '/sys' : tmp('ro')
      if (parent !== '/sys') fs.chmodSync(parent, 0o555)
      const msg = left(ensureRunDir(path.join(parent, 'tmaml-test', 'run')))
      oneLine(msg)
      expect(msg).toMatch(/cannot create .*tmaml-test: (permission denied|operation not permitted|read-only)/)
    })
  })

  describe('checkResumable', () => {
    it('says what is there instead of a checkpoint', () => {
      const d = tmp('resume')
      expect(left(checkResumable(path.join(d, 'nope')))).toContain('does not exist')
      fs.writeFileSync(path.join(d, 'file'), '')
      expect(left(checkResumable(path.join(d, 'file')))).toContain('is a file, not a folder')
      expect(left(checkResumable(d))).toContain('is not a run folder')
      fs.writeFileSync(path.join(d, 'config.json'), '{}')
      const msg = left(checkResumable(d))
      expect(msg).toContain('stopped before its first checkpoint')
      expect(msg).toContain(`tmaml train --config ${path.join(d, 'config.json')}`)
      expect(msg).not.toContain('ENOENT')
    })
  })

  describe('acquireRunLock', () => {
    it('holds the folder: a second taker is refused naming the holder; release frees it', () => {
      const d = tmp('lock')
      const lock = right(acquireRunLock(d))
      const owner = JSON.parse(fs.readFileSync(lockFile(d), 'utf8')) as LockOwner
      expect(owner.pid).toBe(process.pid)
      expect(owner.host).toBe(os.hostname())
      const msg = left(acquireRunLock(d))
      expect(msg).toContain(`is in use by process ${process.pid} on ${os.hostname()}`)
      lock.release()
      expect(fs.existsSync(lockFile(d))).toBe(false)
      right(acquireRunLock(d)).release()
    })

    it.each([
      ['its pid is not running', (o: LockOwner): LockOwner => ({ ...o, pid: deadPid() })],
      ['its pid now belongs to another process', (o: LockOwner): LockOwner => ({ ...o, processStart: '1' })],
      ['the machine rebooted since', (o: LockOwner): LockOwner => ({ ...o, bootId: 'another-boot' })]
    ])('takes over a lock whose holder is gone: %s', (_name, make) => {
      const d = tmp('stale')
      const stale = make(currentLockOwner())
      fs.writeFileSync(lockFile(d), JSON.stringify(stale))
      const lock = right(acquireRunLock(d))
      expect(lock.replaced).toEqual(stale)
      expect(JSON.parse(fs.readFileSync(lockFile(d), 'utf8')).pid).toBe(process.pid)
      lock.release()
    })

    it('takes over the lock of a zombie (a killed holder its parent has not reaped yet)', () => {
      const d = tmp('zombie')
      const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
      const pid = child.pid ?? -1
      // Without yielding to the event loop nothing reaps the child: it stays a zombie until we return.
      const t0 = Date.now()
      while (!fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z') && Date.now() - t0 < 20_000);
      fs.writeFileSync(lockFile(d), JSON.stringify({ ...currentLockOwner(), pid, processStart: null }))
      const lock = right(acquireRunLock(d))
      expect(lock.replaced?.pid).toBe(pid)
      lock.release()
    })

    it('never takes a lock from another host (its pid cannot be checked) and says how to clear it', () => {
      const d = tmp('host')
      fs.writeFileSync(lockFile(d), JSON.stringify({ ...currentLockOwner(), host: 'elsewhere', pid: deadPid() }))
      const msg = left(acquireRunLock(d))
      expect(msg).toContain('on elsewhere')
      expect(msg).toContain('delete the lock')
    })

    it('waits on an unreadable lock while it may still be being written, and replaces it once old', () => {
      const d = tmp('garbage')
      fs.writeFileSync(lockFile(d), '{"pid": 12')
      expect(left(acquireRunLock(d))).toContain('is being locked by another process right now')
      const old = new Date(Date.now() - 60_000)
      fs.utimesSync(lockFile(d), old, old)
      right(acquireRunLock(d)).release()
    })

    it('a release after the lock was taken over leaves the new holder alone', () => {
      const d = tmp('release')
      const lock = right(acquireRunLock(d))
      const other = JSON.stringify({ ...currentLockOwner(), pid: process.pid, since: 'later' })
      fs.writeFileSync(lockFile(d), other)
      lock.release()
      expect(fs.readFileSync(lockFile(d), 'utf8')).toBe(other)
    })
  })

  describe('metrics', () => {
    it('drops and reports a torn last line; a record without its newline is kept', () => {
      const torn = right(parseMetricsText(`${record(0)}\n${record(1)}\n{"iteration":2,"ju`, 'm.jsonl'))
      expect(torn.records.map((r) => r.iteration)).toEqual([0, 1])
      expect(torn.tornLine).toBe('{"iteration":2,"ju')
      const whole = right(parseMetricsText(`${record(0)}\n${record(1)}`, 'm.jsonl'))
      expect(whole.records.map((r) => r.iteration)).toEqual([0, 1])
      expect(whole.tornLine).toBeNull()
    })

    it('refuses a damaged line before the last, naming the line', () => {
      const msg = left(parseMetricsText(`${record(0)}\n{"iteration":1,"ju\n${record(2)}\n`, 'm.jsonl'))
      expect(msg).toContain('m.jsonl line 2')
      expect(msg).toContain('not an iteration record')
    })

    it('truncateMetrics cuts back to the checkpoint and rewrites both files whole', () => {
      const d = tmp('trunc')
      fs.writeFileSync(path.join(d, 'metrics.jsonl'), `${record(0)}\n${record(1)}\n${record(2)}\n{"iteration":3,"ju`)
      const t = right(truncateMetrics(d, 2))
      expect(t).toEqual({ kept: 2, tornLine: '{"iteration":3,"ju' })
      expect(fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')).toBe(`${record(0)}\n${record(1)}\n`)
      expect(fs.readFileSync(path.join(d, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(3)
    })
  })

  describe('writeAtomic', () => {
    it('a full disk leaves the old file whole and no temp file behind', () => {
      if (!fs.existsSync('/dev/full')) return
      const d = tmp('full')
      const file = path.join(d, 'checkpoint.json')
      fs.writeFileSync(file, 'old')
      const temp = path.join(d, '.checkpoint.json.tmp')
      fs.symlinkSync('/dev/full', temp) // every write to it fails with ENOSPC
      const msg = left(writeAtomic(file, 'new contents', temp))
      expect(msg).toContain('no space left on the device (ENOSPC)')
      expect(fs.readFileSync(file, 'utf8')).toBe('old')
      expect(fs.existsSync(temp)).toBe(false)
    })
  })

  describe('readCheckpoint', () => {
    const cfg = right(resolveConfig({ env: 'point2d', hidden: [2], controlVariate: 'linear' }))
    const state: TrainState = {
      iteration: 3,
      envSteps: 120,
      policy: { W0: { shape: [2, 2], values: new Float32Array([1, 2, 3, 4]) } },
      adam: { step: 3, m: {}, v: {} },
      cvState: null
    }
    /** The fields of checkpoint.json these tests damage. */
    interface CheckpointText {
      state: { iteration: number; adam: { step: number }; policy: { W0: { shape: number[]; values: number[] } } }
    }
    const damaged = (edit: (ck: CheckpointText) => void): string => {
      const d = tmp('ck')
      right(writeCheckpoint(d, cfg, state))
      const file = path.join(d, 'checkpoint.json')
      const ck = JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointText
      edit(ck)
      fs.writeFileSync(file, JSON.stringify(ck))
      return left(readCheckpoint(d))
    }

    it('round-trips a state', () => {
      const d = tmp('ck')
      right(writeCheckpoint(d, cfg, state))
      expect(right(readCheckpoint(d)).state.iteration).toBe(3)
    })

    it.each([
      ['iteration -3', (ck: CheckpointText) => (ck.state.iteration = -3), 'state.iteration: got -3'],
      ['iteration 2.5', (ck: CheckpointText) => (ck.state.iteration = 2.5), 'state.iteration: got 2.5'],
      ['adam step -1', (ck: CheckpointText) => (ck.state.adam.step = -1), 'state.adam.step'],
      [
        'a parameter with fewer values than its shape',
        (ck: CheckpointText) => ck.state.policy.W0.values.pop(),
        'state.policy.W0.values: got "3 values", expected 4 values (shape [2, 2])'
      ],
      [
        'a zero dimension',
        (ck: CheckpointText) => (ck.state.policy.W0.shape = [0, 2]),
        'state.policy.W0.shape.0: got 0'
      ]
    ])('rejects a checkpoint with %s, naming the field', (_name, edit, message) => {
      expect(damaged(edit)).toContain(message)
    })

    it('rejects an infinite value (1e400 in the JSON text) and a truncated file', () => {
      const d = tmp('ck')
      right(writeCheckpoint(d, cfg, state))
      const file = path.join(d, 'checkpoint.json')
      const text = fs.readFileSync(file, 'utf8')
      fs.writeFileSync(file, text.replace('"values":[1,2,3,4]', '"values":[1e400,2,3,4]'))
      expect(left(readCheckpoint(d))).toContain('state.policy.W0.values.0')
      fs.writeFileSync(file, text.slice(0, 40))
      expect(left(readCheckpoint(d))).toContain('not JSON, the file is damaged')
    })
  })
})
