/**
 * `npm run bench:envs` (`tsx benchmarks/envs/run.ts [--json] [--steps N] [--repeats R] [--env ID]...
 * [--skip-native]`): env steps per second of each robot on this thread, through the sampler on 1 and 2
 * worker threads, and on native MuJoCo when installed (bench.ts). Progress on stderr; exit code 0, 1
 * when the benchmark fails, 2 on bad usage. Needs the compiled sampler worker (`npx tsc -p .`).
 */
import * as E from 'fp-ts/lib/Either.js'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatError } from '../../src/base/errors.js'
import { parseFlags } from '../../src/cli/flags.js'
import { envIds, isEnvId } from '../../src/envs/registry.js'
import type { EnvId } from '../../src/envs/vecEnv.js'
import { benchmarkEnvs, defaultBenchEnvs, formatBenchTable } from './bench.js'

/** Robot names accepted by `--env`, mapped to the env the benchmark runs for them. */
const robotEnv: Readonly<Record<string, EnvId>> = {
  halfcheetah: 'halfcheetah-dir',
  ant: 'ant-dir',
  walker2d: 'walker-dir',
  walker: 'walker-dir',
  swimmer: 'swimmer-vel',
  humanoid: 'humanoid-dir'
}

const help = `usage: tsx benchmarks/envs/run.ts [--json] [--steps N] [--repeats R] [--env ID]... [--skip-native]

  env steps per second with random actions for each robot: on this thread, through the rollout sampler
  on 1 and 2 worker threads (aggregate), and for the same model on native MuJoCo when Debian's
  libmujoco-dev is installed (compiled with gcc at run time), with the wasm/native ratio.
  --steps N     env steps per measurement (default: about 1 s worth per measurement)
  --repeats R   interleaved rounds per configuration, the best one reported (default 3)
  --env ID      benchmark this environment, repeatable (default: one env per robot); an env id
                or a robot name: ${Object.keys(robotEnv).join(', ')}
  --skip-native do not build or run the native comparison
  --json        one JSON object per environment: {env, stepsPerSec, workers, nativeStepsPerSec, ratio, ...}`

export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
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
      console.error(`envs bench: --steps must be a positive integer, got '${stepsFlag}'\n\n${help}`)
      return 2
    }
  }
  let repeats: number | undefined
  const repeatsFlag = flags.right.repeats
  if (typeof repeatsFlag === 'string') {
    repeats = /^[1-9][0-9]?$/.test(repeatsFlag) ? Number(repeatsFlag) : NaN
    if (!Number.isInteger(repeats)) {
      console.error(`envs bench: --repeats must be an integer in 1..99, got '${repeatsFlag}'\n\n${help}`)
      return 2
    }
  }
  const requested = Array.isArray(envFlag) ? envFlag : []
  const chosen: EnvId[] = []
  for (const name of requested) {
    const id = isEnvId(name) ? name : robotEnv[name]
    if (id === undefined) {
      console.error(`envs bench: unknown environment '${name}'; known: ${envIds.join(', ')}\n\n${help}`)
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
    console.error(`envs bench: ${formatError(report.left)}`)
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

// Run as a script (not when a test imports `run`).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]))
  run(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(err)
      process.exitCode = 1
    }
  )
