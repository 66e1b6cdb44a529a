/**
 * The environment benchmark behind `tmaml envs bench` / `npm run bench:envs`: env steps per second for
 * each robot with random actions, on this thread, on 1 and 2 worker threads (aggregate), and for the
 * same MJCF stepped by native MuJoCo when Debian's `libmujoco-dev` is installed (`nativeBench.ts`).
 *
 * An "env step" is one `VecEnv.step` of one env: frame-skip physics steps plus observation, reward and
 * bookkeeping. Episodes run to the robot's horizon (health rules off) so that the wasm and native runs
 * do the same work. Each configuration is measured in `repeats` interleaved rounds and its best round
 * is reported (other processes can only slow a measurement down).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { formatError, invalidInput, type TmamlError } from '../base/errors.js'
import { compileNativeBench, type NativeBench } from './nativeBench.js'
import { envSpecs } from './registry.js'
import { robots, type RobotName } from './robots.js'
import { timeRandomSteps, type Timing } from './rollout.js'
import type { EnvId } from './vecEnv.js'
import { startEnvWorker, type EnvWorker } from './workerClient.js'

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
  /** Aggregate env steps per second with k worker threads, by k (`"1"`, `"2"`). */
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
  /** Progress lines (the CLI prints them on stderr). */
  readonly progress?: (line: string) => void
}

/** The result: rows in `envIds` order and notes (e.g. why native MuJoCo was skipped). */
export interface BenchReport {
  readonly rows: ReadonlyArray<BenchRow>
  readonly notes: ReadonlyArray<string>
}

/** One env per robot: what `tmaml envs bench` measures by default. */
export const defaultBenchEnvs: ReadonlyArray<EnvId> = [
  'halfcheetah-dir',
  'ant-dir',
  'walker-dir',
  'swimmer-vel',
  'humanoid-dir'
]

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
  const maxWorkers = Math.max(0, ...workerCounts)
  const workers: EnvWorker[] = []
  let nativeBench: NativeBench | undefined
  try {
    for (let k = 0; k < maxWorkers; k++) {
      const w = startEnvWorker()
      if (E.isLeft(w)) return w
      workers.push(w.right)
    }
    // Let every worker load its MuJoCo module before anything is timed (module start-up takes a core).
    if (workers.length > 0 && envIds.length > 0) {
      progress(`starting ${workers.length} worker thread${workers.length === 1 ? '' : 's'}`)
      const ready = await Promise.all(workers.map((w) => w.time({ envId: envIds[0], nEnvs: 1, steps: 1, seed })))
      const failed = ready.find(E.isLeft)
      if (failed !== undefined) return failed
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
        for (const k of workerCounts) {
          progress(`${tag}: ${steps} env steps on each of ${k} worker thread${k === 1 ? '' : 's'}`)
          const barrier = new SharedArrayBuffer(4)
          const timings = await Promise.all(
            workers
              .slice(0, k)
              .map((w, j) => w.time({ envId, nEnvs, steps, seed: seed + 1 + j }, { barrier, parties: k }))
          )
          let total = 0
          let slowest = 0
          for (const t of timings) {
            if (E.isLeft(t)) return t
            total += t.right.steps
            slowest = Math.max(slowest, t.right.seconds)
          }
          perWorkers[String(k)] = Math.max(perWorkers[String(k)] ?? 0, total / slowest)
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
    await Promise.all(workers.map((w) => w.terminate()))
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
