/**
 * The entry point of the child processes of `tmaml experiment compare` and of sweep run workers:
 * `tmaml <args>` in a fresh process (its own tfjs engine, MuJoCo module and core), from src (via tsx) or dist alike.
 *
 * @packageDocumentation
 */
import { main } from '../cli/main.js'

// Started with an IPC channel (a sweep's run worker): end when the parent goes, however it went, so
// that a killed worker leaves no orphan writing a run folder another worker will resume. The channel
// must not keep this process alive by itself.
if (process.channel !== undefined) {
  process.channel.unref()
  // As a SIGTERM, but at once: a signal sent to oneself is seen one event-loop turn later, which can
  // be after the next iteration's safe point (a killed sweep worker's run then trained one more
  // iteration than its new worker expected). Without a listener, the signal's default action.
  process.on('disconnect', () => {
    if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM')
    else process.kill(process.pid, 'SIGTERM')
  })
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
    process.exitCode = 1
  }
)
