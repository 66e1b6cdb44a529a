// Sweeps: planning (grid x seeds, names, every config checked before anything is enqueued), and on a
// real Redis with `tmaml worker --runs` processes: a run whose worker is killed -9 is resumed from its
// last checkpoint by another worker and ends with the metrics of an uninterrupted run; its training
// child does not outlive the killed worker; `tmaml sweep status` lists the runs and their iteration.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseGridAxis, parseSeeds, planSweep } from '../../src/distributed/sweep.js'
import { encodeConfig } from '../../src/pipelines/config.js'
import { must, mustFail, text } from '../envs/support.js'
import { hasRedis, noRedisMessage, startRedis, startWorkerProcess, type TestRedis } from '../support/redis.js'

if (!hasRedis) console.warn(noRedisMessage)

describe('distributed/sweep planning', () => {
  it('reads seeds and grid axes, and names each run by its grid values and seed', () => {
    expect(must(parseSeeds('1-3,7'))).toEqual([1, 2, 3, 7])
    expect(text(mustFail(parseSeeds('3-1')))).toMatch(/empty/)
    expect(must(parseGridAxis('trpo.maxKl=0.01,0.02'))).toEqual({ key: 'trpo.maxKl', values: [0.01, 0.02] })
    expect(must(parseGridAxis('estimator=tmaml,dice'))).toEqual({ key: 'estimator', values: ['tmaml', 'dice'] })
    expect(text(mustFail(parseGridAxis('seed=1,2')))).toMatch(/use --seeds/)
    const runs = must(
      planSweep(
        'cheetah',
        { env: 'point2d', outer: 'trpo' },
        [must(parseGridAxis('estimator=tmaml,dice')), must(parseGridAxis('trpo.maxKl=0.01,0.02'))],
        [1, 2]
      )
    )
    expect(runs.map((r) => r.run)).toEqual([
      'cheetah-estimator_tmaml-trpo.maxKl_0.01-s1',
      'cheetah-estimator_tmaml-trpo.maxKl_0.01-s2',
      'cheetah-estimator_tmaml-trpo.maxKl_0.02-s1',
      'cheetah-estimator_tmaml-trpo.maxKl_0.02-s2',
      'cheetah-estimator_dice-trpo.maxKl_0.01-s1',
      'cheetah-estimator_dice-trpo.maxKl_0.01-s2',
      'cheetah-estimator_dice-trpo.maxKl_0.02-s1',
      'cheetah-estimator_dice-trpo.maxKl_0.02-s2'
    ])
    expect(encodeConfig(runs[7].resolved)).toMatchObject({
      estimator: 'dice',
      seed: 2,
      trpo: { maxKl: 0.02, cgIters: 10 }
    })
  })

  it('rejects a sweep with an invalid run before anything is enqueued, naming the run and the field', () => {
    const e = mustFail(planSweep('s', { env: 'point2d' }, [must(parseGridAxis('innerLr=0.1,-1'))], [1]))
    expect(text(e)).toMatch(/run s-innerLr_-1-s1[\s\S]*innerLr: got -1/)
    expect(text(mustFail(planSweep('../up', {}, [], [1])))).toMatch(/--name/)
  })
})

const statusTable = (url: string): string => {
  const r = spawnSync(process.execPath, ['bin/tmaml.js', 'sweep', 'status', '--redis', url, '--name', 'sw'], {
    encoding: 'utf8',
    timeout: 30_000
  })
  expect(r.status, r.stderr).toBe(0)
  return r.stdout
}

/** Pids of the processes whose command line contains `s`. */
const processesWith = (s: string): number[] =>
  fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(s)
      } catch {
        return false
      }
    })
    .map(Number)

describe.skipIf(!hasRedis)('tmaml sweep with tmaml worker --runs', () => {
  let redis: TestRedis
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('a run whose worker is killed -9 is resumed from its checkpoint by another, to the uninterrupted metrics', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-sweep-'))
    const runs = path.join(tmp, 'shared-runs')
    const base = path.join(tmp, 'base.json')
    const cfg = {
      env: 'point2d',
      tasksPerBatch: 2,
      rolloutsPerTask: 3,
      horizon: 15,
      iterations: 4,
      evalEvery: 0,
      controlVariate: 'linear',
      checkpointEvery: 1,
      backend: 'wasm'
    }
    fs.writeFileSync(base, JSON.stringify(cfg))
    const env = { ...process.env, TMAML_BACKEND: 'wasm' }
    const sweep = spawnSync(
      process.execPath,
      ['bin/tmaml.js', 'sweep', '--redis', redis.url, '--config', base, '--seeds', '1-2', '--name', 'sw'],
      { encoding: 'utf8', env, timeout: 30_000 }
    )
    expect(sweep.status, sweep.stderr).toBe(0)
    expect(sweep.stdout.trim().split('\n')).toEqual(['sw-s1', 'sw-s2'])
    expect(statusTable(redis.url)).toMatch(/sw-s1\s+waiting/)
    // The same sweep again adds nothing.
    const again = spawnSync(
      process.execPath,
      ['bin/tmaml.js', 'sweep', '--redis', redis.url, '--config', base, '--seeds', '1-2', '--name', 'sw'],
      { encoding: 'utf8', env, timeout: 30_000 }
    )
    expect(again.stderr).toMatch(/2 runs \(0 new\)/)

    const args = ['--runs', runs, '--concurrency', '1', '--lock-ms', '1000', '--stalled-ms', '300']
    const a = await startWorkerProcess(redis.url, args)
    const lines = (run: string): number => {
      const f = path.join(runs, run, 'metrics.jsonl')
      return fs.existsSync(f)
        ? fs
            .readFileSync(f, 'utf8')
            .split('\n')
            .filter((l) => l !== '').length
        : 0
    }
    // Kill worker A once a run has 2 iterations recorded (checkpointed), before it ends.
    const deadline = Date.now() + 90_000
    while (lines('sw-s1') < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    await a.kill9()
    const interrupted = ['sw-s1', 'sw-s2'].find((r) => lines(r) > 0 && lines(r) < 4) ?? 'none'
    expect(interrupted).toBe('sw-s1')
    // Its training child ends with it (it would otherwise keep writing the shared folder).
    const orphanDeadline = Date.now() + 15_000
    while (processesWith(`tmaml-sweep-${a.proc.pid}-`).length > 0 && Date.now() < orphanDeadline)
      await new Promise((r) => setTimeout(r, 50))
    expect(processesWith(`tmaml-sweep-${a.proc.pid}-`)).toEqual([])

    const b = await startWorkerProcess(redis.url, args)
    try {
      await b.waitFor(/run sw-s1: resuming from its checkpoint at iteration [1-3]/, 60_000)
      await Promise.all([b.waitFor(/run sw-s1: done/, 120_000), b.waitFor(/run sw-s2: done/, 120_000)])
    } finally {
      await b.stop()
    }
    const table = statusTable(redis.url)
    expect(table).toMatch(/sw-s1\s+completed\s+4\/4\s+2/)
    expect(table).toMatch(/sw-s2\s+completed\s+4\/4\s+1/)

    // The same run trained without interruption, locally.
    const whole = path.join(tmp, 'whole')
    const r = spawnSync(
      process.execPath,
      ['bin/tmaml.js', 'train', '--config', base, '--seed', '1', '--workers', '1', '--run-dir', whole],
      {
        encoding: 'utf8',
        env,
        timeout: 120_000
      }
    )
    expect(r.status, r.stderr).toBe(0)
    const essence = (dir: string) =>
      fs
        .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const { timings: _, time: _t, wallSeconds: _w, ...rest } = JSON.parse(l) as Record<string, unknown> // wall-clock fields differ
          return rest
        })
    expect(essence(path.join(runs, 'sw-s1'))).toEqual(essence(whole))
    expect(essence(path.join(runs, 'sw-s2'))).toHaveLength(4)
    fs.rmSync(tmp, { recursive: true, force: true })
  })
})
