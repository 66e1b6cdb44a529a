/**
 * The `tmaml` command line: a table of sub-commands, each in its own module, loaded on demand so that
 * `tmaml envs list` does not pay for tfjs start-up and `tmaml doctor` does not load MuJoCo.
 *
 * A sub-command module exports `run(argv): Promise<number>` (the exit code). Flags are parsed with
 * `node:util.parseArgs` and validated with io-ts inside each module.
 *
 * @packageDocumentation
 */

/** A sub-command: a one-line summary for `tmaml --help`, and a lazy loader for its module. */
interface Command {
  readonly summary: string
  readonly load: () => Promise<{ readonly run: (argv: ReadonlyArray<string>) => Promise<number> }>
}

const commands: Readonly<Record<string, Command>> = {
  train: {
    summary: 'meta-train a policy (paper Algorithm 2): any env, estimator, control variate, outer optimiser',
    load: () => import('./train.js')
  },
  estimators: {
    summary: 'list the estimators; check which are unbiased against exact gradients of tabular MDPs',
    load: () => import('./estimators.js')
  },
  doctor: {
    summary: 'report Node, the tfjs backend in use, and self-check 2nd/3rd-order derivatives',
    load: () => import('./doctor.js')
  },
  envs: {
    summary: 'list the task distributions (envs list) and benchmark MuJoCo simulation speed (envs bench)',
    load: () => import('./envs.js')
  },
  plot: {
    summary: 'plot learning curves of run folders (mean ± std over seeds) to SVG and PNG',
    load: () => import('./plot.js')
  },
  view: {
    summary: 'a local web page: live learning curves, timings, config, and a 3D replay before/after adaptation',
    load: () => import('./view.js')
  },
  experiment: {
    summary: "the paper's evidence: grad-accuracy (Fig. 4), grad-variance (Fig. 2), compare (Fig. 3 / Table 1)",
    load: () => import('./experiment.js')
  }
}

const usage = (): string =>
  [
    'usage: tmaml <command> [options]',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`),
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
  const command = commands[name]
  if (command === undefined) {
    console.error(`tmaml: unknown command '${name}'\n\n${usage()}`)
    return 2
  }
  const mod = await command.load()
  return mod.run(rest)
}
