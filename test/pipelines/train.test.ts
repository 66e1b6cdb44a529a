// Meta-training end to end through the CLI on the small point tasks: every outer optimiser runs;
// a killed run resumes to the same metrics (bad episodes: trainFaults.test.ts).
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import * as E from 'fp-ts/lib/Either.js'
import { readCheckpoint } from '../../src/pipelines/runDir.js'

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `tmaml-${name}-`))

const small = [
  '--env',
  'point2d',
  '--tasks',
  '3',
  '--rollouts',
  '4',
  '--horizon',
  '20',
  '--workers',
  '1',
  '--eval-every',
  '0'
]

const train = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/tmaml.js', 'train', ...args], {
    encoding: 'utf8',
    env: { ...process.env, TMAML_BACKEND: 'wasm', ...env },
    timeout: 300_000
  })

interface Line {
  iteration: number
  envSteps: number
  returnPre: number
  returnPost: number
  stats: Record<string, number>
}

const metrics = (dir: string): Line[] =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line)

/** The deterministic part of a record (timings differ between runs). */
const essence = (l: Line) => ({
  iteration: l.iteration,
  envSteps: l.envSteps,
  returnPre: l.returnPre,
  returnPost: l.returnPost,
  gradNorm: l.stats['gradNorm']
})

describe('tmaml train', () => {
  it.each(['vpg', 'trpo', 'ppo'])('runs end to end with outer %s and writes metrics, checkpoint and plot', (outer) => {
    const dir = path.join(tmp(outer), 'run')
    const r = train([...small, '--outer', outer, '--iterations', '2', '--cv', 'linear', '--run-dir', dir])
    expect(r.stderr).toContain('done:')
    expect(r.status).toBe(0)
    const m = metrics(dir)
    expect(m.map((l) => l.iteration)).toEqual([0, 1])
    expect(m.every((l) => Number.isFinite(l.returnPre) && Number.isFinite(l.returnPost))).toBe(true)
    for (const f of ['config.json', 'metrics.csv', 'checkpoint.json', 'learning-curve.svg', 'learning-curve.png'])
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true)
    const ck = readCheckpoint(dir)
    expect(E.isRight(ck) && ck.right.state.iteration).toBe(2)
  })

  it('a run killed mid-way and resumed produces the metrics of an uninterrupted run', async () => {
    const args = [...small, '--iterations', '6', '--checkpoint-every', '2', '--cv', 'meta']
    const whole = path.join(tmp('whole'), 'run')
    expect(train([...args, '--run-dir', whole]).status).toBe(0)

    const killed = path.join(tmp('killed'), 'run')
    const child = spawn(process.execPath, ['bin/tmaml.js', 'train', ...args, '--run-dir', killed], {
      env: { ...process.env, TMAML_BACKEND: 'wasm' },
      stdio: 'ignore'
    })
    // Kill it once 3 iterations are recorded (after the checkpoint at 2, before the end).
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const file = path.join(killed, 'metrics.jsonl')
        const n = fs.existsSync(file)
          ? fs
              .readFileSync(file, 'utf8')
              .split('\n')
              .filter((l) => l !== '').length
          : 0
        if (n >= 3) {
          clearInterval(timer)
          child.kill('SIGKILL')
          resolve()
        }
      }, 20)
      child.on('exit', () => {
        clearInterval(timer)
        resolve()
      })
      setTimeout(() => reject(new Error('the run did not progress')), 120_000)
    })
    const partial = metrics(killed).length
    expect(partial).toBeLessThan(6)
    const resumed = train(['--resume', killed])
    expect(resumed.stderr).toContain('resuming at iteration')
    expect(resumed.status).toBe(0)
    expect(metrics(killed).map(essence)).toEqual(metrics(whole).map(essence))
  })

  it('rejects a bad config naming the field, the value and what was expected', () => {
    const dir = tmp('badcfg')
    const file = path.join(dir, 'c.json')
    fs.writeFileSync(
      file,
      JSON.stringify({ env: 'point2d', tasksPerBatch: 0, outer: 'adam', trpo: { maxKl: -1 }, lerningRate: 3 })
    )
    const r = train(['--config', file])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('lerningRate')
    expect(r.stderr).toContain('no such field')
    const r2 = spawnSync(process.execPath, ['bin/tmaml.js', 'train', '--config', file], { encoding: 'utf8' })
    expect(r2.status).toBe(2)
    fs.writeFileSync(file, JSON.stringify({ env: 'point2d', tasksPerBatch: 0, outer: 'adam', trpo: { maxKl: -1 } }))
    const r3 = train(['--config', file])
    expect(r3.status).toBe(2)
    expect(r3.stderr).toContain('tasksPerBatch: got 0, expected an integer from 1 to 10000')
    expect(r3.stderr).toContain(`outer: got "adam", expected one of 'vpg', 'trpo', 'ppo'`)
    expect(r3.stderr).toContain('trpo.maxKl: got -1, expected a number in (0, 10]')
    const r4 = train(['--env', 'mars-rover'])
    expect(r4.status).toBe(2)
    expect(r4.stderr).toContain('env: got "mars-rover"')
  })
})
