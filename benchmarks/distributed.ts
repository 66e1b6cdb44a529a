// Distributed sampler throughput: env steps/s of the Redis sampler with 1, 2 and 4 `tmaml worker`
// processes on localhost (one thread each) next to the in-process sampler (1 and 2 worker threads) on
// the same requests in the same run (halfcheetah-dir at the published batch: 40 tasks x 20 episodes x
// 100 steps, Gaussian MLP 64-64 tanh); and the per-chunk overhead: the wall time per chunk of a request
// of 64 one-step chunks, on Redis (1 worker process) and in process (1 thread). It starts its own
// redis-server (Debian's) on a free loopback port and stops it. Build first (workers run from dist/):
//
//   npx tsc -p . && npx tsx benchmarks/distributed.ts [--reps 3] [--processes 1,2,4] [--smoke]
//
// --smoke: a tiny batch (4 tasks x 4 episodes x 20 steps), one repetition, 1 and 2 processes: checks
// that the benchmark runs, measures nothing. On a machine with fewer cores than worker processes the
// extra processes cannot add speed; compare rows of one run, on a quiet machine.
import * as E from 'fp-ts/lib/Either.js'
import { readFileSync } from 'node:fs'
import { formatError, type TmamlError } from '../src/base/errors.js'
import { rngAt } from '../src/base/rng.js'
import { parseRedisTarget } from '../src/distributed/connection.js'
import { makeRedisSampler } from '../src/distributed/redisSampler.js'
import type { ArrayParams } from '../src/graph/nn.js'
import { makeSampler, type PolicySpec, type RolloutRequest, type Sampler } from '../src/pipelines/sampler/index.js'
import { startRedis, startWorkerProcess } from '../test/support/redis.js'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}
const smoke = process.argv.includes('--smoke')
const reps = smoke ? 1 : Number(arg('reps', '3'))
const processCounts = arg('processes', smoke ? '1,2' : '1,2,4')
  .split(',')
  .map(Number)
const batch = smoke ? { tasks: 4, episodes: 4, horizon: 20 } : { tasks: 40, episodes: 20, horizon: 100 }

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

const spec: PolicySpec = { obsDim: 17, actDim: 6, hidden: [64, 64], activation: 'tanh' }
const policy = (): ArrayParams => {
  const rng = rngAt(0, 'bench-policy')
  const sizes = [17, 64, 64, 6]
  const out: Record<string, { shape: number[]; values: Float32Array }> = {}
  for (let l = 0; l < 3; l++) {
    const lim = Math.sqrt(6 / (sizes[l] + sizes[l + 1])) * (l === 2 ? 0.01 : 1)
    out[`W${l}`] = {
      shape: [sizes[l], sizes[l + 1]],
      values: Float32Array.from({ length: sizes[l] * sizes[l + 1] }, () => rng.uniform(-lim, lim))
    }
    out[`b${l}`] = { shape: [sizes[l + 1]], values: new Float32Array(sizes[l + 1]) }
  }
  out.logStd = { shape: [6], values: new Float32Array(6) }
  return out
}

const request = (iteration: number, b = batch): RolloutRequest => ({
  envId: 'halfcheetah-dir',
  tasks: Array.from({ length: b.tasks }, (_, k) => ({ direction: k % 2 === 0 ? 1 : -1 })),
  episodesPerTask: b.episodes,
  horizon: b.horizon,
  policy: spec,
  params: [policy()],
  seed: 1,
  stream: [iteration, 'bench']
})

const must = <A>(e: E.Either<TmamlError, A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Median seconds of `reps` requests (after one warm-up), and the env steps of one. */
const time = async (s: Sampler, make: (i: number) => RolloutRequest, n = reps): Promise<number> => {
  must(await s.sample(make(-1)))
  const secs: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    must(await s.sample(make(i)))
    secs.push((performance.now() - t0) / 1000)
  }
  return median(secs)
}

const main = async (): Promise<void> => {
  const steps = batch.tasks * batch.episodes * batch.horizon
  console.log(`load average before: ${loadavg()}; ${steps} env steps per request, ${reps} timed repetition(s)`)
  const rows: Array<readonly [string, number]> = []

  for (const workers of [1, 2]) {
    const s = must(await makeSampler({ workers }))
    rows.push([`in-process sampler, ${workers} thread(s)`, steps / (await time(s, request))])
    await s.close()
  }

  const redis = await startRedis()
  const target = must(parseRedisTarget(redis.url, {}))
  try {
    for (const n of processCounts) {
      const procs = await Promise.all(
        Array.from({ length: n }, () => startWorkerProcess(redis.url, ['--concurrency', '1']))
      )
      const s = must(await makeRedisSampler({ target, run: `bench-${n}`, pollMs: 200 }))
      rows.push([`Redis sampler, ${n} worker process(es)`, steps / (await time(s, request))])
      await s.close()
      await Promise.all(procs.map((p) => p.stop()))
    }

    // Per-chunk overhead: 64 chunks of one one-step episode each.
    const tiny = (i: number) => request(i, { tasks: 64, episodes: 1, horizon: 1 })
    const local = must(await makeSampler({ workers: 1, chunksPerWorker: 64, maxChunkEpisodes: 1 }))
    const localPerChunk = (await time(local, tiny)) / 64
    await local.close()
    const proc = await startWorkerProcess(redis.url, ['--concurrency', '1'])
    const s = must(await makeRedisSampler({ target, run: 'bench-tiny', maxChunkEpisodes: 1, pollMs: 200 }))
    const redisPerChunk = (await time(s, tiny)) / 64
    await s.close()
    await proc.stop()

    const base = rows[0][1]
    console.log('\n| sampler | env steps/s | vs in-process 1 thread |\n| --- | ---: | ---: |')
    for (const [label, sps] of rows) console.log(`| ${label} | ${Math.round(sps)} | ${(sps / base).toFixed(2)} |`)
    console.log(
      `\nper chunk (64 one-step chunks): Redis ${(redisPerChunk * 1000).toFixed(2)} ms, in process ` +
        `${(localPerChunk * 1000).toFixed(2)} ms; overhead ${((redisPerChunk - localPerChunk) * 1000).toFixed(2)} ms per chunk`
    )
    console.log(`load average after: ${loadavg()}`)
  } finally {
    await redis.stop()
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
  process.exitCode = 1
})
