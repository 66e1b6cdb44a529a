/**
 * `npm run bench:iteration`: the wall time of one meta-iteration of the training pipeline at the
 * published batch (halfcheetah-dir, 40 tasks x 20 episodes x horizon 100, tmaml + meta control
 * variate), for each outer optimiser asked for (default VPG and TRPO), with its stage breakdown, and
 * the physics-only time of the same number of env steps with the same worker threads, measured in the
 * same run, as a ratio.
 *
 * `--json` prints one object: `{ backend, notes, workers, estimator, controlVariate, loadAverage, runs }`
 * where each run is `{ outer, tasks, episodes, horizon, iterationSeconds, physicsSeconds, ratio,
 * stages }`: iterationSeconds the mean wall time of the timed iterations (from one emitted iteration
 * to the next), ratio = iterationSeconds / physicsSeconds, stages the mean seconds per pipeline stage.
 *
 * Flags: --outers vpg,trpo,ppo --tasks N --rollouts N --workers N --estimator NAME --cv KIND
 * --iterations N (timed iterations after one warm-up, default 2) --json.
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, take, tap, toArray } from 'rxjs'
import { formatError } from '../../src/base/errors.js'
import { timeRandomSteps } from '../envs/bench.js'
import { startBackend } from '../../src/graph/backend.js'
import { type ExperimentConfig, resolveConfig } from '../../src/pipelines/config.js'
import { makeSampler } from '../../src/pipelines/sampler/index.js'
import { trainDeps } from '../../src/pipelines/stages.js'
import { initialState, metaTrain } from '../../src/pipelines/train.js'

const envId = 'halfcheetah-dir'

interface Run {
  readonly outer: string
  readonly tasks: number
  readonly episodes: number
  readonly horizon: number
  readonly iterationSeconds: number
  readonly physicsSeconds: number
  readonly ratio: number
  readonly stages: Readonly<Record<string, number>>
}

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1)

/** Time `1 + timed` iterations of `cfg`; the mean wall time and stage seconds of the timed ones. */
const timeIterations = async (
  cfg: ExperimentConfig,
  timed: number
): Promise<E.Either<string, { seconds: number; stages: Record<string, number>; steps: number; horizon: number }>> => {
  const sampler = await makeSampler({ workers: cfg.workers })
  if (E.isLeft(sampler)) return E.left(formatError(sampler.left))
  const made = trainDeps(cfg, sampler.right)
  if (E.isLeft(made)) {
    await sampler.right.close()
    return E.left(formatError(made.left))
  }
  const deps = made.right
  const emitted: number[] = []
  const t0 = performance.now()
  try {
    const contexts = await lastValueFrom(
      metaTrain(deps)(initialState(deps)).pipe(
        take(1 + timed),
        tap(() => emitted.push(performance.now())),
        toArray()
      )
    )
    const measured = contexts.slice(1)
    const walls = emitted.map((t, i) => (t - (i === 0 ? t0 : emitted[i - 1])) / 1000).slice(1)
    const names = [...new Set(measured.flatMap((c) => Object.keys(c.timings)))]
    const stages = Object.fromEntries(names.map((k) => [k, mean(measured.map((c) => c.timings[k] ?? 0))]))
    const steps = mean(measured.map((c) => c.stats['stepsThisIteration'] ?? 0))
    return E.right({ seconds: mean(walls), stages, steps, horizon: deps.horizon })
  } finally {
    await sampler.right.close()
  }
}

const main = async (): Promise<number> => {
  const { values } = parseArgs({
    options: {
      outers: { type: 'string', default: 'vpg,trpo' },
      tasks: { type: 'string', default: '40' },
      rollouts: { type: 'string', default: '20' },
      workers: { type: 'string', default: '2' },
      estimator: { type: 'string', default: 'tmaml' },
      cv: { type: 'string', default: 'meta' },
      iterations: { type: 'string', default: '2' },
      json: { type: 'boolean', default: false }
    }
  })
  const timed = Number(values.iterations)
  if (!Number.isInteger(timed) || timed < 1) {
    console.error(`--iterations must be an integer >= 1, got ${values.iterations}`)
    return 2
  }
  const configs: ExperimentConfig[] = []
  for (const outer of values.outers.split(',')) {
    const cfg = resolveConfig({
      env: envId,
      tasksPerBatch: Number(values.tasks),
      rolloutsPerTask: Number(values.rollouts),
      workers: Number(values.workers),
      estimator: values.estimator,
      controlVariate: values.cv,
      outer,
      iterations: 1 + timed,
      evalEvery: 0
    })
    if (E.isLeft(cfg)) {
      console.error(formatError(cfg.left))
      return 2
    }
    configs.push(cfg.right)
  }
  const backend = await startBackend(undefined, process.env)
  if (E.isLeft(backend)) {
    console.error(formatError(backend.left))
    return 1
  }
  const loadStart = loadavg()[0]
  const workers = configs[0].workers
  const timings: Array<{
    cfg: ExperimentConfig
    seconds: number
    stages: Record<string, number>
    steps: number
    horizon: number
  }> = []
  for (const cfg of configs) {
    process.stderr.write(
      `${cfg.outer}: backend ${backend.right.active}; ${cfg.tasksPerBatch} tasks x ${cfg.rolloutsPerTask} episodes, ${workers} workers; 1 warm-up + ${timed} timed iterations\n`
    )
    const r = await timeIterations(cfg, timed)
    if (E.isLeft(r)) {
      console.error(r.left)
      return 1
    }
    timings.push({ cfg, ...r.right })
  }

  // Physics of the largest number of env steps per iteration (every outer samples the same batch).
  const steps = Math.max(...timings.map((t) => t.steps))
  process.stderr.write(`physics only: ${Math.round(steps)} env steps of ${envId} on ${workers} worker thread(s)\n`)
  // Physics alone, one thread, scaled by the thread count: worker threads run MuJoCo in parallel
  // (measured 1.93-1.99x for two on two cores), so this is the floor sampling can reach.
  const threads = Math.max(1, workers)
  const physics = await timeRandomSteps({ envId, nEnvs: 8, steps: Math.ceil(steps / threads), seed: 0 })
  if (E.isLeft(physics)) {
    console.error(formatError(physics.left))
    return 1
  }
  const rate = (steps / threads / physics.right.seconds) * threads

  const runs: Run[] = timings.map((t) => {
    const physicsSeconds = t.steps / rate
    return {
      outer: t.cfg.outer,
      tasks: t.cfg.tasksPerBatch,
      episodes: t.cfg.rolloutsPerTask,
      horizon: t.horizon,
      iterationSeconds: t.seconds,
      physicsSeconds,
      ratio: t.seconds / physicsSeconds,
      stages: t.stages
    }
  })
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          backend: backend.right.active,
          notes: backend.right.notes,
          env: envId,
          workers,
          estimator: configs[0].estimator.name,
          controlVariate: configs[0].controlVariate.name,
          timedIterations: timed,
          loadAverage: [loadStart, loadavg()[0]],
          runs
        },
        null,
        2
      )
    )
    return 0
  }
  console.log(
    `one meta-iteration, ${envId}, ${configs[0].estimator.name} + ${configs[0].controlVariate.name} CV; backend ${backend.right.active} (${backend.right.notes.join(', ')}), ${workers} workers, mean of ${timed} after a warm-up`
  )
  console.log(`1-min load average ${loadStart.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end`)
  for (const r of runs) {
    const total = Object.values(r.stages).reduce((a, b) => a + b, 0)
    console.log(`\n${r.outer}: ${r.tasks} x ${r.episodes} x ${r.horizon}`)
    console.log('| stage | seconds | share |')
    console.log('|---|---|---|')
    for (const [k, v] of Object.entries(r.stages))
      console.log(`| ${k} | ${v.toFixed(2)} | ${((100 * v) / total).toFixed(0)}% |`)
    console.log(`| stages total | ${total.toFixed(2)} | 100% |`)
    console.log(
      `iteration (wall) ${r.iterationSeconds.toFixed(2)} s; physics only, same ${Math.round(r.physicsSeconds * rate)} env steps on ${workers} worker(s): ${r.physicsSeconds.toFixed(2)} s; iteration / physics = ${r.ratio.toFixed(2)}`
    )
  }
  if (runs.length > 1) {
    const vpg = runs.find((r) => r.outer === 'vpg')
    if (vpg !== undefined)
      for (const r of runs.filter((x) => x !== vpg))
        console.log(`${r.outer} iteration / vpg iteration = ${(r.iterationSeconds / vpg.iterationSeconds).toFixed(2)}`)
  }
  return 0
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(err)
    process.exitCode = 1
  }
)
