#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the package's prepare script).
import { main } from '../dist/cli/main.js'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
    process.exitCode = 1
  }
)
