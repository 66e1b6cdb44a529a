/**
 * `tmaml envs list [--json]`: the registered task distributions. Exit code 0, or 2 on bad usage.
 * (Their simulation speed is a benchmark: `npm run bench:envs`, benchmarks/envs/run.ts.)
 */
import * as E from 'fp-ts/lib/Either.js'
import { envIds, envSpecs } from '../envs/registry.js'
import { parseFlags } from './flags.js'

const help = `usage: tmaml envs list [--json]

  tmaml envs list [--json]
      every registered environment: id, observation and action sizes, default horizon, tasks and reward

  (simulation speed: npm run bench:envs)`

const listCommand = (argv: ReadonlyArray<string>): number => {
  const flags = parseFlags(argv, { json: { type: 'boolean' } }, help)
  if (E.isLeft(flags)) return flags.left
  const rows = envIds.map((id) => {
    const s = envSpecs[id]
    return {
      id,
      system: s.system,
      simulator: s.simulator,
      obsDim: s.obsDim,
      actDim: s.actDim,
      horizon: s.horizon,
      actionLow: s.actionLow,
      actionHigh: s.actionHigh,
      discreteActions: s.discreteActions ?? null,
      dt: s.dt ?? null,
      description: s.description
    }
  })
  if (flags.right.json === true) {
    console.log(JSON.stringify(rows, null, 2))
    return 0
  }
  const w = Math.max(...rows.map((r) => r.id.length))
  console.log(
    `${'id'.padEnd(w)}  ${'obs'.padStart(4)}  ${'act'.padStart(3)}  ${'horizon'.padStart(7)}  tasks and reward`
  )
  for (const r of rows)
    console.log(
      `${r.id.padEnd(w)}  ${String(r.obsDim).padStart(4)}  ${String(r.actDim).padStart(3)}  ${String(r.horizon).padStart(7)}  ${r.description}`
    )
  return 0
}

/** Entry point of `tmaml envs`; returns the exit code. */
export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [sub, ...rest] = argv
  switch (sub) {
    case 'list':
      return listCommand(rest)
    case '--help':
    case '-h':
      console.log(help)
      return 0
    default:
      console.error(
        `tmaml envs: ${sub === undefined ? 'missing sub-command' : `unknown sub-command '${sub}'`}\n\n${help}`
      )
      return 2
  }
}
