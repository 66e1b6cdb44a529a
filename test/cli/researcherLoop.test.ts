// The researcher's loop through the CLI: train a user estimator given as a module path (run name,
// metrics and config record the estimator that ran), resume it, evaluate the saved policy with
// several inner steps (eval.json, recordings), plot any recorded stat inside the run folder, and a
// config file with a syntax error named by line:column.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { publishedDefaults, quickstart } from '../../src/pipelines/config.js'

const bin = path.resolve('bin/tmaml.js')
const env = { ...process.env, TMAML_BACKEND: 'wasm' }
const tmaml = (args: ReadonlyArray<string>, cwd = process.cwd()) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd, timeout: 120_000 })
const small = [
  '--env',
  'point2d',
  '--tasks',
  '2',
  '--rollouts',
  '3',
  '--horizon',
  '8',
  '--workers',
  '0',
  '--eval-every',
  '0'
]
const moduleFile = path.resolve('examples/loadedDice09.mjs')

describe('the researcher loop (tmaml train / eval / plot)', () => {
  it('trains, resumes and evaluates a user estimator given as a module path', () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-loop-'))
    const r = tmaml(['train', ...small, '--iterations', '2', '--cv', 'linear', '--estimator', moduleFile], cwd)
    expect(r.status, r.stderr).toBe(0)
    const runs = fs.readdirSync(path.join(cwd, 'runs'))
    expect(runs).toHaveLength(1)
    expect(runs[0].startsWith(`point2d-my-loaded-dice-0.9-${quickstart.outer ?? publishedDefaults.outer}-s1-`)).toBe(
      true
    )
    const dir = path.join(cwd, 'runs', runs[0])
    // the quickstart's trust region, learn2learn's 0.01 per action component, for point2d's 2
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { trpo: { maxKl: number } }
    expect(config.trpo.maxKl).toBe(0.02)
    const lines = () =>
      fs
        .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines().map((l) => l['estimator'])).toEqual(['my-loaded-dice-0.9', 'my-loaded-dice-0.9'])
    expect(lines()[0]['estimatorFormula']).toBe('sum_t (box(w_t) - box(w_{t-1})) (R_t - b_t)')
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
    expect(cfg['estimator']).toBe(moduleFile)
    // Provenance in both records: this checkout's version and commit, the backend and horizon resolved.
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim()
    const version = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version
    const provenance = { version, commit: head, backend: 'wasm', horizon: 8 }
    expect(cfg['provenance']).toMatchObject(provenance)
    expect(lines()[1]).toMatchObject(provenance)
    expect(lines()[1]['wallSeconds']).toBeGreaterThan(0)
    // TensorBoard scalars beside metrics.csv unless --no-tensorboard (the last test).
    expect(fs.readdirSync(path.join(dir, 'tensorboard')).some((f) => f.startsWith('events.out.tfevents.'))).toBe(true)

    // A new process resumes it: the module is loaded again from the path the config recorded.
    const resumed = tmaml(['train', '--resume', dir, '--iterations', '3'], cwd)
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(lines().map((l) => l['iteration'])).toEqual([0, 1, 2])

    const ev = tmaml(['eval', dir, '--tasks', '2', '--episodes', '2', '--inner-steps', '2', '--record', '--json'], cwd)
    expect(ev.status, ev.stderr).toBe(0)
    const out = JSON.parse(ev.stdout) as {
      estimator: { name: string }
      checkpoint: { iteration: number }
      steps: Array<{ innerStep: number; mean: number; perTask: Array<{ returns: number[] }> }>
      recordings: string[]
    }
    expect(out.estimator.name).toBe('my-loaded-dice-0.9')
    expect(out.checkpoint.iteration).toBe(3)
    expect(out.steps.map((s) => s.innerStep)).toEqual([0, 1, 2])
    expect(out.steps.every((s) => s.perTask.length === 2 && s.perTask.every((t) => t.returns.length === 2))).toBe(true)
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'eval.json'), 'utf8'))).toEqual(out)
    expect(out.recordings).toHaveLength(2)
    const rec = JSON.parse(fs.readFileSync(path.join(dir, out.recordings[0]), 'utf8')) as { steps: unknown[] }
    expect(rec.steps).toHaveLength(3)
    // The same evaluation again gives the same numbers (every random number derives from the seed).
    const again = tmaml(['eval', dir, '--tasks', '2', '--episodes', '2', '--inner-steps', '2', '--json'], cwd)
    expect((JSON.parse(again.stdout) as typeof out).steps.map((s) => s.mean)).toEqual(out.steps.map((s) => s.mean))

    // Any recorded stat by its bare name; the figure goes inside the run folder.
    const plot = tmaml(['plot', dir, '--metric', 'gradNorm'], cwd)
    expect(plot.status, plot.stderr).toBe(0)
    expect(fs.existsSync(path.join(dir, 'gradNorm.svg'))).toBe(true)
    const unknown = tmaml(['plot', dir, '--metric', 'nosuchstat'], cwd)
    expect(unknown.status).toBe(1)
    expect(unknown.stderr).toContain('recorded: ')
    expect(unknown.stderr).toContain('gradNorm')
  })

  it('refuses a malformed estimator module naming the field, and a config syntax error by line:column', () => {
    const bad = tmaml(['train', ...small, '--estimator', 'test/fixtures/badEstimator.mjs'])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/badEstimator\.mjs/)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-json-'))
    const file = path.join(dir, 'c.json')
    fs.writeFileSync(file, '{\n  "env": "point2d",\n}\n')
    const r = tmaml(['train', '--config', file])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`${file}:3:1: not JSON`)
  })

  it('eval refuses a run folder without that checkpoint, listing the ones it has (a run without tensorboard/)', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-evalck-')), 'run')
    expect(
      tmaml(['train', ...small, '--iterations', '1', '--cv', 'linear', '--no-tensorboard', '--run-dir', dir]).status
    ).toBe(0)
    expect(fs.existsSync(path.join(dir, 'metrics.csv'))).toBe(true)
    expect(fs.existsSync(path.join(dir, 'tensorboard'))).toBe(false)
    const r = tmaml(['eval', dir, '--checkpoint', '7'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('has no checkpoint of iteration 7; it has 0, 1')
  })
})
