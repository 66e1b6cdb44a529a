/**
 * `tmaml sweep --redis URL --config base.json --seeds 1-5 [--grid key=v1,v2 ...] [--name NAME]`:
 * enqueue a sweep's training runs for `tmaml worker --runs DIR`; `tmaml sweep status --redis URL
 * [--name NAME]`: where each run stands.
 */
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../base/errors.js'
import { readJsonFile } from '../base/json.js'
import { parseRedisTarget } from '../distributed/connection.js'
import { enqueueSweep, parseGridAxis, parseSeeds, planSweep, sweepStatus, type GridAxis } from '../distributed/sweep.js'
import { parseFlagsWithPositionals } from './flags.js'

const help = `usage: tmaml sweep --redis URL --config base.json --seeds 1-5 [--grid key=v1,v2 ...] [--name NAME]
       tmaml sweep status --redis URL [--name NAME]

Enqueues one training run per seed and grid point (base config x grid x seeds) on the Redis server;
'tmaml worker --redis URL --runs DIR' processes train them, one at a time each, into DIR/<run>, and
a run whose worker died is resumed from its last checkpoint by another. Enqueueing the same sweep
again adds only the runs not on the queue yet.

options:
  --redis URL      as for 'tmaml worker' (TMAML_REDIS_PASSWORD, TMAML_REDIS_CA)
  --config FILE    the base config (a partial ExperimentConfig, as for 'tmaml train --config')
  --seeds LIST     1-5, 1,3,7 or 4
  --grid K=V,V     a config field and its values (repeatable: the runs are the product);
                   a field of a section is section.field, e.g. trpo.maxKl=0.01,0.02
  --name NAME      the sweep's name (default: the config file's name); runs are <name>-<grid>-s<seed>

Exit code: 0 done, 1 Redis failed, 2 bad usage or an invalid config (the message names the run and field).`

const flagSpec = {
  redis: { type: 'string' },
  config: { type: 'string' },
  seeds: { type: 'string' },
  grid: { type: 'string', multiple: true },
  name: { type: 'string' }
} as const

const usage = (msg: string): number => {
  console.error(`${msg}\n\n${help}`)
  return 2
}

const status = async (url: string, name: string | undefined): Promise<number> => {
  const target = parseRedisTarget(url)
  if (E.isLeft(target)) return usage(formatError(target.left))
  const runs = await sweepStatus(target.right, name)
  if (E.isLeft(runs)) {
    console.error(formatError(runs.left))
    return 1
  }
  if (runs.right.length === 0) {
    console.log(`no runs${name !== undefined ? ` of sweep ${name}` : ''} on ${target.right.shown}`)
    return 0
  }
  const rows = runs.right.map((r) => [
    r.run,
    r.state,
    r.iteration !== undefined ? `${r.iteration}/${r.iterations}` : '-',
    String(r.attempts),
    r.state === 'failed' ? (r.failedReason ?? '') : (r.worker ?? '')
  ])
  const head = ['run', 'state', 'iteration', 'starts', 'worker / reason']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  for (const r of [head, ...rows]) console.log(r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join('  '))
  return 0
}

export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = parseFlagsWithPositionals(argv, flagSpec, help)
  if (E.isLeft(parsed)) return parsed.left
  const { values: v, positionals } = parsed.right
  if (typeof v['redis'] !== 'string') return usage('--redis URL is required')
  const name = typeof v['name'] === 'string' ? v['name'] : undefined
  if (positionals.length === 1 && positionals[0] === 'status') return status(v['redis'], name)
  if (positionals.length > 0) return usage(`unexpected argument '${positionals[0]}'`)

  const target = parseRedisTarget(v['redis'])
  if (E.isLeft(target)) return usage(formatError(target.left))
  if (typeof v['config'] !== 'string') return usage('--config FILE is required')
  if (typeof v['seeds'] !== 'string') return usage('--seeds is required (e.g. --seeds 1-5)')
  const read = readJsonFile(v['config'])
  if (E.isLeft(read)) return usage(`--config ${formatError(read.left)}`)
  const base = read.right
  if (typeof base !== 'object' || base === null || Array.isArray(base))
    return usage(`--config ${v['config']}: expected a JSON object`)
  const seeds = parseSeeds(v['seeds'])
  if (E.isLeft(seeds)) return usage(formatError(seeds.left))
  const axes: GridAxis[] = []
  for (const g of Array.isArray(v['grid']) ? v['grid'] : []) {
    const axis = parseGridAxis(g)
    if (E.isLeft(axis)) return usage(formatError(axis.left))
    axes.push(axis.right)
  }
  const sweep = name ?? path.basename(v['config']).replace(/\.json$/i, '')
  const runs = planSweep(sweep, base as Record<string, unknown>, axes, seeds.right)
  if (E.isLeft(runs)) {
    console.error(formatError(runs.left))
    return 2
  }
  const added = await enqueueSweep(target.right, sweep, runs.right)
  if (E.isLeft(added)) {
    console.error(formatError(added.left))
    return 1
  }
  for (const r of runs.right) console.log(r.run)
  console.error(
    `sweep ${sweep}: ${runs.right.length} runs (${added.right} new) on ${target.right.shown}\n` +
      `train them with, on each machine: npx tmaml worker --redis ${target.right.shown} --runs /shared/runs\n` +
      `follow them with: npx tmaml sweep status --redis ${target.right.shown} --name ${sweep}`
  )
  return 0
}
