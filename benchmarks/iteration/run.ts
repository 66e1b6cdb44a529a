/**
 * `npm run bench:iteration`: the wall-time breakdown of one meta-iteration at the published batch
 * (halfcheetah-dir, 40 tasks x 20 episodes x horizon 100, tmaml + meta control variate, VPG) —
 * task sampling, rollouts, control-variate fitting, adaptation, meta-gradient + outer step — and the
 * physics-only time of the same number of env steps with the same worker threads, measured in the
 * same run, printed as a ratio.
 *
 * Flags: --tasks N --rollouts N --workers N --estimator NAME --cv KIND --outer ALG --iterations N (timed
 * iterations after one warm-up, default 2) --json.
 */
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, take, toArray } from 'rxjs'
import { formatError } from '../../src/base/errors.js'
import { timeRandomSteps } from '../envs/bench.js'
import { startBackend } from '../../src/graph/backend.js'
import { resolveConfig } from '../../src/pipelines/config.js'
import { makeSampler } from '../../src/pipelines/sampler/index.js'
import { trainDeps } from '../../src/pipelines/stages.js'
import { initialState, metaTrain } from '../../src/pipelines/train.js'

const main = async (): Promise<number> => {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: '40' },
      rollouts: { type: 'string', default: '20' },
      workers: { type: 'string', default: '2' },
      estimator: { type: 'string', default: 'tmaml' },
      cv: { type: 'string', default: 'meta' },
      outer: { type: 'string', default: 'vpg' },
      iterations: { type: 'string', default: '2' },
      json: { type: 'boolean', default: false }
    }
  })
  const timed = Number(values.iterations)
  const cfg = resolveConfig({
    env: 'halfcheetah-dir',
    tasksPerBatch: Number(values.tasks),
    rolloutsPerTask: Number(values.rollouts),
    workers: Number(values.workers),
    estimator: values.estimator,
    controlVariate: values.cv,
    outer: values.outer,
    iterations: 1 + timed,
    evalEvery: 0
  })
  if (E.isLeft(cfg)) {
    console.error(formatError(cfg.left))
    return 2
  }
  const backend = await startBackend(undefined, process.env)
  if (E.isLeft(backend)) {
    console.error(formatError(backend.left))
    return 1
  }
  const sampler = await makeSampler({ workers: cfg.right.workers })
  if (E.isLeft(sampler)) {
    console.error(formatError(sampler.left))
    return 1
  }
  const made = trainDeps(cfg.right, sampler.right)
  if (E.isLeft(made)) {
    console.error(formatError(made.left))
    return 1
  }
  const deps = made.right
  process.stderr.write(
    `backend ${backend.right.active}; ${cfg.right.tasksPerBatch} tasks x ${cfg.right.rolloutsPerTask} episodes x ${deps.horizon} steps, ${cfg.right.workers} workers; 1 warm-up + ${timed} timed iterations\n`
  )
  const contexts = await lastValueFrom(metaTrain(deps)(initialState(deps)).pipe(take(1 + timed), toArray()))
  await sampler.right.close()
  const measured = contexts.slice(1)
  const mean = (f: (c: (typeof measured)[number]) => number) => measured.reduce((a, c) => a + f(c), 0) / measured.length
  const stagesSeconds = Object.fromEntries(
    ['tasks', 'sample', 'controlVariates', 'adapt', 'metaUpdate'].map((k) => [k, mean((c) => c.timings[k] ?? 0)])
  )
  const total = Object.values(stagesSeconds).reduce((a, b) => a + b, 0)
  const steps = mean((c) => c.stats['stepsThisIteration'] ?? 0)

  // Physics alone, one thread, scaled by the thread count: worker threads run MuJoCo in parallel
  // (measured 1.93-1.99x for two on two cores, src/envs/README.md), so this is the floor sampling can reach.
  const threads = Math.max(1, cfg.right.workers)
  process.stderr.write(`physics only: ${Math.round(steps / threads)} env steps of halfcheetah-dir on one thread\n`)
  const physics = await timeRandomSteps({
    envId: 'halfcheetah-dir',
    nEnvs: 8,
    steps: Math.ceil(steps / threads),
    seed: 0
  })
  if (E.isLeft(physics)) {
    console.error(formatError(physics.left))
    return 1
  }
  const physicsSeconds = physics.right.seconds
  const report = {
    backend: backend.right.active,
    workers: cfg.right.workers,
    envSteps: steps,
    seconds: stagesSeconds,
    totalSeconds: total,
    physicsSeconds,
    samplingOverPhysics: stagesSeconds['sample'] / physicsSeconds,
    iterationOverPhysics: total / physicsSeconds
  }
  if (values.json) console.log(JSON.stringify(report, null, 2))
  else {
    console.log(
      `one meta-iteration, halfcheetah-dir, ${cfg.right.tasksPerBatch} x ${cfg.right.rolloutsPerTask} x ${deps.horizon}, ${cfg.right.estimator.name} + ${cfg.right.controlVariate.name} CV, ${cfg.right.outer}; backend ${report.backend}, ${report.workers} workers (mean of ${timed})`
    )
    console.log('| stage | seconds | share |')
    console.log('|---|---|---|')
    for (const [k, v] of Object.entries(stagesSeconds))
      console.log(`| ${k} | ${v.toFixed(2)} | ${((100 * v) / total).toFixed(0)}% |`)
    console.log(`| total | ${total.toFixed(2)} | 100% |`)
    console.log(
      `physics only, the same ${Math.round(steps)} env steps split over ${threads} thread(s): ${physicsSeconds.toFixed(2)} s`
    )
    console.log(
      `sampling / physics = ${report.samplingOverPhysics.toFixed(2)}; whole iteration / physics = ${report.iterationOverPhysics.toFixed(2)}`
    )
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
