/**
 * `tmaml worker --redis URL [--concurrency N] | --runs DIR`: serve the distributed sampler's rollout
 * chunks (one worker thread with its own MuJoCo module per chunk running at once), or, with --runs,
 * whole training runs enqueued by `tmaml sweep`. Runs until SIGINT/SIGTERM, then finishes what it has
 * started (a second signal exits at once).
 */
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../base/errors.js'
import { startChunkWorker, type ChunkWorkerEvent } from '../distributed/chunkWorker.js'
import { parseRedisTarget } from '../distributed/connection.js'
import { startRunWorker, type RunWorkerEvent } from '../distributed/runWorker.js'
import { intFlag, parseFlags } from './flags.js'

const help = `usage: tmaml worker --redis URL [--concurrency N] [--verbose]
       tmaml worker --redis URL --runs DIR [--concurrency N]

Serves rollout chunks to every 'tmaml train --redis URL' on that server; with --runs, trains the
runs enqueued by 'tmaml sweep --redis URL' instead, one at a time, writing their folders under DIR.

options:
  --redis URL         redis://[user:password@]host[:port][/db], or rediss://... for TLS. The password
                      may come from TMAML_REDIS_PASSWORD instead (keeps it out of ps and history);
                      TMAML_REDIS_CA names a PEM file of the CA that signed a TLS server's certificate
  --concurrency N     chunks at once, one worker thread each (default: ${os.availableParallelism()}, this machine's cores);
                      with --runs: the sampler threads of each run
  --runs DIR          serve sweep runs; DIR must be the same shared folder on every run worker,
                      so that a run whose worker died is resumed from its checkpoint by another
  --lock-ms N         a job's lock (default 30000): a killed worker's jobs are redelivered after it
  --stalled-ms N      how often to look for jobs of dead workers (default 15000)
  --verbose           one line per chunk

Exit code: 0 stopped by a signal, 1 could not start (the message says why), 2 bad usage.`

const flagSpec = {
  redis: { type: 'string' },
  concurrency: { type: 'string' },
  runs: { type: 'string' },
  'lock-ms': { type: 'string' },
  'stalled-ms': { type: 'string' },
  verbose: { type: 'boolean' }
} as const

const describeChunkEvent = (e: ChunkWorkerEvent, verbose: boolean): string | null => {
  switch (e._tag) {
    case 'JobRejected':
      return `rejected job ${e.job}: ${e.reason}`
    case 'ChunkFailed':
      return `chunk ${e.job} failed${e.retried ? ' (to be retried)' : ''}: ${e.message}`
    case 'RedisError':
      return `redis: ${e.message}`
    case 'WorkerDied':
      return `thread ${e.worker} died (${e.reason}); replacing it`
    case 'ChunkStarted':
      return verbose ? `chunk ${e.job} started` : null
    case 'ChunkStored':
      return verbose
        ? `chunk ${e.job} ${e.stored ? 'stored' : 'already stored'} (${e.steps} steps, ${e.seconds.toFixed(2)} s)`
        : null
    default:
      return null
  }
}

const describeRunEvent = (e: RunWorkerEvent): string => {
  switch (e._tag) {
    case 'RunStarted':
      return `run ${e.run}: ${e.resumed ? `resuming from its checkpoint at iteration ${e.iteration}` : 'started'} in ${e.dir}`
    case 'RunProgress':
      return `run ${e.run}: iteration ${e.iteration}/${e.iterations}`
    case 'RunDone':
      return `run ${e.run}: done`
    case 'RunFailed':
      return `run ${e.run} failed: ${e.message}`
    case 'JobRejected':
      return `rejected job ${e.job}: ${e.reason}`
    case 'RedisError':
      return `redis: ${e.message}`
  }
}

/** `tmaml train` in a child process, from this installation (src via tsx, or dist). */
const trainCommand = (): { readonly command: string; readonly args: ReadonlyArray<string> } => {
  const here = import.meta.url
  const fromSource = here.endsWith('.ts')
  const entry = fileURLToPath(new URL(fromSource ? './child.ts' : './child.js', here))
  return { command: process.execPath, args: [...(fromSource ? ['--import', 'tsx'] : []), entry, 'train'] }
}

export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const flags = parseFlags(argv, flagSpec, help)
  if (E.isLeft(flags)) return flags.left
  const v = flags.right
  if (typeof v['redis'] !== 'string') {
    console.error(`--redis URL is required\n\n${help}`)
    return 2
  }
  const target = parseRedisTarget(v['redis'])
  const numbers = [
    intFlag('concurrency', v['concurrency'], os.availableParallelism(), 1, 256),
    intFlag('lock-ms', v['lock-ms'], 30_000, 500),
    intFlag('stalled-ms', v['stalled-ms'], 15_000, 100)
  ] as const
  const badNumber = numbers.find(E.isLeft)
  if (badNumber !== undefined || E.isLeft(target)) {
    console.error(
      `${badNumber !== undefined ? badNumber.left : E.isLeft(target) ? formatError(target.left) : ''}\n\n${help}`
    )
    return 2
  }
  const [concurrency, lockDurationMs, stalledIntervalMs] = numbers.map((n) => (E.isRight(n) ? n.right : 0))
  const log = (line: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${line}\n`)
  }

  const runsDir = typeof v['runs'] === 'string' ? path.resolve(v['runs']) : undefined
  const started =
    runsDir === undefined
      ? await startChunkWorker({
          target: target.right,
          concurrency,
          lockDurationMs,
          stalledIntervalMs,
          onEvent: (e) => {
            const line = describeChunkEvent(e, v['verbose'] === true)
            if (line !== null) log(line)
          }
        })
      : await startRunWorker({
          target: target.right,
          runsDir,
          samplerThreads: concurrency,
          lockDurationMs,
          stalledIntervalMs,
          train: trainCommand(),
          onEvent: (e) => log(describeRunEvent(e))
        })
  if (E.isLeft(started)) {
    console.error(`tmaml worker: ${formatError(started.left)}`)
    return 1
  }
  const w = started.right
  log(
    runsDir === undefined
      ? `worker ${w.name}: serving rollout chunks from ${target.right.shown} on ${concurrency} thread(s)`
      : `worker ${w.name}: serving sweep runs from ${target.right.shown} into ${runsDir} (${concurrency} sampler thread(s) per run)`
  )
  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log(`${signal} again: exiting now`)
        process.exit(signal === 'SIGINT' ? 130 : 143)
      }
      stopping = true
      log(`${signal}: finishing the work in progress, then exiting (send it again to exit now)`)
      void w.close().then(() => resolve(0))
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
