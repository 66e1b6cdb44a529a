// `tmaml train` under faults, as an operator meets them: signals, a parent that goes away, a second
// writer, a full disk, a torn metrics line, bad run folders and out-of-range inputs. Each test spawns
// the CLI on point2d with tiny batches; docs/RELIABILITY.md ("What survives what") cites them.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterEach, describe, expect, it } from 'vitest'
import { readCheckpoint } from '../../src/pipelines/runDir.js'

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `tmaml-faults-${name}-`))

const env = { ...process.env, TMAML_BACKEND: 'wasm' }
const tiny = ['--env', 'point2d', '--tasks', '2', '--rollouts', '2', '--horizon', '10', '--eval-every', '0']
const cli = ['bin/tmaml.js', 'train']

/** Run to the end; a hang fails the test through the timeout instead of stalling the suite. */
const train = (args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, [...cli, ...args], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 120_000 })

const lines = (dir: string): number =>
  fs.existsSync(path.join(dir, 'metrics.jsonl'))
    ? fs
        .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l !== '').length
    : 0

const iterations = (dir: string): number[] =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { iteration: number }).iteration)

/** The deterministic part of each metrics line (timings differ between runs). */
const essence = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const { iteration, returnPre, returnPost, envSteps } = JSON.parse(l) as Record<string, number>
      return { iteration, returnPre, returnPost, envSteps }
    })

const checkpointAt = (dir: string): number => {
  const ck = readCheckpoint(dir)
  if (E.isLeft(ck)) throw new Error(JSON.stringify(ck.left))
  return ck.right.state.iteration
}

/** Resolve once `cond()` holds (checked every 20 ms), or fail after `ms`. */
const until = (cond: () => boolean, what: string, ms = 60_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const t0 = Date.now()
    const timer = setInterval(() => {
      if (cond()) {
        clearInterval(timer)
        resolve()
      } else if (Date.now() - t0 > ms) {
        clearInterval(timer)
        reject(new Error(`timed out waiting for ${what}`))
      }
    }, 20)
  })

interface Running {
  readonly child: ChildProcess
  readonly stderr: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/** Processes a test started; whatever still runs after it (a failed assertion) is killed. */
const started: Array<() => void> = []
afterEach(() => {
  for (const kill of started.splice(0)) kill()
})
const track = (child: ChildProcess): void => {
  started.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
}
/** A grandchild: killed only while its command line is still this test's (a pid can be reused). */
const trackPid = (pid: number, marker: string): void => {
  started.push(() => {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  })
}

/** Start a long run in the background, collecting its stderr. */
const start = (args: ReadonlyArray<string>): Running => {
  const child = spawn(process.execPath, [...cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  track(child)
  let err = ''
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal }))
  )
  return { child, stderr: () => err, exited }
}

// VPG, not the quickstart's TRPO: these runs are about processes, and TRPO's iterations took tens of
// seconds each on a loaded machine (a wait for the first iteration timed out at 60 s).
const long = (dir: string, workers = '1', more: ReadonlyArray<string> = []): ReadonlyArray<string> => [
  ...tiny,
  '--outer',
  'vpg',
  '--cv',
  'linear',
  '--workers',
  workers,
  '--iterations',
  '1000',
  '--checkpoint-every',
  '1000',
  '--run-dir',
  dir,
  ...more
]

const oneLine = (stderr: string): void => {
  expect(stderr.trim().split('\n')).toHaveLength(1)
  expect(stderr).not.toMatch(/\n\s+at /)
}

describe('tmaml train: signals', () => {
  it.each([
    ['SIGINT', 130, '1'],
    ['SIGTERM', 143, '1'],
    ['SIGHUP', 129, '0']
  ] as const)(
    '%s stops after the current iteration with a checkpoint, lists what was saved, prints the resume command, exits %i (workers %s)',
    async (signal, code, workers) => {
      const dir = path.join(tmp(signal), 'run')
      const r = start(long(dir, workers, ['--snapshot-every', '1', '--snapshot-keep', '2']))
      await until(() => lines(dir) >= 2, 'two iterations')
      r.child.kill(signal)
      const exit = await r.exited
      expect(r.stderr()).toContain(`${signal} received: stopping after the current iteration`)
      expect(exit).toEqual({ code, signal: null })
      // Nothing lost: the checkpoint is at the last recorded iteration (checkpointEvery is 1000).
      const n = lines(dir)
      expect(checkpointAt(dir)).toBe(n)
      expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(false)
      // What was saved, as it is on disk, and the exact command that continues the run, on its own line.
      const it = (k: number): string => `it-${String(k).padStart(6, '0')}`
      const said = r.stderr().split('\n')
      const from = said.indexOf(`stopped by ${signal} with ${n} of 1000 iterations done; saved in ${dir}:`)
      expect(from).toBeGreaterThanOrEqual(0)
      expect(said.slice(from + 1)).toEqual([
        `  checkpoint.json       resumes at iteration ${n} (checkpoint.prev.json: iteration 0)`,
        `  metrics.jsonl/.csv    ${n} iteration(s), and tensorboard/`,
        `  snapshots/            ${it(n - 1)}, ${it(n)}`,
        '  policy.json           the meta-policy of the checkpoint (docs/POLICY.md)',
        `resume from the last checkpoint (iteration ${n}) with:`,
        `  npx tmaml train --resume ${dir}`,
        ''
      ])
      expect(fs.readdirSync(path.join(dir, 'snapshots')).sort()).toEqual([`${it(n - 1)}.json`, `${it(n)}.json`])
    }
  )

  it('a second signal ends the run at once, mid-iteration, without waiting for the checkpoint', async () => {
    // Iterations of a few tenths of a second; the first signal goes out as one starts, the second as
    // soon as the first was seen (within ~20 ms), so it lands in the middle of that iteration.
    const dir = path.join(tmp('twice'), 'run')
    const r = start([...long(dir), '--tasks', '10', '--rollouts', '10', '--horizon', '100'])
    await until(() => lines(dir) >= 1, 'the first iteration')
    r.child.kill('SIGINT')
    await until(() => r.stderr().includes('SIGINT received'), 'the first signal to be seen')
    r.child.kill('SIGINT')
    const exit = await r.exited
    expect(exit).toEqual({ code: null, signal: 'SIGINT' })
    expect(r.stderr()).not.toContain('stopped by SIGINT')
    expect(checkpointAt(dir)).toBe(0) // the last periodic checkpoint is intact
  })

  it('stops like SIGHUP when its parent exits (an npx wrapper killed by a process manager)', async () => {
    const dir = path.join(tmp('orphan'), 'run')
    // A wrapper that starts the CLI and stays, as npm exec does; killing it leaves the CLI orphaned.
    const wrapper = spawn(
      process.execPath,
      [
        '-e',
        `const c = require('child_process').spawn(process.execPath, ${JSON.stringify([...cli, ...long(dir)])}, { stdio: ['ignore', 'ignore', 'inherit'] }); console.log(c.pid); setInterval(() => {}, 1000)`
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] }
    )
    track(wrapper)
    let out = ''
    let err = ''
    wrapper.stdout?.on('data', (b: Buffer) => (out += b.toString()))
    wrapper.stderr?.on('data', (b: Buffer) => (err += b.toString()))
    await until(() => lines(dir) >= 2, 'two iterations')
    const pid = Number(out.trim())
    trackPid(pid, dir)
    wrapper.kill('SIGKILL')
    await until(() => !fs.existsSync(path.join(dir, 'run.lock')), 'the orphan to release its lock', 30_000)
    await until(() => err.includes('stopped by the parent process exiting'), 'its last message', 10_000)
    expect(err).toContain('the parent process exited: stopping after the current iteration')
    expect(checkpointAt(dir)).toBe(lines(dir))
    await until(
      () => {
        try {
          process.kill(pid, 0)
          return false
        } catch {
          return true
        }
      },
      'the orphan to exit',
      10_000
    )
  })
})

describe('tmaml train: one writer per run folder', () => {
  it('refuses a resume or a new run in a folder another process is training in; resumes once it stopped', async () => {
    const dir = path.join(tmp('lock'), 'run')
    const first = start(long(dir))
    await until(() => lines(dir) >= 1, 'the first iteration')
    const resume = train(['--resume', dir])
    expect(resume.status).toBe(1)
    expect(resume.stderr).toContain(`is in use by process ${first.child.pid} on ${os.hostname()}`)
    const fresh = train([...tiny, '--run-dir', dir])
    expect(fresh.status).toBe(1)
    expect(fresh.stderr).toContain(`is in use by process ${first.child.pid}`)
    first.child.kill('SIGTERM')
    await first.exited
    // Stopped by a signal and resumed, the run has the metrics of an uninterrupted one.
    const total = String(checkpointAt(dir) + 1)
    expect(train(['--resume', dir, '--iterations', total]).status).toBe(0)
    const whole = path.join(tmp('whole'), 'run')
    expect(train([...long(whole), '--iterations', total]).status).toBe(0)
    expect(essence(dir)).toEqual(essence(whole))
  })

  it('takes over the lock of a run killed with SIGKILL', async () => {
    const dir = path.join(tmp('stale'), 'run')
    const r = start(long(dir))
    await until(() => lines(dir) >= 1, 'the first iteration')
    r.child.kill('SIGKILL')
    await r.exited
    expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(true)
    const resumed = train(['--resume', dir, '--iterations', '2'])
    expect(resumed.stderr).toContain(`took over the lock of process ${r.child.pid}`)
    expect(resumed.status).toBe(0)
  })
})

describe('tmaml train: disk and metrics faults', () => {
  it('exits 1 when the first checkpoint cannot be written (disk full), with a sampler worker running', () => {
    if (!fs.existsSync('/dev/full')) return
    const dir = path.join(tmp('full'), 'run')
    fs.mkdirSync(dir, { recursive: true })
    fs.symlinkSync('/dev/full', path.join(dir, '.checkpoint.json.tmp')) // writes fail with ENOSPC
    const r = train([...tiny, '--workers', '1', '--iterations', '1', '--run-dir', dir])
    expect(r.error).toBeUndefined() // no timeout: the process did not hang
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('no space left on the device (ENOSPC)')
    expect(r.stderr).toContain('nothing to resume')
    expect(r.stderr).not.toContain('(a bug)')
    expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(false)
  })

  it('resumes a run whose last metrics line was cut short, reporting the dropped line', () => {
    const dir = path.join(tmp('torn'), 'run')
    expect(
      train([...tiny, '--cv', 'linear', '--iterations', '2', '--checkpoint-every', '1', '--run-dir', dir]).status
    ).toBe(0)
    fs.appendFileSync(path.join(dir, 'metrics.jsonl'), '{"iteration":2,"ju')
    const r = train(['--resume', dir, '--iterations', '4'])
    expect(r.stderr).toContain('metrics.jsonl: dropped its last line, cut short by a crash')
    expect(r.status).toBe(0)
    expect(iterations(dir)).toEqual([0, 1, 2, 3])
  })
})

describe('tmaml train: run folders and inputs', () => {
  const file = (): string => {
    const f = path.join(tmp('file'), 'f')
    fs.writeFileSync(f, '')
    return f
  }
  it.each([
    ['an existing file', () => file(), 'is a file, not a folder'],
    ['a path under a file', () => path.join(file(), 'run'), 'is a file, not a folder'],
    ['a folder under /proc (where recursive mkdir spins forever)', () => '/proc/tmaml-test/run', 'cannot create'],
    [
      'a folder where nothing may be created',
      () => {
        if (process.getuid?.() === 0) return '/sys/tmaml-test/run'
        const d = tmp('ro')
        fs.chmodSync(d, 0o555)
        return path.join(d, 'run')
      },
      'cannot create'
    ]
  ])('--run-dir on %s: exit 1 and one line naming the path', (_name, make, cause) => {
    const dir = make()
    const r = train([...tiny, '--run-dir', dir])
    expect(r.status).toBe(1)
    oneLine(r.stderr)
    expect(r.stderr).toContain(dir)
    expect(r.stderr).toContain(cause)
  })

  it('a NUL byte in the config runDir, a missing folder and a run stopped before its first checkpoint', () => {
    const d = tmp('nul')
    fs.writeFileSync(path.join(d, 'c.json'), JSON.stringify({ env: 'point2d', runDir: 'runs/a\u0000b' }))
    const nul = train(['--config', path.join(d, 'c.json')])
    expect(nul.status).toBe(1)
    oneLine(nul.stderr)
    expect(nul.stderr).toContain('the path contains a NUL byte')
    const missing = train(['--resume', path.join(d, 'nope')])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toContain('does not exist')
    fs.mkdirSync(path.join(d, 'early'))
    fs.writeFileSync(path.join(d, 'early', 'config.json'), '{}')
    const early = train(['--resume', path.join(d, 'early')])
    expect(early.status).toBe(1)
    expect(early.stderr).toContain('stopped before its first checkpoint, so there is nothing to resume')
    expect(early.stderr).not.toContain('ENOENT')
  })

  it.each([
    [['--seed', '0x10'], "--seed: got '0x10', expected a decimal number: an integer from 0 to 2^53 - 1"],
    [['--seed', '18446744073709551616'], 'seed: got 18446744073709552000, expected an integer from 0 to 2^53 - 1'],
    [['--tasks', '1000000000'], 'tasksPerBatch: got 1000000000, expected an integer from 1 to 10000'],
    [['--inner-steps', '1e308'], 'innerSteps: got 1e+308, expected an integer from 1 to 100']
  ])('rejects %j naming the field and its range (exit 2)', (flags, message) => {
    const r = train([...tiny, ...flags])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(message)
  })

  it('reads a config with a UTF-8 byte-order mark; hidden [1e6, 1e6] is a range error, not a RangeError trace', () => {
    const d = tmp('bom')
    fs.writeFileSync(path.join(d, 'c.json'), '\uFEFF' + JSON.stringify({ env: 'point2d', hidden: [1e6, 1e6] }))
    const r = train(['--config', path.join(d, 'c.json'), '--workers', '1'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('hidden.0: got 1000000, expected an integer from 1 to 4096')
    expect(r.stderr).not.toContain('RangeError')
  })

  it('refuses a run whose memory estimate exceeds the machine, unless told to go on', () => {
    const dir = path.join(tmp('mem'), 'run')
    const args = [...tiny, '--cv', 'linear', '--iterations', '1', '--run-dir', dir]
    const refused = train(args, { TMAML_MEMORY_LIMIT_MB: '100' })
    expect(refused.status).toBe(2)
    expect(refused.stderr).toMatch(/this run would need about [\d.]+ MB of memory .* and this machine has 100 MB/)
    expect(refused.stderr).toContain('--skip-memory-check')
    expect(fs.existsSync(dir)).toBe(false)
    expect(train([...args, '--skip-memory-check'], { TMAML_MEMORY_LIMIT_MB: '100' }).status).toBe(0)
  })
})
