/**
 * The entry point of the child processes of `tmaml experiment compare`: `tmaml <args>` in a fresh
 * process (its own tfjs engine, MuJoCo module and core), from src (via tsx) or dist alike.
 *
 * @packageDocumentation
 */
import { main } from '../cli/main.js'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
    process.exitCode = 1
  }
)
