/**
 * `tmaml experiment <grad-accuracy | grad-variance | compare> [options]`: the paper's evidence as
 * commands, each writing a figure (SVG + PNG), a Markdown table and the numbers behind them (JSON).
 * Every experiment is resumable: re-running the same command continues where it stopped.
 *
 * @packageDocumentation
 */
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, formatError } from '../base/errors.js'
import { parseSeeds } from '../base/seeds.js'
import { readJsonFile } from '../base/json.js'
import { builtinEstimators } from '../estimators/builtins.js'
import { estimatorBySpec, isModuleSpec, loadEstimatorModule } from '../estimators/module.js'
import type { Estimator } from '../estimators/estimator.js'
import { resolveBackendChoice, startBackend } from '../graph/backend.js'
import { runCompare } from '../experiments/compare.js'
import { runGradAccuracy } from '../experiments/gradAccuracy.js'
import { runGradVariance } from '../experiments/gradVariance.js'
import type { ChildCommand, TrainRunner } from '../experiments/trainRunner.js'
import { parseMethods } from '../experiments/metaGradients.js'
import { formatDuration } from '../experiments/progress.js'
import type { ReportPaths } from '../experiments/report.js'
import { type ExperimentConfig, OuterAlgorithm, publishedDefaults, resolveConfig } from '../pipelines/config.js'
import { linearControlVariate } from '../pipelines/controlVariates/linearFeature.js'
import { metaControlVariate } from '../pipelines/controlVariates/metaValue.js'
import { envIds } from '../envs/registry.js'
import { all, flagOptions, intFlag, intFlags, numberFlags, parseFlags, stringFlag, usageError } from './flags.js'
import { backendChoices, backendDefault, controlVariateChoices } from './helpText.js'
import { exitCodeOf, watchStopRequests } from './process.js'
import { run as trainInProcess } from './train.js'

/** `tmaml <args>` in a fresh process, from this installation: src via tsx, or dist (`child.ts`). */
const childCommand = (args: ReadonlyArray<string>): ChildCommand => {
  const here = import.meta.url
  const fromSource = here.endsWith('.ts')
  const entry = fileURLToPath(new URL(fromSource ? './child.ts' : './child.js', here))
  return { command: process.execPath, args: [...(fromSource ? ['--import', 'tsx'] : []), entry, ...args] }
}

const runner: TrainRunner = { inProcess: trainInProcess, childCommand }

const help = `usage: tmaml experiment <name> [options]

experiments (paper: Liu, Socher, Xiong, "Taming MAML", ICML 2019):
  grad-accuracy   Fig. 4: correlation of each estimator's meta-gradient with a ground truth, point1d
  grad-variance   Fig. 2: variance of resampled meta-gradients at checkpoints along training
  compare         Fig. 3 / Table 1: learning curves and final returns of methods at an equal budget

Run 'tmaml experiment <name> --help' for its options. Exit code: 0 done, 1 failed, 2 bad usage.`

const startBackendFlag = async (flag: unknown): Promise<number> => {
  const b = await startBackend(typeof flag === 'string' ? flag : undefined, process.env)
  if (E.isLeft(b)) {
    console.error(formatError(b.left))
    return 1
  }
  process.stderr.write(`backend ${b.right.active}${b.right.notes.length > 0 ? ` (${b.right.notes.join(', ')})` : ''}\n`)
  return 0
}

type FlagValues = Readonly<Record<string, unknown>>

/** A sub-command: its flags parsed against `names` (--help and bad flags end it: exit 0 / 2), then `body`. */
const subcommand =
  (names: string, helpText: string, body: (v: FlagValues) => Promise<number>, switches = '') =>
  async (argv: ReadonlyArray<string>): Promise<number> => {
    const flags = parseFlags(argv, flagOptions(names, switches), helpText)
    if (E.isLeft(flags)) return flags.left
    const loaded = await loadEstimatorFlags(flags.right)
    return E.isLeft(loaded) ? usageError(loaded.left, helpText) : body(loaded.right)
  }

/**
 * Estimator modules named in `--estimators a,./mine.mjs:value` or `--train-estimator ./mine.mjs`:
 * loaded and validated (as `estimators check --module` does), each entry replaced by the module key
 * the estimator lookups know.
 */
const loadEstimatorFlags = async (v: FlagValues): Promise<E.Either<string, FlagValues>> => {
  const out: Record<string, unknown> = { ...v }
  for (const flag of ['estimators', 'train-estimator']) {
    const raw = v[flag]
    if (typeof raw !== 'string') continue
    const entries: string[] = []
    for (const entry of raw.split(',').map((s) => s.trim())) {
      const m = /^(.+?)(?::([a-z-]+))?$/.exec(entry)
      const name = m?.[1] ?? entry
      if (!isModuleSpec(name)) {
        entries.push(entry)
        continue
      }
      const e = await loadEstimatorModule(name)
      if (E.isLeft(e)) return E.left(`--${flag}: ${formatError(e.left)}`)
      entries.push(m?.[2] === undefined ? e.right.module : `${e.right.module}:${m[2]}`)
    }
    out[flag] = entries.join(',')
  }
  return E.right(out)
}

/** `subcommand` for an experiment on an environment: `--env` is required, and checked first. */
const onEnv = (
  names: string,
  helpText: string,
  body: (v: FlagValues, env: string) => Promise<number>,
  switches = ''
): ((argv: ReadonlyArray<string>) => Promise<number>) =>
  subcommand(
    names,
    helpText,
    async (v) => {
      const env = envFlag(v['env'])
      return E.isLeft(env) ? usageError(env.left, helpText) : body(v, env.right)
    },
    switches
  )

/** What an experiment finished with: the files it wrote and its duration, or why it failed (exit 1). */
const reported = (
  name: string,
  r: E.Either<TmamlError, { readonly paths: ReadonlyArray<string>; readonly seconds: number }>
): number => {
  if (E.isLeft(r)) {
    console.error(`tmaml experiment ${name}: ${formatError(r.left)}`)
    return 1
  }
  process.stderr.write(`wrote ${r.right.paths.join(', ')} (${formatDuration(r.right.seconds)})\n`)
  return 0
}

/** A comma-separated list of integers >= min. */
const intListFlag = (
  name: string,
  value: unknown,
  dflt: ReadonlyArray<number>,
  min: number
): E.Either<string, ReadonlyArray<number>> => {
  if (value === undefined) return E.right(dflt)
  const parts = String(value).split(',')
  const out: number[] = []
  for (const p of parts) {
    const n = intFlag(name, p, 0, min)
    if (E.isLeft(n)) return E.left(`--${name}: got '${String(value)}', expected integers >= ${min} separated by commas`)
    out.push(n.right)
  }
  return E.right(out)
}

const estimatorList = (value: unknown): E.Either<string, ReadonlyArray<Estimator>> => {
  if (value === undefined) return E.right(builtinEstimators)
  const out: Estimator[] = []
  for (const name of String(value)
    .split(',')
    .map((s) => s.trim())) {
    const e = estimatorBySpec(name)
    if (e === undefined) return E.left(`--estimators: unknown estimator '${name}' (see 'tmaml estimators list')`)
    out.push(e)
  }
  return out.length > 0 ? E.right(out) : E.left('--estimators: no estimators given')
}

const envFlag = (value: unknown): E.Either<string, string> =>
  typeof value !== 'string'
    ? E.left('--env is required')
    : (envIds as ReadonlyArray<string>).includes(value)
      ? E.right(value)
      : E.left(`--env: got '${value}', expected one of ${envIds.join(', ')}`)

// ---------------------------------------------------------------------------------------------
// grad-accuracy
// ---------------------------------------------------------------------------------------------

const helpAccuracy = `usage: tmaml experiment grad-accuracy [options]

Trains a point1d Gaussian MLP policy briefly (tmaml train, resumable), computes a ground-truth
meta-gradient from many episodes, then for each sample size the Pearson correlation of every
estimator's meta-gradient with it over repeated draws. Writes <figure>.{svg,png,md,json}.

  --out DIR              working folder (default runs/experiments/grad-accuracy)
  --figure PATH          figure/table base path (default <out>/grad-accuracy)
  --estimators A,B,...   default: every built-in estimator; each a name (tmaml estimators list)
                         or an estimator module's path (./mine.mjs, ./many.mjs#name)
  --sizes N,N,...        episodes per task of one estimate (default 10,20,50,100,200,500,1000)
  --draws R              draws per size (default 30)
  --tasks K              goals of the meta-gradient (default 4)
  --hidden H,H           policy hidden layers (default 18,18: 398 parameters)
  --inner-lr X           inner step size (default 0.1, the published value)
  --train-iterations N   partial training (default 30)   --train-tasks N (20)  --train-rollouts N (20)
  --train-lr X           Adam step of the partial training (default 0.01)
  --gt-chunks M          ground truth: M chunks (default 50) ...
  --gt-chunk N           ... of N episodes per task (default 2000)
  --baseline-episodes N  episodes per task the fixed linear baseline is fitted on (default 1000)
  --seed N  --workers N (sampler threads, default 0)
  --backend B            ${backendChoices}
                         (${backendDefault})`

const gradAccuracy = subcommand(
  'out figure estimators sizes draws tasks hidden inner-lr train-iterations train-tasks train-rollouts train-lr gt-chunks gt-chunk baseline-episodes seed workers backend',
  helpAccuracy,
  async (v) => {
    const out = stringFlag(v['out'], 'runs/experiments/grad-accuracy')
    const read = all({
      estimators: estimatorList(v['estimators']),
      sizes: intListFlag('sizes', v['sizes'], [10, 20, 50, 100, 200, 500, 1000], 2),
      hidden: intListFlag('hidden', v['hidden'], [18, 18], 1),
      ...intFlags(v, { draws: [30, 2], tasks: [4, 1], trainIterations: [30, 1], trainTasks: [20, 1] }),
      ...intFlags(v, { trainRollouts: [20, 2], gtChunks: [50, 2], gtChunk: [2000, 2], baselineEpisodes: [1000, 2] }),
      ...intFlags(v, { seed: [1, 0], workers: [0, 0, 64] }),
      ...numberFlags(v, { innerLr: [0.1, 1e-9, 1e3], trainLr: [0.01, 1e-9, 10] })
    })
    if (E.isLeft(read)) return usageError(read.left, helpAccuracy)
    const o = read.right
    if ((await startBackendFlag(v['backend'])) !== 0) return 1
    const r = await runGradAccuracy({
      runner,
      out,
      figure: stringFlag(v['figure'], `${out}/grad-accuracy`),
      seed: o.seed,
      estimators: o.estimators,
      sizes: o.sizes,
      draws: o.draws,
      tasks: o.tasks,
      hidden: o.hidden,
      innerLr: o.innerLr,
      train: { iterations: o.trainIterations, tasks: o.trainTasks, rollouts: o.trainRollouts, outerLr: o.trainLr },
      gtChunks: o.gtChunks,
      gtChunkEpisodes: o.gtChunk,
      baselineEpisodes: o.baselineEpisodes,
      workers: o.workers
    })
    return reported(
      'grad-accuracy',
      E.map((a: { readonly paths: ReportPaths; readonly seconds: number }) => ({
        paths: [a.paths.png, a.paths.svg, a.paths.table, a.paths.json],
        seconds: a.seconds
      }))(r)
    )
  }
)

// ---------------------------------------------------------------------------------------------
// grad-variance
// ---------------------------------------------------------------------------------------------

const helpVariance = `usage: tmaml experiment grad-variance --env halfcheetah-dir|ant-dir [options]

Trains one run (tmaml train, resumable) and keeps a snapshot of its state every --every iterations;
at each snapshot resamples the meta-gradient --draws times per method (same tasks, fresh episodes)
and reports the average per-coordinate variance and the norm of the mean. Writes
<figure>.{svg,png,md,json} and <figure>-norm.{svg,png}.

  --env ID               (required)
  --out DIR              working folder (default runs/experiments/grad-variance-<env>)
  --figure PATH          figure/table base path (default <out>/grad-variance-<env>)
  --estimators A[:cv],.. methods (default maml,lvc,dice,tmaml-eq7,tmaml-reference,tmaml,tmaml:value,
                         tmaml:action-dependent);
                         A: a name (tmaml estimators list) or an estimator module's path
                         (./mine.mjs, ./many.mjs#name);
                         cv: ${controlVariateChoices}
                         (default: the training run's, meta)
  --iterations N         training iterations (default 100)   --every N (snapshot interval, default 20)
  --draws K              meta-gradients per method and snapshot (default 10)
  --tasks N  --rollouts N   batch of training and of each draw (default 10 x 10)
  --train-estimator NAME estimator of the training run, a name or a module path (default tmaml)
  --seed N  --workers N (default 2)
  --config FILE          a config (as tmaml train --config takes) under the training run: the flags
                         above set the budget, the file everything else (gamma, trpo, ...); its gamma
                         is also the measured meta-gradients'
  --backend B            ${backendChoices}
                         (${backendDefault})`

const gradVariance = onEnv(
  'env out figure estimators iterations every draws tasks rollouts train-estimator seed workers backend config',
  helpVariance,
  async (v, env) => {
    const base = configBase(v['config'])
    if (E.isLeft(base)) return usageError(base.left, helpVariance)
    const out = stringFlag(v['out'], `runs/experiments/grad-variance-${env}`)
    const trainEstimator = stringFlag(v['train-estimator'], 'tmaml')
    if (estimatorBySpec(trainEstimator) === undefined)
      return usageError(`--train-estimator: unknown estimator '${trainEstimator}'`, helpVariance)
    const read = all({
      methods: E.mapLeft((m: string) => `--estimators: ${m}`)(
        parseMethods(
          stringFlag(
            v['estimators'],
            'maml,lvc,dice,tmaml-eq7,tmaml-reference,tmaml,tmaml:value,tmaml:action-dependent'
          ),
          () => metaControlVariate
        )
      ),
      ...intFlags(v, { iterations: [100, 1], every: [20, 1], draws: [10, 2], tasks: [10, 1], rollouts: [10, 2] }),
      ...intFlags(v, { seed: [1, 0], workers: [2, 0, 64] })
    })
    if (E.isLeft(read)) return usageError(read.left, helpVariance)
    if ((await startBackendFlag(v['backend'])) !== 0) return 1
    const r = await runGradVariance({
      ...read.right,
      runner,
      env: env,
      out,
      figure: stringFlag(v['figure'], `${out}/grad-variance-${env}`),
      trainEstimator,
      base: base.right
    })
    return reported('grad-variance', r)
  }
)

// ---------------------------------------------------------------------------------------------
// compare
// ---------------------------------------------------------------------------------------------

const helpCompare = `usage: tmaml experiment compare --env ID --estimators A[:cv],B,... [options]

One tmaml train run folder per (method, seed), all with the same budget (tasks x rollouts x horizon
x iterations), run as child processes, --parallel at a time; re-running continues unfinished runs and
skips finished ones. Learning curves (mean ± std over seeds) and a final table in the form of the
paper's Table 1. Writes <figure>.{svg,png,md,json}.

  --env ID               (required)          --estimators A[:cv],...  (required)
                         A: a name (tmaml estimators list) or an estimator module's path
                         (./mine.mjs, ./many.mjs#name);
                         cv: ${controlVariateChoices}
                         (default: meta for tmaml*, linear otherwise)
  --seeds N|LIST         seeds 1..N (default 3), or those listed (2,3 or 2-3: e.g. to run some seeds
                         elsewhere)   --iterations M (default 100)
  --parallel P           runs at a time (default 2; fewer when that many runs' estimated memory
                         exceeds the machine's or TMAML_MEMORY_LIMIT_MB, said on stderr)
  --tasks N --rollouts N --horizon N (0 = env default)
  --outer vpg|trpo|ppo   --outer-lr X   --inner-lr X   (defaults: the config's; without one vpg, 1e-3, 0.1)
  --workers N            sampler threads per run (default 0)
  --config FILE          a config (as tmaml train --config takes) under every run: the flags above set
                         the budget, methods and step sizes, the file everything else (gamma, trpo, ...)
  --final N              iterations averaged for the final return (default: the last 10%)
  --smooth W             moving average of the curves over W iterations (default 1)
  --out DIR              run folders (default runs/experiments/compare-<env>)
  --figure PATH          figure/table base path (default <out>/compare-<env>)
  --report               run nothing: draw the figure and table from the run folders as they are,
                         every run cut to the iterations the least advanced one has (said in the table)
  A run that stops on a numerical failure (which a re-run would repeat: its failure.json) is left out
  of the curves and the table, which name it, and is not re-run.
  --backend B            ${backendChoices}
                         (${backendDefault});
                         the runs inherit it

Ctrl-C (SIGINT, SIGTERM, SIGHUP): each running run stops after its current iteration with a checkpoint,
then the compare exits (130 / 143 / 129); the same command continues. A second signal ends it at once.`

/** `--seeds`: a bare N is seeds 1..N (at most 100); a list or range (`2,3`, `2-3`) those seeds. */
const compareSeeds = (value: unknown): E.Either<string, ReadonlyArray<number>> => {
  if (value === undefined) return E.right([1, 2, 3])
  const s = String(value).trim()
  if (/^\d+$/.test(s)) {
    const n = Number(s)
    return n >= 1 && n <= 100
      ? E.right(Array.from({ length: n }, (_, i) => i + 1))
      : E.left(`--seeds: ${s} seeds; expected 1 to 100 (or a list: 2,3 or 2-3)`)
  }
  return E.mapLeft(formatError)(parseSeeds(s))
}

/** `--config FILE` resolved over the published hyperparameters (they alone without it). */
const configBase = (file: unknown): E.Either<string, ExperimentConfig> => {
  if (file === undefined) return E.right(publishedDefaults)
  const name = String(file)
  const j = readJsonFile(name)
  const resolved = E.chain((u: unknown) => resolveConfig(u, publishedDefaults, `--config ${name}`))(j)
  return E.mapLeft(formatError)(resolved)
}

const compare = onEnv(
  'env estimators seeds iterations parallel tasks rollouts horizon outer outer-lr inner-lr workers final smooth out figure backend config',
  helpCompare,
  async (v, env) => {
    if (typeof v['estimators'] !== 'string') return usageError('--estimators is required', helpCompare)
    const backend = v['backend'] === undefined ? E.right('auto') : resolveBackendChoice(String(v['backend']), {})
    if (E.isLeft(backend)) return usageError(`--backend: ${formatError(backend.left)}`, helpCompare)
    const base = configBase(v['config'])
    if (E.isLeft(base)) return usageError(base.left, helpCompare)
    const outer = v['outer'] === undefined ? E.right(base.right.outer) : OuterAlgorithm.decode(v['outer'])
    if (E.isLeft(outer))
      return usageError(`--outer: got '${String(v['outer'])}', expected vpg, trpo or ppo`, helpCompare)
    const read = all({
      methods: E.mapLeft((m: string) => `--estimators: ${m}`)(
        parseMethods(v['estimators'], (name) => (name.startsWith('tmaml') ? metaControlVariate : linearControlVariate))
      ),
      seeds: compareSeeds(v['seeds']),
      ...intFlags(v, { iterations: [100, 1], parallel: [2, 1, 64], tasks: [10, 1] }),
      ...intFlags(v, { rollouts: [10, 2], horizon: [0, 0], workers: [0, 0, 64], final: [0, 0], smooth: [1, 1] }),
      ...numberFlags(v, { outerLr: [base.right.outerLr, 1e-9, 10], innerLr: [base.right.innerLr, 1e-9, 1e3] })
    })
    if (E.isLeft(read)) return usageError(read.left, helpCompare)
    const o = read.right
    const out = stringFlag(v['out'], `runs/experiments/compare-${env}`)
    // A stop request (Ctrl-C, SIGTERM, SIGHUP, the parent gone): every running run stops after its
    // current iteration with a checkpoint before the compare exits, so re-running it at once continues
    // them instead of finding their folders still in use. A second signal ends the compare at once.
    const stop = new AbortController()
    const watch = watchStopRequests({
      onStop: (cause) => {
        process.stderr.write(
          `[compare] ${cause}: stopping — each running run stops after its current iteration, with a checkpoint\n`
        )
        stop.abort()
      }
    })
    const r = await runCompare({
      ...o,
      runner,
      env: env,
      outer: outer.right,
      final: o.final > 0 ? o.final : Math.max(1, Math.round(o.iterations / 10)),
      out,
      figure: stringFlag(v['figure'], `${out}/compare-${env}`),
      backend: backend.right,
      base: base.right,
      reportOnly: v['report'] === true,
      stop: stop.signal
    })
    watch.dispose()
    const cause = watch.requested()
    if (cause !== null && E.isLeft(r)) {
      console.error(`tmaml experiment compare: ${formatError(r.left)}`)
      return exitCodeOf(cause)
    }
    if (E.isRight(r) && r.right.failed.length > 0)
      process.stderr.write(
        `[compare] ${r.right.failed.length} run(s) left out of the report: each stopped on a failure that ` +
          `re-running would repeat exactly (${r.right.failed.map((f) => f.run).join(', ')}; see failure.json in ` +
          'each folder); re-running this command skips them, other settings need another --out.\n'
      )
    return reported('compare', r)
  },
  'report'
)

// ---------------------------------------------------------------------------------------------
// dispatch
// ---------------------------------------------------------------------------------------------

const experiments: Readonly<Record<string, (argv: ReadonlyArray<string>) => Promise<number>>> = {
  'grad-accuracy': gradAccuracy,
  'grad-variance': gradVariance,
  compare
}

export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(help)
    return name === undefined ? 2 : 0
  }
  const f = experiments[name]
  if (f === undefined) {
    console.error(`tmaml experiment: unknown experiment '${name}'\n\n${help}`)
    return 2
  }
  return f(rest)
}
