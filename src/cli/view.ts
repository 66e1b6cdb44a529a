/**
 * `tmaml view <run folders...> [--port 8080] [--host 127.0.0.1]`
 *
 * A local web page over run folders: live learning curves, timings, config and provenance, and a 3D
 * replay of the meta-policy before and after adaptation. Prints the URL and serves until interrupted.
 */
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../base/errors.js'
import { startViewServer } from '../view/server.js'
import { intFlag, parseFlagsWithPositionals } from './flags.js'

const help = `usage: tmaml view <run folder>... [options]

Serves one page about the run folders: learning curves (mean ± std over seeds of one config; any
recorded stat; redrawn live as metrics.jsonl grows), seconds per stage, each run's config and
provenance, and a 3D replay of the meta-policy before adaptation and after 1..3 inner steps on a task
(recorded on request with the run's own rollout and adaptation code).

options:
  --port N       port to listen on (default 8080; 0 picks a free one)
  --host ADDR    address to listen on (default 127.0.0.1, this machine only; another address lets
                 anyone who can reach it read the run folders)

Read-only: only files inside the given run folders are served; nothing is written or run.
Exit code: 0 stopped by Ctrl-C; 1 a run folder is missing or the port is taken; 2 bad usage.`

/** Entry point of `tmaml view`; resolves when the server is stopped (SIGINT/SIGTERM). */
export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = parseFlagsWithPositionals(argv, { port: { type: 'string' }, host: { type: 'string' } }, help)
  if (E.isLeft(parsed)) return parsed.left
  const { values, positionals } = parsed.right
  if (positionals.length === 0) {
    console.error(`tmaml view: give at least one run folder\n\n${help}`)
    return 2
  }
  const port = intFlag('port', values['port'], 8080, 0, 65535)
  if (E.isLeft(port)) {
    console.error(`${port.left}\n\n${help}`)
    return 2
  }
  const host = typeof values['host'] === 'string' ? values['host'] : '127.0.0.1'
  const server = await startViewServer({ folders: positionals, host, port: port.right })
  if (E.isLeft(server)) {
    console.error(`tmaml view: ${formatError(server.left)}`)
    return 1
  }
  // Listen for the stop signal before printing the URL: whoever reads the URL may stop us at once.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  if (server.right.exposed)
    console.error(
      `warning: listening on ${host}, not loopback: anyone who can reach this machine on port ${server.right.port} can read these run folders`
    )
  console.log(`tmaml view: ${server.right.url}`)
  console.error(`serving ${positionals.length} run folder${positionals.length === 1 ? '' : 's'}; Ctrl-C stops`)
  await stopped
  await server.right.close()
  return 0
}
