/**
 * The process edges of a long-running command: stop requests (SIGINT, SIGTERM, SIGHUP, the parent
 * process going away), their exit codes, clean-up that runs on every exit path, broken pipes, and the
 * memory the machine has. Small pieces that `tmaml train` composes and that other long commands can
 * reuse.
 *
 * @example
 * const stop = watchStopRequests({ onStop: (cause) => console.error(`${cause}: stopping at the next safe point`) })
 * const scope = makeScope()
 * try {
 *   scope.defer(() => sampler.close())
 *   // ... work, checking stop.requested() at safe points
 * } finally {
 *   await scope.close()
 *   stop.dispose()
 * }
 *
 * @packageDocumentation
 */

// ---------------------------------------------------------------------------------------------
// stop requests
// ---------------------------------------------------------------------------------------------

/** What asked the process to stop: a signal, or the parent process exiting (e.g. an `npx` wrapper killed). */
export type StopCause = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'parent-exit'

const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * The exit code after a stop: 128 + the signal number, as shells report a process a signal ended
 * (SIGHUP 129, SIGINT 130, SIGTERM 143). A parent that went away counts as a hang-up.
 */
export const exitCodeOf = (cause: StopCause): number => {
  switch (cause) {
    case 'SIGHUP':
    case 'parent-exit':
      return 129
    case 'SIGINT':
      return 130
    case 'SIGTERM':
      return 143
    default: {
      const never: never = cause
      return never
    }
  }
}

/** A watch over stop requests: the first cause seen, if any. */
export interface StopWatch {
  readonly requested: () => StopCause | null
  /** Stop watching: signals get their default action again. Idempotent. */
  readonly dispose: () => void
}

/** Options of `watchStopRequests`. */
export interface StopOptions {
  /** Called once, at the first request. */
  readonly onStop: (cause: StopCause) => void
  /** How often to look whether the parent process is still there; 0 = never. Default 500 ms. */
  readonly parentPollMs?: number
}

/**
 * Watch for requests to stop: SIGINT, SIGTERM, SIGHUP, and the parent process exiting (the process
 * is then re-parented, so `process.ppid` changes). The first request is recorded and handed to
 * `onStop`; from then on the signals have their default action again, so a second signal ends the
 * process at once, even while its thread is busy.
 *
 * Why watch the parent: `npx` (and `npm exec`) run the command under a shell, and a SIGTERM to the
 * wrapper kills the wrapper and its shell but not this process, which would train on unseen.
 */
export const watchStopRequests = (opts: StopOptions): StopWatch => {
  let cause: StopCause | null = null
  let disposed = false
  const parentAtStart = process.ppid
  const onSignal = (signal: NodeJS.Signals): void => request(signal as StopCause)
  const unlisten = (): void => {
    for (const s of stopSignals) process.removeListener(s, onSignal)
  }
  const pollMs = opts.parentPollMs ?? 500
  // `request` ignores a second cause and calls after `dispose`.
  const checkParent = (): void => {
    if (pollMs > 0 && process.ppid !== parentAtStart) request('parent-exit')
  }
  const timer = pollMs > 0 ? setInterval(checkParent, pollMs) : undefined
  timer?.unref()
  const request = (c: StopCause): void => {
    if (cause !== null || disposed) return
    cause = c
    unlisten()
    if (timer !== undefined) clearInterval(timer)
    opts.onStop(c)
  }
  for (const s of stopSignals) process.on(s, onSignal)
  return {
    // The parent is looked at here too, synchronously: a safe point reached before the poll's next
    // tick (or before the IPC channel's 'disconnect' is delivered, which needs an I/O turn that a
    // setImmediate started from an I/O callback skips) must not start another iteration.
    requested: () => {
      checkParent()
      return cause
    },
    dispose: () => {
      if (disposed) return
      disposed = true
      unlisten()
      if (timer !== undefined) clearInterval(timer)
    }
  }
}

/** The safe point of an iteration stream lives with the stream (src/pipelines/train.ts). */
export { safePoint } from '../pipelines/train.js'

// ---------------------------------------------------------------------------------------------
// clean-up
// ---------------------------------------------------------------------------------------------

/** Clean-up actions run, last registered first, when the scope closes, whatever the exit path. */
export interface Scope {
  readonly defer: (f: () => void | Promise<void>) => void
  /** Run every action once, each even if an earlier one threw; the first error is rethrown after all ran. */
  readonly close: () => Promise<void>
}

export const makeScope = (): Scope => {
  const actions: Array<() => void | Promise<void>> = []
  return {
    defer: (f) => {
      actions.push(f)
    },
    close: async () => {
      let first: unknown
      let failed = false
      while (actions.length > 0) {
        const f = actions.pop()
        try {
          await f?.()
        } catch (err) {
          if (!failed) first = err
          failed = true
        }
      }
      if (failed) throw first
    }
  }
}

/**
 * Ignore write errors on stdout and stderr (EPIPE once a pipe's reader exited, e.g. `| head` or a
 * wrapper that was killed): unhandled, they would crash the process in the middle of writing its
 * checkpoint. Returns the function that removes the handlers.
 */
export const ignoreBrokenPipes = (): (() => void) => {
  const ignore = (): void => undefined
  process.stdout.on('error', ignore)
  process.stderr.on('error', ignore)
  return () => {
    process.stdout.removeListener('error', ignore)
    process.stderr.removeListener('error', ignore)
  }
}

// ---------------------------------------------------------------------------------------------
// the machine
// ---------------------------------------------------------------------------------------------

/** The memory this process may use lives with the estimate it is compared with (src/pipelines/footprint.ts). */
export { memoryLimit } from '../pipelines/footprint.js'
