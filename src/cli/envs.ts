/**
 * `tmaml envs list [--json]` and
 * `tmaml envs bench [--json] [--steps N] [--repeats R] [--env id]... [--skip-native]`:
 * the registered task distributions, and their simulation speed (one thread, 1 and 2 worker threads,
 * native MuJoCo when installed). Exit code 0 on success, 1 when the benchmark fails, 2 on bad usage.
 */
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../base/errors.js'
import { benchmarkEnvs, defaultBenchEnvs, formatBenchTable } from '../envs/bench.js'
import { envIds, envSpecs, isEnvId } from '../envs/registry.js'
import type { EnvId } from '../envs/vecEnv.js'
import { parseFlags } from './flags.js'

/** Robot names accepted by `--env`, mapped to the env the benchmark runs for them. */
const robotEnv: Readonly<Record<string, EnvId>> = {
  halfcheetah: 'halfcheetah-dir',
  ant: 'ant-dir',
  walker2d: 'walker-dir',
  walker: 'walker-dir',
  swimmer: 'swimmer-vel',
  humanoid: 'humanoid-dir'
}

const help = `usage: tmaml envs <list|bench> [options]

  tmaml envs list [--json]
      every registered environment: id, observation and action sizes, default horizon, tasks and reward

  tmaml envs bench [--json] [--steps N] [--repeats R] [--env ID]... [--skip-native]
      env steps per second with random actions for each robot: on this thread, on 1 and 2 worker
      threads (aggregate), and for the same model on native MuJoCo when Debian's libmujoco-dev is
      installed (compiled with gcc at run time), with the wasm/native ratio. Progress goes to stderr.
      --steps N     env steps per measurement (default: about 1 s worth per measurement)
      --repeats R   interleaved rounds per configuration, the best one reported (default 3)
      --env ID      benchmark this environment, repeatable (default: one env per robot); an env id
                    or a robot name: ${Object.keys(robotEnv).join(', ')}
      --skip-native do not build or run the native comparison
      --json        one JSON object per environment: {env, stepsPerSec, workers, nativeStepsPerSec, ratio, ...}`

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

const benchCommand = async (argv: ReadonlyArray<string>): Promise<number> => {
  const flags = parseFlags(
    argv,
    {
      json: { type: 'boolean' },
      steps: { type: 'string' },
      env: { type: 'string', multiple: true },
      'skip-native': { type: 'boolean' },
      repeats: { type: 'string' }
    },
    help
  )
  if (E.isLeft(flags)) return flags.left
  const { json, steps: stepsFlag, env: envFlag } = flags.right
  let steps: number | undefined
  if (typeof stepsFlag === 'string') {
    steps = /^[1-9][0-9]*$/.test(stepsFlag) ? Number(stepsFlag) : NaN
    if (!Number.isSafeInteger(steps)) {
      console.error(`tmaml envs bench: --steps must be a positive integer, got '${stepsFlag}'\n\n${help}`)
      return 2
    }
  }
  let repeats: number | undefined
  const repeatsFlag = flags.right.repeats
  if (typeof repeatsFlag === 'string') {
    repeats = /^[1-9][0-9]?$/.test(repeatsFlag) ? Number(repeatsFlag) : NaN
    if (!Number.isInteger(repeats)) {
      console.error(`tmaml envs bench: --repeats must be an integer in 1..99, got '${repeatsFlag}'\n\n${help}`)
      return 2
    }
  }
  const requested = Array.isArray(envFlag) ? envFlag : []
  const chosen: EnvId[] = []
  for (const name of requested) {
    const id = isEnvId(name) ? name : robotEnv[name]
    if (id === undefined) {
      console.error(`tmaml envs bench: unknown environment '${name}'; known: ${envIds.join(', ')}\n\n${help}`)
      return 2
    }
    if (!chosen.includes(id)) chosen.push(id)
  }
  const report = await benchmarkEnvs({
    envIds: chosen.length > 0 ? chosen : defaultBenchEnvs,
    steps,
    repeats,
    native: flags.right['skip-native'] !== true,
    progress: (line) => process.stderr.write(`envs bench: ${line}\n`)
  })
  if (E.isLeft(report)) {
    console.error(`tmaml envs bench: ${formatError(report.left)}`)
    return 1
  }
  for (const note of report.right.notes) process.stderr.write(`envs bench: note: ${note}\n`)
  if (json === true) console.log(JSON.stringify(report.right.rows, null, 2))
  else {
    console.log(formatBenchTable(report.right))
    const versions = [...new Set(report.right.rows.map((r) => r.nativeVersion).filter((v) => v !== null))]
    console.log(
      `\nwasm: mujoco-js 0.0.7 (MuJoCo 3.3.8); native: ${versions.length > 0 ? `MuJoCo ${versions.join(', ')}` : 'not measured'}; ` +
        `${report.right.rows[0]?.nEnvs ?? 0} envs per thread, random actions, episodes run to the horizon`
    )
  }
  return 0
}

/** Entry point of `tmaml envs`; returns the exit code. */
export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [sub, ...rest] = argv
  switch (sub) {
    case 'list':
      return listCommand(rest)
    case 'bench':
      return benchCommand(rest)
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
