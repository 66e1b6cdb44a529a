// The distributed sampler with `tmaml worker` processes on a real Redis: 10 trials of kill -9 on a
// worker in the middle of a request (the killed worker's chunk is redelivered once its lock expires:
// no episode lost or duplicated, no hang), and `tmaml train --redis` giving the metrics of a local
// run bit for bit, through a Redis restart in the middle of the run.
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRedisTarget } from '../../src/distributed/connection.js'
import { makeRedisSampler, type DistributedEvent } from '../../src/distributed/redisSampler.js'
import type { EpisodeBatch } from '../../src/pipelines/sampler/index.js'
import { must } from '../envs/support.js'
import { cheetahRequest, requireCompiledWorker, sameBatches, startSampler } from '../pipelines/samplerSupport.js'
import {
  hasRedis,
  noRedisMessage,
  startRedis,
  startWorkerProcess,
  type TestRedis,
  type WorkerProcess
} from '../support/redis.js'

if (!hasRedis) console.warn(noRedisMessage)

// A killed worker's jobs wait for their lock (1 s) and the next stalled-job check (every 0.3 s).
const workerArgs = ['--concurrency', '1', '--lock-ms', '1000', '--stalled-ms', '300', '--verbose']

describe.skipIf(!hasRedis)('tmaml worker processes', () => {
  let redis: TestRedis
  beforeAll(async () => {
    requireCompiledWorker()
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('10 trials of kill -9 on a worker during a request: every episode exactly once, results unchanged', async () => {
    const req = cheetahRequest(4, 8, 150)
    // Each trial samples its own stream, so that trials share no job, key or result.
    const trialReq = (trial: number) => ({ ...req, stream: [trial, 'pre'] })
    const { sampler: here } = await startSampler({ workers: 0 })
    const expected: Array<ReadonlyArray<EpisodeBatch>> = []
    for (let trial = 0; trial < 10; trial++) expected.push(must(await here.sample(trialReq(trial))))
    await here.close()

    const events: DistributedEvent[] = []
    const s = must(
      await makeRedisSampler({
        target: must(parseRedisTarget(redis.url, {})),
        run: 'kill-trials',
        maxChunkEpisodes: 4,
        pollMs: 200,
        onEvent: (e) => events.push(e)
      })
    )
    // The victim of trial t is worker t % 2, replaced during the trial: ready by its next turn.
    const workers: Array<Promise<WorkerProcess>> = [0, 1].map(() => startWorkerProcess(redis.url, workerArgs))
    let redelivered = 0
    try {
      for (let trial = 0; trial < 10; trial++) {
        events.length = 0
        const victim = await workers[trial % 2]
        const other = await workers[1 - (trial % 2)]
        const seenBefore = victim.lines.length
        let finished = false
        const pending = s.sample(trialReq(trial)).finally(() => (finished = true))
        // Kill the victim as soon as it has started a chunk of this request.
        const started = await new Promise<string>((resolve, reject) => {
          const timer = setInterval(() => {
            const l = victim.lines.slice(seenBefore).find((x) => /chunk kill-trials\/\S+ started/.test(x))
            if (l !== undefined || finished) {
              clearInterval(timer)
              if (l !== undefined) resolve(l)
              else reject(new Error(`trial ${trial}: the request ended before the victim took a chunk`))
            }
          }, 2)
        })
        await victim.kill9()
        workers[trial % 2] = startWorkerProcess(redis.url, workerArgs)
        const killedJob = /chunk (\S+) started/.exec(started)?.[1] ?? ''
        const t0 = Date.now()
        const got = must(await pending)
        expect(Date.now() - t0, `trial ${trial}`).toBeLessThan(30_000)
        expect(sameBatches(got, expected[trial]), `trial ${trial}`).toBe(true)
        const done = events.filter((e) => e._tag === 'ChunkDone')
        expect(done.map((e) => (e._tag === 'ChunkDone' ? e.chunk : -1)).sort((a, b) => a - b)).toEqual([
          0, 1, 2, 3, 4, 5, 6, 7
        ])
        expect(done.reduce((a, e) => a + (e._tag === 'ChunkDone' ? e.episodes : 0), 0)).toBe(4 * 8)
        // Where the killed worker's chunk was finished: by another worker after its lock expired, unless
        // the victim had stored it before the kill landed (its last log line can be lost with it).
        const replacement = await workers[trial % 2]
        const finishedBy = (w: WorkerProcess) =>
          w.waitFor(new RegExp(`chunk ${killedJob.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (already )?stored`), 2000)
        if (
          await Promise.any([finishedBy(other), finishedBy(replacement)]).then(
            () => true,
            () => false
          )
        )
          redelivered++
      }
      // The kill lands within milliseconds of the chunk's start, so nearly every chunk is redelivered.
      expect(redelivered).toBeGreaterThanOrEqual(5)
    } finally {
      await Promise.all(workers.map(async (w) => (await w).kill9()))
      await s.close()
    }
  })

  it('tmaml train --redis gives the metrics of a local run bit for bit, through a Redis restart mid-run', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-redis-train-'))
    const args = ['--env', 'point2d', '--tasks', '3', '--rollouts', '4', '--horizon', '20', '--iterations', '3']
    const more = ['--eval-every', '2', '--eval-tasks', '2', '--cv', 'linear']
    const env = { ...process.env, TMAML_BACKEND: 'wasm' }
    const local = spawnSync(
      process.execPath,
      ['bin/tmaml.js', 'train', ...args, ...more, '--workers', '1', '--run-dir', path.join(tmp, 'local')],
      {
        encoding: 'utf8',
        env,
        timeout: 120_000
      }
    )
    expect(local.status, local.stderr).toBe(0)

    const worker = await startWorkerProcess(redis.url, [
      '--concurrency',
      '1',
      '--lock-ms',
      '2000',
      '--stalled-ms',
      '500'
    ])
    try {
      const dir = path.join(tmp, 'redis')
      const child = spawn(
        process.execPath,
        ['bin/tmaml.js', 'train', ...args, ...more, '--redis', redis.url, '--run-dir', dir],
        {
          env,
          stdio: ['ignore', 'ignore', 'pipe']
        }
      )
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
      // Once the first iteration is recorded, restart the server (empty: no persistence).
      const metrics = path.join(dir, 'metrics.jsonl')
      const deadline = Date.now() + 60_000
      while (!(fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').includes('\n')) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10))
      await redis.stop()
      await new Promise((r) => setTimeout(r, 500))
      await redis.start()
      expect(await exited, stderr).toBe(0)
      expect(stderr).toMatch(/is unreachable/)
      expect(stderr).toMatch(/is back after/)
      const essence = (file: string) =>
        fs
          .readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => {
            const { timings: _, time: _t, wallSeconds: _w, ...rest } = JSON.parse(l) as Record<string, unknown> // wall-clock fields differ
            return rest
          })
      const want = essence(path.join(tmp, 'local', 'metrics.jsonl'))
      expect(want).toHaveLength(3)
      expect(essence(metrics)).toEqual(want)
    } finally {
      await worker.stop()
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  })
})
