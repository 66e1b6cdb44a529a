/**
 * The serving end of sweeps (`tmaml worker --runs DIR`): a BullMQ worker on the queue `tmaml:runs`
 * that trains one run at a time as a child process (`tmaml train`, so this process's event loop stays
 * free to renew the job's lock), writing the run folder `DIR/<run>`, and reports the run's iteration as
 * the job's progress.
 *
 * A job's config is checked (`resolveConfig`: known fields, valid values) before anything runs; its
 * run name is a plain folder name. When `DIR/<run>` already holds a checkpoint — the worker that had
 * the run died, and BullMQ redelivered the job once its lock expired — the run is resumed from it
 * (`tmaml train --resume`), which repeats the uninterrupted run exactly. The child has an IPC channel
 * to this process and ends itself when the channel closes, so a killed worker leaves no orphan
 * training in the shared folder.
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { UnrecoverableError, Worker, type Job } from 'bullmq'
import { decodeWith, formatError, invalidInput, type TmamlError } from '../base/errors.js'
import { encodeConfig, resolveConfig } from '../pipelines/config.js'
import { connect, waitReady, type RedisTarget } from './connection.js'
import { queueNames, queuePrefix } from './keys.js'
import { RunJobData } from './sweep.js'

/**
 * What a run worker reports.
 *
 * @category model
 */
export type RunWorkerEvent =
  | {
      readonly _tag: 'RunStarted'
      readonly run: string
      readonly dir: string
      readonly resumed: boolean
      readonly iteration: number
    }
  | { readonly _tag: 'RunProgress'; readonly run: string; readonly iteration: number; readonly iterations: number }
  | { readonly _tag: 'RunDone'; readonly run: string }
  | { readonly _tag: 'RunFailed'; readonly run: string; readonly message: string }
  | { readonly _tag: 'JobRejected'; readonly job: string; readonly reason: string }
  | { readonly _tag: 'RedisError'; readonly message: string }

/**
 * Options of `startRunWorker`.
 *
 * @category model
 */
export interface RunWorkerOptions {
  readonly target: RedisTarget
  /** The shared folder of run folders (the same path on every run worker). */
  readonly runsDir: string
  /** Sampler threads of each run (`--workers` of its `tmaml train`). */
  readonly samplerThreads: number
  /** How to start `tmaml train` (the CLI knows where it is installed). */
  readonly train: { readonly command: string; readonly args: ReadonlyArray<string> }
  readonly lockDurationMs?: number
  readonly stalledIntervalMs?: number
  /** Redeliveries of a run whose worker died, before it fails. Default 5. */
  readonly maxStalledCount?: number
  readonly onEvent?: (e: RunWorkerEvent) => void
}

/**
 * A running run worker.
 *
 * @category model
 */
export interface RunWorker {
  readonly name: string
  /**
   * Stop: the run in progress is ended (its last checkpoint stays) and its job is left to be
   * redelivered to another worker once its lock expires, which resumes it. Idempotent.
   */
  readonly close: () => Promise<void>
}

const IterationLine = t.type({ iteration: t.number })

/** The iteration a run folder's checkpoint is at, or undefined when it has none. */
const checkpointIteration = (dir: string): number | undefined => {
  try {
    const ck: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8'))
    const it = (ck as { state?: { iteration?: unknown } }).state?.iteration
    return typeof it === 'number' ? it : undefined
  } catch {
    return undefined
  }
}

/**
 * Start serving sweep runs; a `Left` if Redis cannot be reached or the runs folder cannot be made.
 *
 * @category constructors
 */
export const startRunWorker = async (opts: RunWorkerOptions): Promise<E.Either<TmamlError, RunWorker>> => {
  const { target, runsDir } = opts
  const emit = (e: RunWorkerEvent): void => {
    try {
      opts.onEvent?.(e)
    } catch (err) {
      process.emitWarning(`run worker: the onEvent listener threw on ${e._tag}: ${String(err)}`)
    }
  }
  try {
    fs.mkdirSync(runsDir, { recursive: true })
  } catch (err) {
    return E.left(
      invalidInput('--runs', `cannot create ${runsDir}: ${err instanceof Error ? err.message : String(err)}`)
    )
  }
  const name = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  const jobsConnection = connect(target, 'worker', `tmaml-run-worker-${name}`)
  const ready = await waitReady(jobsConnection, target, 10_000)
  if (E.isLeft(ready)) {
    jobsConnection.disconnect()
    return ready
  }
  const children = new Set<ChildProcess>()

  const processor = async (job: Job): Promise<{ readonly iterations: number }> => {
    const id = job.id ?? '?'
    const reject = (reason: string): never => {
      emit({ _tag: 'JobRejected', job: id, reason })
      throw new UnrecoverableError(reason)
    }
    if (job.name !== 'run') reject(`not a tmaml run job (name '${String(job.name).slice(0, 40)}')`)
    const data = decodeWith(RunJobData, `data of job ${id}`)(job.data)
    if (E.isLeft(data)) return reject(formatError(data.left))
    const { run, config } = data.right
    const dir = path.join(runsDir, run)
    const cfg = resolveConfig(
      { ...config, runDir: dir, workers: opts.samplerThreads },
      undefined,
      `config of run ${run}`
    )
    if (E.isLeft(cfg)) return reject(formatError(cfg.left))
    const at = checkpointIteration(dir)
    let configFile: string | undefined
    let args: string[]
    if (at !== undefined) args = ['--resume', dir]
    else {
      configFile = path.join(tmpdir(), `tmaml-sweep-${process.pid}-${randomBytes(4).toString('hex')}.json`)
      fs.writeFileSync(configFile, JSON.stringify(encodeConfig(cfg.right)))
      args = ['--config', configFile]
    }
    emit({ _tag: 'RunStarted', run, dir, resumed: at !== undefined, iteration: at ?? 0 })
    fs.mkdirSync(dir, { recursive: true })
    const log = fs.createWriteStream(path.join(dir, 'train.log'), { flags: 'a' })
    const iterations = cfg.right.iterations
    try {
      const code = await new Promise<number | string>((resolve) => {
        const child = spawn(opts.train.command, [...opts.train.args, ...args, '--json'], {
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          env: process.env
        })
        children.add(child)
        let pending = ''
        child.stdout?.on('data', (chunk: Buffer) => {
          pending += chunk.toString('utf8')
          const lines = pending.split('\n')
          pending = lines.pop() ?? ''
          for (const line of lines) {
            let u: unknown
            try {
              u = JSON.parse(line)
            } catch {
              continue
            }
            const r = IterationLine.decode(u)
            if (r._tag === 'Left') continue
            const done = r.right.iteration + 1
            void job.updateProgress({ iteration: done, iterations }).catch(() => undefined)
            emit({ _tag: 'RunProgress', run, iteration: done, iterations })
          }
        })
        child.stderr?.pipe(log, { end: false })
        child.on('error', (err) => resolve(`cannot start tmaml train: ${err.message}`))
        child.on('exit', (c, signal) => {
          children.delete(child)
          resolve(c ?? `killed by ${signal ?? 'a signal'}`)
        })
      })
      if (code === 0) {
        emit({ _tag: 'RunDone', run })
        return { iterations }
      }
      const tail = fs.existsSync(path.join(dir, 'train.log'))
        ? fs.readFileSync(path.join(dir, 'train.log'), 'utf8').trim().split('\n').slice(-3).join(' | ')
        : ''
      const message = `tmaml train ${typeof code === 'number' ? `exited with ${code}` : code}${tail !== '' ? `: ${tail}` : ''}`
      emit({ _tag: 'RunFailed', run, message })
      // Exit code 2 is bad usage or a bad config: running it again cannot help.
      if (code === 2) throw new UnrecoverableError(message)
      throw new Error(message)
    } finally {
      log.end()
      if (configFile !== undefined) fs.rmSync(configFile, { force: true })
    }
  }

  const worker = new Worker(queueNames.runs, processor, {
    connection: jobsConnection,
    prefix: queuePrefix,
    name,
    concurrency: 1,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 15_000,
    maxStalledCount: opts.maxStalledCount ?? 5,
    drainDelay: 1
  })
  worker.on('error', (err) => emit({ _tag: 'RedisError', message: err.message }))

  let closing: Promise<void> | undefined
  return E.right({
    name,
    close: () => {
      closing ??= (async () => {
        for (const c of children) c.kill('SIGTERM')
        // Not waiting for the run: its job stays locked until the lock expires, then goes to another worker.
        await worker.close(true).catch(() => undefined)
        jobsConnection.disconnect()
      })()
      return closing
    }
  })
}
