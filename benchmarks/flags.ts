/**
 * Flag checks shared by the benchmarks' command lines: a bad value ends the benchmark with a message
 * naming the flag and exit code 2 (bad usage), as the CLI's commands do, before anything is measured.
 *
 * @example
 * const reps = positiveIntFlag('bench:cv', 'reps', values.reps) // '0' -> "bench:cv: --reps must be ..."; exit 2
 *
 * @packageDocumentation
 */

/** Print `bench: message` on stderr and exit with code 2. */
export const usageExit = (bench: string, message: string): never => {
  console.error(`${bench}: ${message}`)
  process.exit(2)
}

/** `value` of `--flag` as an integer >= 1, or exit with a usage message. */
export const positiveIntFlag = (bench: string, flag: string, value: string): number => {
  const n = Number(value)
  return Number.isInteger(n) && n >= 1 ? n : usageExit(bench, `--${flag} must be an integer >= 1, got '${value}'`)
}
