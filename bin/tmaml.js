#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the package's prepare script).
import { main } from '../dist/cli/main.js'

// Once a command has returned, nothing should keep the process alive; if something does (a bug: a
// worker thread or a timer left running), say so and exit rather than hang.
const exitSoon = (code) => {
  process.exitCode = code
  setTimeout(() => {
    process.stderr.write('tmaml: exiting: something was still running after the command finished (a bug)\n')
    process.exit(code)
  }, 10_000).unref()
}

main(process.argv.slice(2)).then(exitSoon, (err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
  exitSoon(1)
})
