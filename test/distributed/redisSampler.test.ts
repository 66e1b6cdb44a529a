// The distributed sampler against a real Redis (its own server on a free loopback port) with a chunk
// worker in this process: the same batches as the local sampler bit for bit, chunks reported as they
// arrive, parameters uploaded once per request, a redelivered chunk stored once, a chunk whose worker
// found the request gone re-enqueued with the request uploaded again, a clear error when no worker is
// alive, and malformed or foreign jobs rejected without running anything.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { lastValueFrom, tap, toArray } from 'rxjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChunkWorker, type ChunkWorker, type ChunkWorkerEvent } from '../../src/distributed/chunkWorker.js'
import { parseRedisTarget, type RedisTarget } from '../../src/distributed/connection.js'
import { queueNames, queuePrefix, requestKeys } from '../../src/distributed/keys.js'
import {
  type DistributedEvent,
  makeRedisSampler,
  planTaskChunks,
  type RedisSampler
} from '../../src/distributed/redisSampler.js'
import { encodeRequest, requestGoneReason } from '../../src/distributed/wire.js'
import { resourceError } from '../../src/base/errors.js'
import type { EpisodeBatch, RolloutRequest } from '../../src/pipelines/sampler/index.js'
import { validateRequest } from '../../src/pipelines/sampler/request.js'
import { must, mustFail, text } from '../envs/support.js'
import {
  cheetahPolicy,
  cheetahRequest,
  randomPolicy,
  requireCompiledWorker,
  sameBatches,
  startSampler
} from '../pipelines/samplerSupport.js'
import { hasRedis, makeTestCerts, noRedisMessage, startRedis, type TestRedis } from '../support/redis.js'

if (!hasRedis) console.warn(noRedisMessage)

const shared = cheetahRequest(3, 5, 30)
const perTask: RolloutRequest = {
  ...cheetahRequest(3, 4, 25, 5),
  params: [0, 1, 2].map((k) => randomPolicy(cheetahPolicy, 40 + k)),
  stream: [2, 'post']
}

const byTask = (bs: ReadonlyArray<EpisodeBatch>): ReadonlyArray<EpisodeBatch> => [...bs].sort((a, b) => a.task - b.task)

const waitFor = async (what: string, ok: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe.skipIf(!hasRedis)('distributed/redisSampler', () => {
  let redis: TestRedis
  let target: RedisTarget
  let admin: Redis
  let queue: Queue
  let local: { readonly shared: ReadonlyArray<EpisodeBatch>; readonly perTask: ReadonlyArray<EpisodeBatch> }
  let worker: ChunkWorker | undefined
  const events: ChunkWorkerEvent[] = []
  const startWorker = async (): Promise<ChunkWorker> => {
    worker = must(
      await startChunkWorker({
        target,
        concurrency: 2,
        lockDurationMs: 5000,
        stalledIntervalMs: 2000,
        onEvent: (e) => events.push(e)
      })
    )
    return worker
  }

  beforeAll(async () => {
    requireCompiledWorker()
    redis = await startRedis()
    target = must(parseRedisTarget(redis.url, {}))
    admin = new Redis(redis.port, '127.0.0.1')
    queue = new Queue(queueNames.chunks, { connection: admin, prefix: queuePrefix })
    const { sampler } = await startSampler({ workers: 0 })
    local = { shared: must(await sampler.sample(shared)), perTask: must(await sampler.sample(perTask)) }
    await sampler.close()
  })
  afterAll(async () => {
    await worker?.close()
    await queue?.close()
    admin?.disconnect()
    await redis?.stop()
  })

  const sampler = async (
    more: { noWorkerTimeoutMs?: number; onEvent?: (e: DistributedEvent) => void } = {}
  ): Promise<RedisSampler> =>
    must(await makeRedisSampler({ target, run: 'test-run', maxChunkEpisodes: 2, pollMs: 200, ...more }))

  it('with no worker alive, a request fails after the timeout saying so, and leaves no job or key behind', async () => {
    const s = await sampler({ noWorkerTimeoutMs: 1500 })
    try {
      const t0 = Date.now()
      const e = mustFail(await s.sample(shared))
      expect(Date.now() - t0).toBeLessThan(15_000)
      expect(text(e)).toMatch(/no tmaml worker is alive and no chunk arrived for 2 s/)
      expect(text(e)).toContain(`npx tmaml worker --redis ${redis.url}`)
      expect(await queue.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 })
      expect(await admin.keys('tmaml:req:*')).toEqual([])
    } finally {
      await s.close()
    }
  })

  it('chunk jobs carry a reference to the request, not its parameters; a worker started later takes them', async () => {
    const s = await sampler()
    try {
      const pending = s.sample(perTask)
      const ids = new Set<string>()
      await waitFor('the chunk jobs', async () => (await queue.getJobCounts('waiting')).waiting === 6)
      for (const job of await queue.getJobs(['waiting'])) {
        ids.add(job.id ?? '')
        expect(JSON.stringify(job.data).length).toBeLessThan(200)
        expect(Object.keys(job.data).sort()).toEqual([
          'chunk',
          'count',
          'param',
          'request',
          'run',
          'start',
          'task',
          'v'
        ])
      }
      const digest = encodeRequest(must(validateRequest(perTask))).digest
      // Job ids say (run, stream, task, chunk) and the request's digest.
      expect(ids.has(`test-run/2/post/t1/c3/${digest}`)).toBe(true)
      // Each parameter set is uploaded once, under the request's keys (~10 KB each here).
      const keys = requestKeys('test-run', digest)
      expect((await admin.strlen(keys.params(2))) > 4 * 1000).toBe(true)
      await startWorker()
      expect(sameBatches(must(await pending), local.perTask)).toBe(true)
    } finally {
      await s.close()
    }
  })

  it('equals the local sampler bit for bit; sample$ emits each task once, as its last chunk arrives', async () => {
    const done: number[] = []
    const s = await sampler({ onEvent: (e) => (e._tag === 'ChunkDone' ? done.push(e.chunk) : undefined) })
    try {
      const fetchesBefore = worker!.stats().fetches
      // Chunks 3k .. 3k+2 are task k's (planTaskChunks): when a task is emitted, its last chunk is the
      // last one in, and the chunks in so far include all of its own.
      const arrivals: Array<readonly [number, ReadonlyArray<number>]> = []
      const got = await lastValueFrom(
        s.sample$(shared).pipe(
          tap((b) => arrivals.push([b.task, [...done]])),
          toArray()
        )
      )
      expect(sameBatches(byTask(got), local.shared)).toBe(true)
      expect(planTaskChunks(3, 5, 2).map((c) => c.count)).toEqual([2, 2, 1, 2, 2, 1, 2, 2, 1])
      expect([...done].sort((a, b) => a - b)).toEqual([...Array(9).keys()])
      expect(arrivals.map(([task]) => task).sort()).toEqual([0, 1, 2])
      for (const [task, before] of arrivals) {
        expect(before).toEqual(expect.arrayContaining([3 * task, 3 * task + 1, 3 * task + 2]))
        expect(Math.floor(before[before.length - 1] / 3)).toBe(task)
      }
      // One description and one (shared) parameter set, fetched once by this process for 9 chunks.
      expect(worker!.stats().fetches - fetchesBefore).toBe(2)
      expect(sameBatches(must(await s.sample(perTask)), local.perTask)).toBe(true)
    } finally {
      await s.close()
    }
  })

  it('serves overlapping requests; one for some of the tasks (taskIds) samples exactly their episodes', async () => {
    const s = await sampler()
    try {
      const some: RolloutRequest = {
        ...perTask,
        tasks: [perTask.tasks[2], perTask.tasks[0]],
        params: [perTask.params[2], perTask.params[0]],
        taskIds: [2, 0]
      }
      const [a, b, c] = await Promise.all([s.sample(shared), s.sample(some), s.sample(perTask)])
      expect(sameBatches(must(a), local.shared)).toBe(true)
      expect(must(b).map((x) => x.task)).toEqual([2, 0])
      expect(sameBatches(must(b), [local.perTask[2], local.perTask[0]])).toBe(true)
      expect(sameBatches(must(c), local.perTask)).toBe(true)
    } finally {
      await s.close()
    }
  })

  it('a chunk delivered twice is stored once and counted once', async () => {
    const s = await sampler()
    try {
      // The request waits with no worker; a copy of chunk 0 under another id goes to the head of the
      // queue, so it runs beside the original: whichever stores second finds the result there.
      await worker!.close()
      const digest = encodeRequest(must(validateRequest(shared))).digest
      const data = { v: 1, run: 'test-run', request: digest, chunk: 0, task: 0, start: 0, count: 2, param: 0 }
      const pending = s.sample(shared)
      await waitFor('the chunk jobs', async () => (await queue.getJobCounts('waiting')).waiting === 9)
      await queue.add('chunk', data, { jobId: 'duplicate-of-chunk-0', lifo: true })
      const w = await startWorker()
      expect(sameBatches(must(await pending), local.shared)).toBe(true)
      await waitFor('the duplicate', async () => (await queue.getJobState('duplicate-of-chunk-0')) === 'completed')
      expect(w.stats()).toMatchObject({ stored: 9, alreadyStored: 1, failed: 0 })
    } finally {
      await s.close()
    }
  })

  it('a failed job left by an earlier identical request does not stand in for a new one', async () => {
    const digest = encodeRequest(must(validateRequest(shared))).digest
    const id = `test-run/0/pre/t0/c0/${digest}`
    await queue.add('chunk', { v: 1 }, { jobId: id })
    await waitFor('the stale job to fail', async () => (await queue.getJobState(id)) === 'failed')
    const s = await sampler()
    try {
      expect(sameBatches(must(await s.sample(shared)), local.shared)).toBe(true)
    } finally {
      await s.close()
    }
  })

  // The learner's side of a server restart that falls between a worker taking a chunk job and reading
  // the request (the worker's side, a job whose request is missing, is in the test below): the worker's
  // note is written here as the worker writes it, so the race is replayed without its timing.
  it('a worker that found the request gone from Redis makes the learner upload it again and re-enqueue the chunk, at most 5 times', async () => {
    await worker?.close()
    const digest = encodeRequest(must(validateRequest(shared))).digest
    const keys = requestKeys('test-run', digest)
    const goneNote = JSON.stringify({
      chunk: 0,
      ok: false,
      error: resourceError(`request test-run/${digest}`, requestGoneReason)
    })
    const requeued: string[] = []
    const s = await sampler({ onEvent: (e) => e._tag === 'ChunkRequeued' && requeued.push(e.reason) })
    try {
      const pending = s.sample(shared)
      await waitFor('the chunk jobs', async () => (await queue.getJobCounts('waiting')).waiting === 9)
      await admin.del(keys.meta)
      await admin.rpush(keys.done, goneNote)
      await waitFor('the re-enqueued chunk', () => requeued.length === 1)
      expect(requeued[0]).toMatch(/found the request gone from Redis/)
      expect(await admin.exists(keys.meta)).toBe(1)
      await startWorker()
      expect(sameBatches(must(await pending), local.shared)).toBe(true)
    } finally {
      await s.close()
    }
    // A sixth note for the same chunk is a failure for good, with the worker's reason.
    await worker?.close()
    const again = await sampler()
    try {
      const pending = again.sample(shared)
      await waitFor('the chunk jobs', async () => (await queue.getJobCounts('waiting')).waiting === 9)
      await admin.rpush(keys.done, ...Array.from({ length: 6 }, () => goneNote))
      expect(text(mustFail(await pending))).toContain(requestGoneReason)
    } finally {
      await again.close()
      await startWorker()
    }
  })

  it('rejects malformed and foreign jobs without running them, and keeps serving', async () => {
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-foreign-')), 'pwned')
    const code = `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`
    const digest = encodeRequest(must(validateRequest(shared))).digest
    const good = { v: 1, run: 'test-run', request: digest, chunk: 0, task: 0, start: 0, count: 1, param: 0 }
    const bad: ReadonlyArray<readonly [string, string, unknown, RegExp]> = [
      ['foreign-name', 'eval', { code }, /not a tmaml chunk job/],
      ['foreign-data', 'chunk', { code }, /data of job foreign-data[\s\S]*v: got undefined/],
      ['bad-run', 'chunk', { ...good, run: `x'; ${code}; '` }, /run: got .*expected a run id/],
      ['bad-type', 'chunk', { ...good, count: '1' }, /count: got "1", expected an integer >= 1/],
      ['extra-code', 'chunk', { ...good, request: '0'.repeat(32), fn: code }, /no longer in Redis/]
    ]
    for (const [id, name, data] of bad) await queue.add(name, data, { jobId: id })
    // A request description that is not JSON, and one whose task is invalid for its env.
    const meta = (m: string): string => requestKeys('test-run', m.repeat(32)).meta
    await admin.set(meta('a'), 'function () { return 1 }')
    const enc = encodeRequest(must(validateRequest(shared)))
    await admin.set(meta('b'), JSON.stringify({ ...JSON.parse(enc.meta.toString()), tasks: [{ direction: 'left' }] }))
    await admin.set(requestKeys('test-run', 'b'.repeat(32)).params(0), enc.params[0])
    await queue.add('chunk', { ...good, request: 'a'.repeat(32) }, { jobId: 'not-json' })
    await queue.add('chunk', { ...good, request: 'b'.repeat(32) }, { jobId: 'bad-task' })
    const reasons = new Map<string, string>()
    await waitFor('the rejections', async () => {
      for (const id of [...bad.map((b) => b[0]), 'not-json', 'bad-task'])
        if ((await queue.getJobState(id)) === 'failed') reasons.set(id, (await queue.getJob(id))?.failedReason ?? '')
      return reasons.size === bad.length + 2
    })
    for (const [id, , , why] of bad) expect(reasons.get(id), id).toMatch(why)
    expect(reasons.get('not-json')).toMatch(/not JSON/)
    expect(reasons.get('bad-task')).toMatch(/tasks\.0\.direction/)
    // Rejected for good: tried once.
    for (const id of reasons.keys()) expect((await queue.getJob(id))?.attemptsMade, id).toBe(1)
    expect(fs.existsSync(marker)).toBe(false)
    fs.rmSync(path.dirname(marker), { recursive: true, force: true })
    const s = await sampler()
    try {
      expect(sameBatches(must(await s.sample(shared)), local.shared)).toBe(true)
    } finally {
      await s.close()
    }
    expect(events.some((e) => e._tag === 'JobRejected')).toBe(true)
  })

  it('a request whose rollout fails for good returns the error the local sampler returns', async () => {
    // Finite parameters whose action overflows float32: found only while rolling out.
    const big = { shape: [32, 6], values: new Float32Array(32 * 6).fill(3e38) }
    const broken = {
      ...shared,
      tasks: [shared.tasks[0]],
      episodesPerTask: 2,
      params: [{ ...shared.params[0], W2: big }]
    }
    const { sampler: here } = await startSampler({ workers: 0 })
    const expected = mustFail(await here.sample(broken))
    await here.close()
    expect(expected._tag).toBe('NumericalError')
    const s = await sampler()
    try {
      expect(mustFail(await s.sample(broken))).toEqual(expected)
    } finally {
      await s.close()
    }
  })
})

describe.skipIf(!hasRedis)('distributed/connection', () => {
  it('parses redis and rediss URLs, takes the password from TMAML_REDIS_PASSWORD, and never shows it', () => {
    const t = must(parseRedisTarget('redis://user:s3cret@10.0.0.5:6380/2', {}))
    expect(t).toMatchObject({
      host: '10.0.0.5',
      port: 6380,
      db: 2,
      username: 'user',
      password: 's3cret',
      tls: undefined
    })
    expect(t.shown).toBe('redis://user:***@10.0.0.5:6380/2')
    expect(must(parseRedisTarget('rediss://h', { TMAML_REDIS_PASSWORD: 'pw' }))).toMatchObject({
      port: 6379,
      password: 'pw',
      tls: { ca: undefined }
    })
    expect(text(mustFail(parseRedisTarget('http://h:1', {})))).toMatch(/scheme must be redis or rediss/)
    expect(text(mustFail(parseRedisTarget('redis://h?tls=1', {})))).toMatch(/query strings/)
    expect(text(mustFail(parseRedisTarget('redis://h', { TMAML_REDIS_CA: '/x.pem' })))).toMatch(/not a rediss/)
  })

  it('connects to a server with a password; a wrong one is a clear error naming the server', async () => {
    const r = await startRedis('pa55word')
    try {
      const wrong = mustFail(
        await makeRedisSampler({ target: must(parseRedisTarget(r.url, {})), run: 'x', connectTimeoutMs: 1500 })
      )
      expect(text(wrong)).toContain(`redis ${r.url}`)
      expect(text(wrong)).toMatch(/cannot connect within 2 s.*(NOAUTH|WRONGPASS|Authentication)/)
      const ok = must(
        await makeRedisSampler({
          target: must(parseRedisTarget(r.url, { TMAML_REDIS_PASSWORD: 'pa55word' })),
          run: 'x'
        })
      )
      await ok.close()
    } finally {
      await r.stop()
    }
  })

  const certs = hasRedis ? makeTestCerts() : undefined
  afterAll(() => {
    if (certs !== undefined) fs.rmSync(path.dirname(certs.ca), { recursive: true, force: true })
  })
  it.skipIf(certs === undefined)(
    'speaks TLS to a rediss:// server, checking its certificate against TMAML_REDIS_CA',
    async () => {
      const r = await startRedis(undefined, certs)
      try {
        expect(r.url).toMatch(/^rediss:/)
        const untrusted = mustFail(
          await makeRedisSampler({ target: must(parseRedisTarget(r.url, {})), run: 'x', connectTimeoutMs: 1500 })
        )
        expect(text(untrusted)).toMatch(/cannot connect within 2 s.*(certificate|self.signed|issuer)/i)
        const target = must(parseRedisTarget(r.url, { TMAML_REDIS_CA: certs!.ca }))
        const w = must(await startChunkWorker({ target, concurrency: 1 }))
        const s = must(await makeRedisSampler({ target, run: 'tls' }))
        try {
          const req = cheetahRequest(1, 2, 10)
          const { sampler: here } = await startSampler({ workers: 0 })
          const want = must(await here.sample(req))
          await here.close()
          expect(sameBatches(must(await s.sample(req)), want)).toBe(true)
        } finally {
          await s.close()
          await w.close()
        }
      } finally {
        await r.stop()
      }
    }
  )

  it('a request fails with a clear message when Redis stays unreachable past the limit', async () => {
    const r = await startRedis()
    try {
      const s = must(
        await makeRedisSampler({
          target: must(parseRedisTarget(r.url, {})),
          run: 'gone',
          unreachableTimeoutMs: 1000,
          pollMs: 100
        })
      )
      await r.stop()
      const t0 = Date.now()
      const e = mustFail(await s.sample(cheetahRequest(1, 2, 10)))
      expect(Date.now() - t0).toBeLessThan(10_000)
      expect(text(e)).toMatch(new RegExp(`redis sampler \\(${r.url}\\): Redis has been unreachable for [12] s`))
      await s.close()
    } finally {
      await r.stop()
    }
  })
})
