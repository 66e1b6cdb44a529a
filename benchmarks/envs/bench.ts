/**
 * The environment benchmark behind `npm run bench:envs` (`run.ts`): env steps per second for each
 * robot on this thread with uniformly random actions, through the rollout sampler on 1 and 2 worker
 * threads (aggregate), and for the same MJCF stepped by native MuJoCo when Debian's `libmujoco-dev` is
 * installed (`nativeBench.ts`).
 *
 * An "env step" is one `VecEnv.step` of one env: frame-skip physics steps plus observation, reward and
 * bookkeeping. On this thread (and natively) episodes run to the robot's horizon (health rules off) so
 * that the wasm and native runs do the same work. The worker columns use the sampler's worker threads
 * (src/pipelines/sampler, the one worker layer of the project) with a random policy: a linear Gaussian
 * policy with zero weights and unit std (the env clips its actions), episodes ended by the envs' own
 * rules; the steps counted are those taken. Each configuration is measured in `repeats` interleaved
 * rounds and its best round is reported (other processes can only slow a measurement down).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { formatError, invalidInput, type TmamlError } from '../../src/base/errors.js'
import { rngAt } from '../../src/base/rng.js'
import { envSpecs, getEnvSpec } from '../../src/envs/registry.js'
import { robots, type RobotName } from '../../src/envs/robots.js'
import type { EnvId } from '../../src/envs/vecEnv.js'
import { stepsTaken } from '../../src/pipelines/episodes.js'
import { makeSampler } from '../../src/pipelines/sampler/index.js'
import type { RolloutRequest, Sampler } from '../../src/pipelines/sampler/types.js'
import { compileNativeBench, type NativeBench } from './nativeBench.js'

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** One benchmarked environment. */
export interface BenchRow {
  readonly env: EnvId
  /** The robot (or small system) the env runs. */
  readonly system: string
  /** Env steps per second on one thread (the calling thread). */
  readonly stepsPerSec: number
  /** Aggregate env steps per second through the sampler with k worker threads, by k (`"1"`, `"2"`). */
  readonly workers: Readonly<Record<string, number>>
  /** Env steps per second of native MuJoCo on one thread, or null when unavailable. */
  readonly nativeStepsPerSec: number | null
  /** `stepsPerSec / nativeStepsPerSec` (wasm over native), or null. */
  readonly ratio: number | null
  /** Version of the native MuJoCo, or null. */
  readonly nativeVersion: string | null
  /** Env steps timed per measurement (per thread), and the rounds per configuration (best reported). */
  readonly steps: number
  readonly repeats: number
  /** Envs stepped together per thread. */
  readonly nEnvs: number
}

/** Options of `benchmarkEnvs`. */
export interface BenchOptions {
  readonly envIds: ReadonlyArray<EnvId>
  /** Env steps per measurement; default: about `seconds` worth, from a short calibration run. */
  readonly steps?: number
  /** Target seconds per measurement when `steps` is not given (default 1). */
  readonly seconds?: number
  /** Rounds per configuration, the best one reported (default 3). */
  readonly repeats?: number
  /** Envs per thread (default 8). */
  readonly nEnvs?: number
  /** Worker-thread counts to measure (default [1, 2]). */
  readonly workerCounts?: ReadonlyArray<number>
  /** Measure native MuJoCo when available (default true). */
  readonly native?: boolean
  readonly seed?: number
  /** Progress lines (run.ts prints them on stderr). */
  readonly progress?: (line: string) => void
}

/** The result: rows in `envIds` order and notes (e.g. why native MuJoCo was skipped). */
export interface BenchReport {
  readonly rows: ReadonlyArray<BenchRow>
  readonly notes: ReadonlyArray<string>
}

/** One env per robot: what the benchmark measures by default. */
export const defaultBenchEnvs: ReadonlyArray<EnvId> = [
  'halfcheetah-dir',
  'ant-dir',
  'walker-dir',
  'swimmer-vel',
  'humanoid-dir'
]

// -------------------------------------------------------------------------------------------------
// timing on this thread
// -------------------------------------------------------------------------------------------------

/** A timed run of random actions. */
export interface TimingRequest {
  readonly envId: string
  /** Envs stepped together in this thread. */
  readonly nEnvs: number
  /** Env steps to time (counted over all envs; rounded up to a multiple of `nEnvs`). */
  readonly steps: number
  readonly seed: number
}

/** `steps` env steps took `seconds` (wall clock, after a warm-up). */
export interface Timing {
  readonly steps: number
  readonly seconds: number
}

/**
 * Step `nEnvs` envs of `envId` with uniformly random actions within the bounds, every episode running to
 * the horizon (health rules off), and time it. `beforeTiming` runs after the warm-up (worker threads
 * use it to start together).
 */
export const timeRandomSteps = async (
  req: TimingRequest,
  beforeTiming: () => void = () => undefined
): Promise<E.Either<TmamlError, Timing>> => {
  const spec = getEnvSpec(req.envId)
  if (E.isLeft(spec)) return spec
  const { nEnvs, seed } = req
  const made = await spec.right.make({ n: nEnvs, terminateWhenUnhealthy: false })
  if (E.isLeft(made)) return made
  const env = made.right
  try {
    const { actDim, actionLow, actionHigh } = env
    const discrete = spec.right.discreteActions
    const rng = rngAt(seed, 'bench-actions')
    const pool = 256
    const actions = new Float32Array(pool * nEnvs * actDim)
    for (let k = 0; k < actions.length; k++) {
      const c = k % actDim
      actions[k] = discrete !== undefined ? rng.int(discrete) : rng.uniform(actionLow[c], actionHigh[c])
    }
    const stepAt = (t: number): E.Either<TmamlError, unknown> => {
      const p = t % pool
      return env.step(actions.subarray(p * nEnvs * actDim, (p + 1) * nEnvs * actDim))
    }
    const started = env.reset(seed)
    if (E.isLeft(started)) return started
    // Warm-up: let the JIT settle (up to 200 calls or 0.2 s).
    const warm0 = performance.now()
    for (let t = 0; t < 200 && performance.now() - warm0 < 200; t++) {
      const r = stepAt(t)
      if (E.isLeft(r)) return r
    }
    const calls = Math.max(1, Math.ceil(req.steps / nEnvs))
    beforeTiming()
    const t0 = performance.now()
    for (let t = 0; t < calls; t++) {
      const r = stepAt(t)
      if (E.isLeft(r)) return r
    }
    const seconds = (performance.now() - t0) / 1000
    return E.right({ steps: calls * nEnvs, seconds })
  } finally {
    env.dispose()
  }
}

// -------------------------------------------------------------------------------------------------
// timing on the sampler's worker threads
// -------------------------------------------------------------------------------------------------

/** About `steps` env steps of `envId` from a random policy, as one request to a sampler. */
const randomRequest = (envId: EnvId, steps: number, seed: number): RolloutRequest => {
  const spec = envSpecs[envId]
  const { obsDim, actDim } = spec
  return {
    envId,
    tasks: spec.sampleTasks(rngAt(seed, 'bench-tasks'), 1),
    episodesPerTask: Math.max(8, Math.ceil(steps / spec.horizon)),
    horizon: spec.horizon,
    policy: { obsDim, actDim, hidden: [], activation: 'tanh' },
    params: [
      {
        W0: { shape: [obsDim, actDim], values: new Float32Array(obsDim * actDim) },
        b0: { shape: [actDim], values: new Float32Array(actDim) },
        logStd: { shape: [actDim], values: new Float32Array(actDim) }
      }
    ],
    seed,
    stream: ['bench']
  }
}

/** Env steps taken per second by `sampler` on `req` (wall clock). */
const samplerTiming = async (sampler: Sampler, req: RolloutRequest): Promise<E.Either<TmamlError, Timing>> => {
  const t0 = performance.now()
  const r = await sampler.sample(req)
  const seconds = (performance.now() - t0) / 1000
  return E.map((bs: Parameters<typeof stepsTaken>[0]) => ({ steps: stepsTaken(bs), seconds }))(r)
}

// -------------------------------------------------------------------------------------------------
// benchmark
// -------------------------------------------------------------------------------------------------

const rate = (t: Timing): number => t.steps / t.seconds

const isRobot = (s: string): s is RobotName => Object.prototype.hasOwnProperty.call(robots, s)

/** Run the benchmark. Workers are started once and reused; every MuJoCo handle is freed at the end. */
export const benchmarkEnvs = async (options: BenchOptions): Promise<E.Either<TmamlError, BenchReport>> => {
  const {
    envIds,
    seconds = 1,
    repeats = 3,
    nEnvs = 8,
    workerCounts = [1, 2],
    native = true,
    seed = 0,
    progress = () => undefined
  } = options
  if (options.steps !== undefined && (!Number.isInteger(options.steps) || options.steps < 1))
    return E.left(invalidInput('envs bench', `steps must be an integer >= 1, got ${options.steps}`))
  if (!Number.isInteger(repeats) || repeats < 1)
    return E.left(invalidInput('envs bench', `repeats must be an integer >= 1, got ${repeats}`))
  const notes: string[] = []
  const samplers = new Map<number, Sampler>()
  let nativeBench: NativeBench | undefined
  try {
    for (const k of workerCounts) {
      progress(`starting a sampler with ${k} worker thread${k === 1 ? '' : 's'}`)
      const s = await makeSampler({ workers: k })
      if (E.isLeft(s)) return s
      samplers.set(k, s.right)
    }
    if (native) {
      const nb = compileNativeBench()
      if (E.isLeft(nb)) notes.push(`native MuJoCo skipped: ${formatError(nb.left)}`)
      else nativeBench = nb.right
    }
    const rows: BenchRow[] = []
    for (const envId of envIds) {
      const spec = envSpecs[envId]
      let steps = options.steps
      if (steps === undefined) {
        progress(`${envId}: calibrating`)
        const cal = await timeRandomSteps({ envId, nEnvs, steps: 50 * nEnvs, seed })
        if (E.isLeft(cal)) return cal
        steps = Math.min(2_000_000, Math.max(1000, Math.round(rate(cal.right) * seconds)))
      }
      // Rounds interleave the configurations, and each keeps its best round: interference from other
      // processes only ever slows a measurement down.
      let single = 0
      const perWorkers: Record<string, number> = {}
      let nativeRate: number | null = null
      let nativeVersion: string | null = null
      for (let round = 1; round <= repeats; round++) {
        const tag = `${envId} (round ${round}/${repeats})`
        progress(`${tag}: ${steps} env steps on this thread`)
        const one = await timeRandomSteps({ envId, nEnvs, steps, seed })
        if (E.isLeft(one)) return one
        single = Math.max(single, rate(one.right))
        for (const [k, sampler] of spec.discreteActions === undefined ? samplers : new Map<number, Sampler>()) {
          progress(
            `${tag}: about ${k * steps} env steps through the sampler on ${k} worker thread${k === 1 ? '' : 's'}`
          )
          const req = randomRequest(envId, k * steps, seed + round)
          if (round === 1) {
            // Warm-up: every worker creates and compiles this env before anything is timed.
            const warm = await sampler.sample(req)
            if (E.isLeft(warm)) return warm
          }
          const t = await samplerTiming(sampler, req)
          if (E.isLeft(t)) return t
          perWorkers[String(k)] = Math.max(perWorkers[String(k)] ?? 0, rate(t.right))
        }
        if (nativeBench !== undefined && spec.simulator === 'mujoco' && isRobot(spec.system)) {
          progress(`${tag}: ${steps} env steps with native MuJoCo`)
          const nt = nativeBench.run(robots[spec.system], steps, spec.horizon, seed)
          if (E.isLeft(nt)) {
            if (round === 1) notes.push(formatError(nt.left))
          } else {
            nativeRate = Math.max(nativeRate ?? 0, rate(nt.right))
            nativeVersion = nt.right.version
          }
        }
      }
      const stepsPerSec = single
      rows.push({
        env: envId,
        system: spec.system,
        stepsPerSec,
        workers: perWorkers,
        nativeStepsPerSec: nativeRate,
        ratio: nativeRate === null ? null : stepsPerSec / nativeRate,
        nativeVersion,
        steps,
        repeats,
        nEnvs
      })
    }
    return E.right({ rows, notes })
  } finally {
    nativeBench?.cleanup()
    await Promise.all([...samplers.values()].map((s) => s.close()))
  }
}

/** A fixed-width table of a report (numbers rounded), one row per env. */
export const formatBenchTable = (report: BenchReport): string => {
  const counts = [...new Set(report.rows.flatMap((r) => Object.keys(r.workers)))].sort()
  const header = [
    'env',
    'steps/s (1 thread)',
    ...counts.map((k) => `${k} worker${k === '1' ? '' : 's'}`),
    'native steps/s',
    'wasm/native'
  ]
  const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : Math.round(x).toString())
  const lines = report.rows.map((r) => [
    r.env,
    fmt(r.stepsPerSec),
    ...counts.map((k) => fmt(r.workers[k])),
    fmt(r.nativeStepsPerSec),
    r.ratio === null ? '-' : r.ratio.toFixed(2)
  ])
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)))
  const row = (cells: ReadonlyArray<string>): string =>
    '| ' + cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join(' | ') + ' |'
  const rule = '|' + widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|'
  return [row(header), rule, ...lines.map(row)].join('\n')
}
