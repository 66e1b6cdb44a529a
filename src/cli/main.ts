/**
 * The `tmaml` command line: a table of sub-commands, each in its own module, loaded on demand so that
 * `tmaml envs list` does not pay for tfjs start-up and `tmaml doctor` does not load MuJoCo.
 *
 * A sub-command module exports `run(argv): Promise<number>` (the exit code). Flags are parsed with
 * `node:util.parseArgs` and validated with io-ts inside each module.
 *
 * @packageDocumentation
 */

/** A sub-command module: `run(argv)` resolves to the exit code. */
interface CommandModule {
  readonly run: (argv: ReadonlyArray<string>) => Promise<number>
}

/** Each sub-command's module, loaded on demand. */
const loaders: Readonly<Record<string, () => Promise<CommandModule>>> = {
  train: () => import('./train.js'),
  eval: () => import('./eval.js'),
  estimators: () => import('./estimators.js'),
  doctor: () => import('./doctor.js'),
  envs: () => import('./envs.js'),
  plot: () => import('./plot.js'),
  view: () => import('./view.js'),
  worker: () => import('./worker.js'),
  sweep: () => import('./sweep.js'),
  experiment: () => import('./experiment.js')
}

/** One line per sub-command for `tmaml --help`. */
const summaries: Readonly<Record<string, string>> = {
  train: 'meta-train a policy (paper Algorithm 2): any env, estimator, control variate, outer optimiser',
  eval: "adapt a run's saved meta-policy to held-out or given tasks; returns before/after each inner step",
  estimators: 'list the estimators; check which are unbiased against exact gradients of tabular MDPs',
  doctor: 'report Node, the tfjs backend in use, and self-check 2nd/3rd-order derivatives',
  envs: 'list the task distributions (their simulation speed: npm run bench:envs)',
  plot: 'plot learning curves of run folders (mean ± std over seeds) to SVG and PNG',
  view: 'a local web page: live learning curves, timings, config, and a 3D replay before/after adaptation',
  worker: 'serve rollout chunks (or sweep runs) from a Redis server to learners on any machine',
  sweep: 'enqueue a sweep (config x grid x seeds) of training runs on Redis; sweep status lists them',
  experiment: "the paper's evidence: grad-accuracy (Fig. 4), grad-variance (Fig. 2), compare (Fig. 3 / Table 1)"
}

const usage = (): string =>
  [
    'usage: tmaml <command> [options]',
    '',
    'commands:',
    ...Object.entries(summaries).map(([name, summary]) => `  ${name.padEnd(12)} ${summary}`),
    '',
    "Run 'tmaml <command> --help' for a command's options."
  ].join('\n')

/** Entry point used by bin/tmaml.js; returns the process exit code. */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage())
    return name === undefined ? 1 : 0
  }
  const load = loaders[name]
  if (load === undefined) {
    console.error(`tmaml: unknown command '${name}'\n\n${usage()}`)
    return 2
  }
  return (await load()).run(rest)
}
