// Sampler throughput: env steps/s of the parallel rollout sampler on halfcheetah-dir at the published
// batch (40 tasks x 20 episodes x horizon 100, Gaussian MLP 64-64 tanh), with 0 (calling thread), 1 and
// 2 worker threads, next to the physics alone (random actions, same env count per thread) measured in
// the same run. Build first (the workers run from dist/):
//
//   npx tsc -p . && npx tsx benchmarks/sampler.ts [--reps 5] [--workers 0,1,2] [--cache true|false|both] [--max-load 0.6]
//
// --cache: keep envs between requests (the default) or create them per chunk; --max-load: wait (up to
// 20 min) until the 1-minute load average is below it. Besides wall-clock steps/s, each row gives steps per
// CPU-second of the whole process (all threads) and the CPU cores it kept busy: on a machine shared with
// other jobs, these show what the wall clock hides.
import * as E from 'fp-ts/lib/Either.js'
import { readFileSync } from 'node:fs'
import { formatError } from '../src/base/errors.js'
import { rngAt } from '../src/base/rng.js'
import { timeRandomSteps } from './envs/bench.js'
import type { ArrayParams } from '../src/graph/nn.js'
import { makeSampler, type PolicySpec, type RolloutRequest, type Sampler } from '../src/pipelines/sampler/index.js'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}
const reps = Number(arg('reps', '5'))
const workerCounts = arg('workers', '0,1,2').split(',').map(Number)
const maxLoad = Number(arg('max-load', 'Infinity'))
const cacheModes = { true: [true], false: [false], both: [true, false] }[arg('cache', 'true')] ?? [true]

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
const load1 = (): number => Number(loadavg().split(' ')[0])

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

const request = (iteration: number): RolloutRequest => ({
  envId: 'halfcheetah-dir',
  tasks: Array.from({ length: 40 }, (_, k) => ({ direction: k % 2 === 0 ? 1 : -1 })),
  episodesPerTask: 20,
  horizon: 100,
  policy: spec,
  params: [policy()],
  seed: 1,
  stream: [iteration, 'pre']
})

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const series = () => ({ wall: [] as number[], cpu: [] as number[], cores: [] as number[] })

const main = async (): Promise<void> => {
  if (Number.isFinite(maxLoad))
    for (let i = 0; i < 80 && load1() >= maxLoad; i++) await new Promise((r) => setTimeout(r, 15_000))
  const before = loadavg()

  // All configurations are started and warmed up first, then timed in turns (one request each per
  // round), so that a change of machine load affects them alike.
  // run(r) returns env steps; each round records wall-clock and process CPU time (all threads) around it.
  interface Config {
    readonly label: string
    readonly run: (r: number) => Promise<number>
    readonly wall: number[]
    readonly cpu: number[]
    readonly cores: number[]
  }
  const configs: Config[] = []
  configs.push({
    label: 'physics only (random actions, 100 envs, 1 thread)',
    ...series(),
    run: async (r) => {
      const t = await timeRandomSteps({ envId: 'halfcheetah-dir', nEnvs: 100, steps: 80_000, seed: r })
      if (E.isLeft(t)) throw new Error(formatError(t.left))
      return t.right.steps
    }
  })
  const samplers: Sampler[] = []
  for (const workers of workerCounts)
    for (const cacheEnvs of cacheModes) {
      const s = await makeSampler({ workers, cacheEnvs })
      if (E.isLeft(s)) throw new Error(formatError(s.left))
      samplers.push(s.right)
      const who = workers === 0 ? 'calling thread (workers: 0)' : `${workers} worker${workers > 1 ? 's' : ''}`
      configs.push({
        label: `sampler, ${who}${cacheModes.length > 1 ? (cacheEnvs ? ', cached envs' : ', envs per chunk') : ''}`,
        ...series(),
        run: async (r) => {
          const res = await s.right.sample(request(r))
          if (E.isLeft(res)) throw new Error(formatError(res.left))
          return res.right.reduce((a, b) => a + b.mask.reduce((x, m) => x + m, 0), 0)
        }
      })
    }
  for (const c of configs) await c.run(-1) // warm-up: module load, JIT, env cache
  for (let r = 0; r < reps; r++)
    for (const c of configs) {
      const t0 = performance.now()
      const u0 = process.cpuUsage()
      const steps = await c.run(r)
      const u = process.cpuUsage(u0)
      const wall = (performance.now() - t0) / 1000
      const cpu = (u.user + u.system) / 1e6
      c.wall.push(steps / wall)
      c.cpu.push(steps / cpu)
      c.cores.push(cpu / wall)
    }
  await Promise.all(samplers.map((s) => s.close()))

  console.log(
    'halfcheetah-dir, 40 tasks x 20 episodes x 100 steps (80,000 env steps per request), policy 17-64-64-6 tanh'
  )
  console.log(`node ${process.version}, load average before: ${before}, after: ${loadavg()}; ${reps} timed rounds`)
  console.log(
    '| what | env steps/s (median) | best | steps per CPU-second | CPU cores busy |\n|---|---:|---:|---:|---:|'
  )
  for (const c of configs)
    console.log(
      `| ${c.label} | ${Math.round(median(c.wall))} | ${Math.round(Math.max(...c.wall))} | ` +
        `${Math.round(median(c.cpu))} | ${median(c.cores).toFixed(2)} |`
    )
}

void main()
