/**
 * `npm run bench:iteration`: the wall time of one meta-iteration of the training pipeline at the
 * published batch (halfcheetah-dir, 40 tasks x 20 episodes x horizon 100, tmaml + meta control
 * variate), for each outer optimiser asked for (default VPG and TRPO) and each pipeline (the streamed
 * iteration the CLI runs, and the sequential stages), with its stage breakdown, and the physics-only
 * time of the same number of env steps with the same worker threads, measured in the same run, as a
 * ratio.
 *
 * The overlap: `sampling` is the wall time during which a sampling request was outstanding (measured
 * around the sampler), the other stages are main-thread seconds (the iteration's timings). Their sum
 * is the iteration's time if nothing overlapped; the streamed iteration takes less than the sum by
 * the time its main-thread work ran while the threads sampled.
 *
 * `--json` prints one object: `{ backend, notes, workers, estimator, controlVariate, loadAverage, runs }`
 * where each run is `{ outer, pipeline, kernelThreads, tasks, episodes, horizon, iterationSeconds, samplingSeconds,
 * stagesSum, overlapSeconds, physicsSeconds, ratio, workerSeconds, workerOverPhysics, busyFloorSeconds, stages }`: iterationSeconds the mean wall time of
 * the timed iterations (from one emitted iteration to the next), stagesSum = samplingSeconds + the
 * main-thread stages, overlapSeconds = stagesSum - iterationSeconds, ratio = iterationSeconds /
 * physicsSeconds, stages the mean seconds per pipeline stage (timings: for the streamed iteration
 * `sample` is the main thread waiting for episodes); workerSeconds the worker threads' busy time (their
 * chunks' seconds summed), workerOverPhysics = workerSeconds / (physicsSeconds x workers) (a rollout
 * step against a physics-only step: the policy's forward pass, bookkeeping, cores shared with the main
 * thread), busyFloorSeconds = (workerSeconds + main-thread stage seconds) / cores (the iteration's time
 * if its work were packed onto the cores with no waiting: what no scheduling can beat).
 *
 * Flags: --outers vpg,trpo,ppo --pipelines streamed,sequential --tasks N --rollouts N --workers N
 * --estimator NAME --cv KIND --iterations N (timed iterations after one warm-up, default 2)
 * --kernel-threads LIST (the outer step's native kernel threads, each value a run: e.g. 1,0 to
 * compare one thread with all cores; default 0) --json.
 */
import { availableParallelism, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { defer, finalize, lastValueFrom, take, tap, toArray } from 'rxjs'
import { formatError } from '../../src/base/errors.js'
import { timeRandomSteps } from '../envs/bench.js'
import { startBackend } from '../../src/graph/backend.js'
import { type ExperimentConfig, resolveConfig } from '../../src/pipelines/config.js'
import { type Sampler, makeSampler, streamSampler } from '../../src/pipelines/sampler/index.js'
import { trainDeps } from '../../src/pipelines/stages.js'
import { sequentialIteration, standardIteration } from '../../src/pipelines/streaming.js'
import { initialState, metaTrain } from '../../src/pipelines/train.js'
import { positiveIntFlag, usageExit } from '../flags.js'

const pipelines = { streamed: standardIteration, sequential: sequentialIteration } as const
type Pipeline = keyof typeof pipelines

/** `sampler`, measuring the wall time during which at least one of its requests was outstanding. */
const timedSampler = (sampler: Sampler): { readonly sampler: Sampler; readonly seconds: () => number } => {
  let active = 0
  let since = 0
  let total = 0
  return {
    sampler: streamSampler({
      workers: sampler.workers,
      close: sampler.close,
      sample$: (req) =>
        defer(() => {
          if (active++ === 0) since = performance.now()
          return sampler.sample$(req).pipe(
            finalize(() => {
              if (--active === 0) total += performance.now() - since
            })
          )
        })
    }),
    seconds: () => (total + (active > 0 ? performance.now() - since : 0)) / 1000
  }
}

const envId = 'halfcheetah-dir'

interface Run {
  readonly outer: string
  readonly pipeline: Pipeline
  /** The config's kernelThreads (0: the machine's cores), used in the outer step. */
  readonly kernelThreads: number
  readonly tasks: number
  readonly episodes: number
  readonly horizon: number
  readonly iterationSeconds: number
  readonly samplingSeconds: number
  readonly stagesSum: number
  readonly overlapSeconds: number
  readonly physicsSeconds: number
  readonly ratio: number
  /** The worker threads' busy seconds per iteration: the sum of their chunks' times. */
  readonly workerSeconds: number
  /** workerSeconds / (physicsSeconds x workers): a rollout step in a worker against a physics-only step. */
  readonly workerOverPhysics: number
  /**
   * (workerSeconds + the main thread's stage seconds) / the machine's cores: the iteration's wall time
   * if all its work were packed onto the cores with no waiting — a floor for this code on this machine.
   */
  readonly busyFloorSeconds: number
  readonly stages: Readonly<Record<string, number>>
}

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1)

interface Timing {
  readonly seconds: number
  readonly sampling: number
  readonly stages: Record<string, number>
  readonly steps: number
  readonly horizon: number
  readonly workerSeconds: number
}

/** Time `1 + timed` iterations of `cfg`; the mean wall time, sampling and stage seconds of the timed ones. */
const timeIterations = async (
  cfg: ExperimentConfig,
  pipeline: Pipeline,
  timed: number
): Promise<E.Either<string, Timing>> => {
  let busy = 0
  const sampler = await makeSampler({
    workers: cfg.workers,
    onEvent: (e) => {
      if (e._tag === 'ChunkDone') busy += e.seconds
    }
  })
  if (E.isLeft(sampler)) return E.left(formatError(sampler.left))
  const watched = timedSampler(sampler.right)
  const made = trainDeps(cfg, watched.sampler)
  if (E.isLeft(made)) {
    await sampler.right.close()
    return E.left(formatError(made.left))
  }
  const deps = made.right
  const emitted: number[] = []
  const sampled: number[] = []
  const busyAt: number[] = []
  const t0 = performance.now()
  try {
    const contexts = await lastValueFrom(
      metaTrain(
        deps,
        pipelines[pipeline]()
      )(initialState(deps)).pipe(
        take(1 + timed),
        tap(() => {
          emitted.push(performance.now())
          sampled.push(watched.seconds())
          busyAt.push(busy)
        }),
        toArray()
      )
    )
    const measured = contexts.slice(1)
    const walls = emitted.map((t, i) => (t - (i === 0 ? t0 : emitted[i - 1])) / 1000).slice(1)
    const sampling = sampled.map((x, i) => x - (i === 0 ? 0 : sampled[i - 1])).slice(1)
    const workerBusy = busyAt.map((x, i) => x - (i === 0 ? 0 : busyAt[i - 1])).slice(1)
    const names = [...new Set(measured.flatMap((c) => Object.keys(c.timings)))]
    const stages = Object.fromEntries(names.map((k) => [k, mean(measured.map((c) => c.timings[k] ?? 0))]))
    const steps = mean(measured.map((c) => c.stats['stepsThisIteration'] ?? 0))
    return E.right({
      seconds: mean(walls),
      sampling: mean(sampling),
      stages,
      steps,
      horizon: deps.horizon,
      workerSeconds: mean(workerBusy)
    })
  } finally {
    await sampler.right.close()
  }
}

const main = async (): Promise<number> => {
  const { values } = parseArgs({
    options: {
      outers: { type: 'string', default: 'vpg,trpo' },
      pipelines: { type: 'string', default: 'streamed,sequential' },
      tasks: { type: 'string', default: '40' },
      rollouts: { type: 'string', default: '20' },
      workers: { type: 'string', default: '2' },
      estimator: { type: 'string', default: 'tmaml' },
      cv: { type: 'string', default: 'meta' },
      iterations: { type: 'string', default: '2' },
      'kernel-threads': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false }
    }
  })
  const chosen = values.pipelines.split(',')
  const unknown = chosen.filter((p) => !(p in pipelines))
  if (unknown.length > 0) {
    return usageExit('bench:iteration', `--pipelines: unknown ${unknown.join(', ')} (streamed, sequential)`)
  }
  const timed = positiveIntFlag('bench:iteration', 'iterations', values.iterations)
  const configs: ExperimentConfig[] = []
  for (const outer of values.outers.split(','))
    for (const kernelThreads of values['kernel-threads'].split(',')) {
      const cfg = resolveConfig({
        kernelThreads: Number(kernelThreads),
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
  const timings: Array<Timing & { readonly cfg: ExperimentConfig; readonly pipeline: Pipeline }> = []
  for (const cfg of configs)
    for (const pipeline of chosen as ReadonlyArray<Pipeline>) {
      process.stderr.write(
        `${cfg.outer} (kernel threads ${cfg.kernelThreads}), ${pipeline}: backend ${backend.right.active}; ${cfg.tasksPerBatch} tasks x ${cfg.rolloutsPerTask} episodes, ${workers} workers; 1 warm-up + ${timed} timed iterations\n`
      )
      const r = await timeIterations(cfg, pipeline, timed)
      if (E.isLeft(r)) {
        console.error(r.left)
        return 1
      }
      timings.push({ cfg, pipeline, ...r.right })
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
  const cores = availableParallelism()

  const runs: Run[] = timings.map((t) => {
    const physicsSeconds = t.steps / rate
    const { sample: _waiting, ...mainThread } = t.stages
    const mainSeconds = Object.values(mainThread).reduce((a, b) => a + b, 0)
    const stagesSum = t.sampling + mainSeconds
    return {
      outer: t.cfg.outer,
      pipeline: t.pipeline,
      kernelThreads: t.cfg.kernelThreads,
      tasks: t.cfg.tasksPerBatch,
      episodes: t.cfg.rolloutsPerTask,
      horizon: t.horizon,
      iterationSeconds: t.seconds,
      samplingSeconds: t.sampling,
      stagesSum,
      overlapSeconds: stagesSum - t.seconds,
      physicsSeconds,
      ratio: t.seconds / physicsSeconds,
      workerSeconds: t.workerSeconds,
      workerOverPhysics: t.workerSeconds / (physicsSeconds * threads),
      busyFloorSeconds: (t.workerSeconds + mainSeconds) / cores,
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
    console.log(
      `\n${r.outer}, ${r.pipeline}, kernel threads ${r.kernelThreads}: ${r.tasks} x ${r.episodes} x ${r.horizon}`
    )
    console.log('| stage (timings) | seconds | share |')
    console.log('|---|---|---|')
    for (const [k, v] of Object.entries(r.stages))
      console.log(`| ${k} | ${v.toFixed(2)} | ${((100 * v) / total).toFixed(0)}% |`)
    console.log(`| stages total | ${total.toFixed(2)} | 100% |`)
    console.log(
      `sampling (requests outstanding) ${r.samplingSeconds.toFixed(2)} s; sampling + main-thread stages ${r.stagesSum.toFixed(2)} s; ` +
        `iteration (wall) ${r.iterationSeconds.toFixed(2)} s: overlap ${r.overlapSeconds.toFixed(2)} s`
    )
    console.log(
      `physics only, same ${Math.round(r.physicsSeconds * rate)} env steps on ${workers} worker(s): ${r.physicsSeconds.toFixed(2)} s; iteration / physics = ${r.ratio.toFixed(2)}`
    )
    console.log(
      `worker threads busy ${r.workerSeconds.toFixed(2)} s (${r.workerOverPhysics.toFixed(2)}x physics-only per step); ` +
        `(workers' + main thread's busy seconds) / ${cores} cores = ${r.busyFloorSeconds.toFixed(2)} s ` +
        `= ${(r.busyFloorSeconds / r.physicsSeconds).toFixed(2)}x physics: the floor of this work on this machine`
    )
  }
  const kernelCounts = [...new Set(runs.map((r) => r.kernelThreads))]
  for (const k of kernelCounts) {
    const base = (p: Pipeline) => runs.find((r) => r.outer === 'vpg' && r.pipeline === p && r.kernelThreads === k)
    for (const p of chosen as ReadonlyArray<Pipeline>) {
      const vpg = base(p)
      if (vpg !== undefined)
        for (const r of runs.filter((x) => x !== vpg && x.pipeline === p && x.kernelThreads === k))
          console.log(
            `${p}, kernel threads ${k}: ${r.outer} iteration / vpg iteration = ${(r.iterationSeconds / vpg.iterationSeconds).toFixed(2)}`
          )
    }
    for (const outer of new Set(runs.map((r) => r.outer))) {
      const [a, b] = (['streamed', 'sequential'] as const).map((p) =>
        runs.find((r) => r.outer === outer && r.pipeline === p && r.kernelThreads === k)
      )
      if (a !== undefined && b !== undefined)
        console.log(
          `${outer}, kernel threads ${k}: streamed iteration / sequential iteration = ${(a.iterationSeconds / b.iterationSeconds).toFixed(2)}`
        )
    }
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
