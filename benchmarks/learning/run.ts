/**
 * `npm run bench:learning`: how fast meta-training learns, against the field's reference curve.
 * Trains halfcheetah-dir (20 tasks x 20 episodes, horizon 100, one inner step) for `--iterations`
 * with 3 seeds (`tmaml train` in child processes, one after the other; a killed benchmark resumes
 * each run from its last checkpoint), then prints the post-adaptation return at iterations 50, 100,
 * 150, 200 (mean +- std over seeds of each run's mean over the 10 iterations ending there) beside
 * learn2learn's MAML-TRPO figures, and writes
 * benchmarks/results/learning-halfcheetah-dir-<estimator>.json.
 *
 * Flags: --estimator NAME (default maml) --outer vpg|trpo|ppo (trpo) --cv KIND (linear) --seeds 1,2,3
 * (or 1-3) --iterations N (200) --config base.json (more config fields) --runs DIR (where run folders
 * go, named <estimator>-<cv>-s<seed> as `tmaml experiment compare` names them; default
 * runs/bench-learning) --out FILE --workers N.
 *
 * The anchor (DESIGN.md, "Learning"): learn2learn's examples/rl MAML-TRPO figure, 3 seeds, read from
 * the plot (approximate; wide seed spread).
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { learn2learnTrpo } from '../../src/pipelines/config.js'
import { positiveIntFlag, usageExit } from '../flags.js'
import { parseSeeds } from '../../src/base/seeds.js'
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../../src/base/errors.js'
import { getEnvSpec } from '../../src/envs/registry.js'

/** learn2learn MAML-TRPO, HalfCheetah forward/backward, 20 x 20, one inner step: post-adaptation return. */
const anchor = {
  source: 'learn2learn examples/rl MAML-TRPO (README figure, mean of 3 seeds, read from the plot)',
  postAdaptationReturn: { '0': -38, '25': -34, '50': -18, '100': 33, '150': 152, '200': 207, '300': 258 }
} as const

const checkpoints = [50, 100, 150, 200] as const
/** halfcheetah-dir's action components: learn2learn's trust region is per component. */
const cheetahControls = (() => {
  const spec = getEnvSpec('halfcheetah-dir')
  if (E.isLeft(spec)) throw new Error('bench:learning: halfcheetah-dir is not registered')
  return spec.right.actDim
})()
const window = 10

const readPost = (runDir: string): number[] => {
  const f = path.join(runDir, 'metrics.jsonl')
  if (!fs.existsSync(f)) return []
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as { iteration: number; returnPost: number }]
      } catch {
        return [] // a torn last line of a killed run
      }
    })
    .sort((a, b) => a.iteration - b.iteration)
    .map((r) => r.returnPost)
}

/** Mean of the `window` iterations ending at iteration `it` (1-based count), or undefined. */
const windowMean = (xs: ReadonlyArray<number>, it: number): number | undefined => {
  if (xs.length < it) return undefined
  const part = xs.slice(Math.max(0, it - window), it)
  return part.reduce((a, b) => a + b, 0) / part.length
}

const meanStd = (xs: ReadonlyArray<number>): { mean: number; std: number } => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(xs.length - 1, 1))
  return { mean, std }
}

const main = (): number => {
  const { values } = parseArgs({
    options: {
      estimator: { type: 'string', default: 'maml' },
      outer: { type: 'string', default: 'trpo' },
      cv: { type: 'string', default: 'linear' },
      seeds: { type: 'string', default: '1,2,3' },
      iterations: { type: 'string', default: '200' },
      config: { type: 'string' },
      runs: { type: 'string', default: 'runs/bench-learning' },
      out: { type: 'string' },
      workers: { type: 'string', default: '2' }
    }
  })
  const parsed = parseSeeds(values.seeds)
  if (E.isLeft(parsed)) return usageExit('bench:learning', formatError(parsed.left))
  const seeds = parsed.right
  const iterations = positiveIntFlag('bench:learning', 'iterations', values.iterations)
  const user = values.config !== undefined ? (JSON.parse(fs.readFileSync(values.config, 'utf8')) as object) : {}
  const out = values.out ?? path.join('benchmarks', 'results', `learning-halfcheetah-dir-${values.estimator}.json`)
  fs.mkdirSync(values.runs, { recursive: true })
  const cli = path.join('bin', 'tmaml.js')
  const curves: Record<string, number[]> = {}
  const started = Date.now()
  for (const seed of seeds) {
    // The folder layout of `tmaml experiment compare` (<out>/<estimator>-<cv>-s<seed>), so a comparison's
    // runs serve as this benchmark's and the other way round.
    const runDir = path.join(
      values.runs,
      `${values.estimator}:${values.cv}`.replace(/[^A-Za-z0-9.()-]+/g, '-') + `-s${seed}`
    )
    const existing = path.join(runDir, 'config.json')
    if (fs.existsSync(existing)) {
      const c = JSON.parse(fs.readFileSync(existing, 'utf8')) as Record<string, unknown>
      const want: Record<string, unknown> = {
        env: 'halfcheetah-dir',
        estimator: values.estimator,
        outer: values.outer,
        controlVariate: values.cv,
        tasksPerBatch: 20,
        rolloutsPerTask: 20,
        seed
      }
      const off = Object.keys(want).filter((k) => c[k] !== want[k])
      if (off.length > 0) {
        console.error(
          `bench:learning: ${runDir} holds a run with other settings (${off.join(', ')}); choose another --runs`
        )
        return 2
      }
    }
    const done = readPost(runDir).length
    if (done < iterations) {
      const cfgFile = path.join(values.runs, `${path.basename(runDir)}.json`)
      const resume = fs.existsSync(path.join(runDir, 'checkpoint.json'))
      const cfg = {
        env: 'halfcheetah-dir',
        tasksPerBatch: 20,
        rolloutsPerTask: 20,
        horizon: 100,
        innerSteps: 1,
        evalEvery: 0,
        checkpointEvery: 5,
        ...learn2learnTrpo(cheetahControls),
        ...user,
        estimator: values.estimator,
        outer: values.outer,
        controlVariate: values.cv,
        seed,
        iterations,
        workers: Number(values.workers),
        runDir
      }
      if (!resume) fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 2))
      const args = resume
        ? [cli, 'train', '--resume', runDir, '--iterations', String(iterations)]
        : [cli, 'train', '--config', cfgFile]
      process.stderr.write(`bench:learning: seed ${seed} (${resume ? `resuming at ${done}` : 'new'}): ${runDir}\n`)
      const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] })
      if (r.status !== 0) {
        console.error(`bench:learning: the run of seed ${seed} failed (exit ${r.status}); rerun to resume it`)
        return 1
      }
    }
    curves[String(seed)] = readPost(runDir).slice(0, iterations)
  }

  const rows = checkpoints
    .filter((it) => it <= iterations)
    .map((it) => {
      const vals = seeds.map((s) => windowMean(curves[String(s)], it)).filter((v): v is number => v !== undefined)
      const ms = meanStd(vals)
      const a = anchor.postAdaptationReturn[String(it) as keyof typeof anchor.postAdaptationReturn]
      return { iteration: it, mean: ms.mean, std: ms.std, seeds: vals.length, anchor: a }
    })
  console.log(
    `halfcheetah-dir 20 x 20, horizon 100: ${values.estimator}, outer ${values.outer}, control variate ${values.cv}, ` +
      `seeds ${seeds.join(',')} (post-adaptation return, mean of the ${window} iterations ending at each, mean +- std over seeds)`
  )
  console.log('iteration   this project        anchor (learn2learn MAML-TRPO)')
  for (const r of rows)
    console.log(
      `${String(r.iteration).padStart(9)}   ${(r.seeds > 1 ? `${r.mean.toFixed(1)} +- ${r.std.toFixed(1)}` : `${r.mean.toFixed(1)} (1 seed)`).padEnd(18)}  ${r.anchor}`
    )
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(
    out,
    JSON.stringify(
      {
        estimator: values.estimator,
        outer: values.outer,
        controlVariate: values.cv,
        config: { ...learn2learnTrpo(cheetahControls), ...user },
        iterations,
        seeds: curves,
        summary: rows,
        anchor,
        wallSeconds: (Date.now() - started) / 1000
      },
      null,
      1
    ) + '\n'
  )
  console.log(`wrote ${out}`)
  return 0
}

process.exitCode = main()
