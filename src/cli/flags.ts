/**
 * Flag parsing shared by the sub-commands: node:util.parseArgs in strict mode, with `--help`, and
 * errors turned into a usage message and exit code 2 (never a stack trace).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'

type Options = NonNullable<ParseArgsConfig['options']>

/**
 * The options of a command: flags that take a value (`--out DIR`), and switches (`--json`), each a
 * list of names or one string of space-separated names. Values are read and checked with `intFlag`,
 * `numberFlag`, `choiceFlag`.
 *
 * @example
 * flagOptions('out figure seed', 'json')
 */
export const flagOptions = (
  valued: string | ReadonlyArray<string>,
  switches: string | ReadonlyArray<string> = []
): Options => {
  const names = (x: string | ReadonlyArray<string>) =>
    typeof x === 'string' ? x.split(/\s+/).filter((n) => n !== '') : x
  return Object.fromEntries([
    ...names(valued).map((name) => [name, { type: 'string' as const }]),
    ...names(switches).map((name) => [name, { type: 'boolean' as const }])
  ])
}

/** Parsed flag values by name, and positional arguments. */
export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | ReadonlyArray<string> | undefined>>
  readonly positionals: ReadonlyArray<string>
}

/**
 * Parse `argv` against `options`. Left(exit code) when the caller should stop: 0 after printing
 * `help` for --help, 2 after printing what was wrong.
 */
export const parseFlagsWithPositionals = (
  argv: ReadonlyArray<string>,
  options: Options,
  help: string
): E.Either<number, Parsed> => {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(help)
    return E.left(0)
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true })
    return E.right({ values: values as Parsed['values'], positionals })
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${help}`)
    return E.left(2)
  }
}

/** `parseFlagsWithPositionals` for commands that take no positional arguments. */
export const parseFlags = (
  argv: ReadonlyArray<string>,
  options: Options,
  help: string
): E.Either<number, Parsed['values']> => {
  const r = parseFlagsWithPositionals(argv, options, help)
  if (E.isLeft(r)) return r
  if (r.right.positionals.length > 0) {
    console.error(`unexpected argument '${r.right.positionals[0]}'\n\n${help}`)
    return E.left(2)
  }
  return E.right(r.right.values)
}

/**
 * Read an integer flag: absent -> the default; otherwise it must be an integer in [min, max].
 * The error names the flag, the value and what was expected.
 */
export const intFlag = (
  name: string,
  value: unknown,
  dflt: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER
): E.Either<string, number> => {
  if (value === undefined) return E.right(dflt)
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN
  return Number.isSafeInteger(n) && n >= min && n <= max
    ? E.right(n)
    : E.left(
        `--${name}: got '${String(value)}', expected an integer from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'any' : max}`
      )
}

/** Read a number flag in [min, max]. */
export const numberFlag = (
  name: string,
  value: unknown,
  dflt: number,
  min: number,
  max: number
): E.Either<string, number> => {
  if (value === undefined) return E.right(dflt)
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN
  return Number.isFinite(n) && n >= min && n <= max
    ? E.right(n)
    : E.left(`--${name}: got '${String(value)}', expected a number from ${min} to ${max}`)
}

/** Read a flag that must be one of `choices`. */
export const choiceFlag = <A extends string>(
  name: string,
  value: unknown,
  dflt: A,
  choices: ReadonlyArray<A>
): E.Either<string, A> =>
  value === undefined
    ? E.right(dflt)
    : choices.includes(value as A)
      ? E.right(value as A)
      : E.left(`--${name}: got '${String(value)}', expected one of ${choices.join(', ')}`)

/** A string flag's value, or `dflt` when it is absent. */
export const stringFlag = (value: unknown, dflt: string): string => (typeof value === 'string' ? value : dflt)

/** Collect the Rights of named flag reads, or the first Left (the message naming the flag). */
export const all = <A extends Readonly<Record<string, E.Either<string, unknown>>>>(
  reads: A
): E.Either<string, { readonly [K in keyof A]: A[K] extends E.Either<string, infer B> ? B : never }> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(reads)) {
    if (E.isLeft(v)) return v
    out[k] = v.right
  }
  return E.right(out as { readonly [K in keyof A]: A[K] extends E.Either<string, infer B> ? B : never })
}

/** Print `message` and the command's help on stderr; the exit code of bad usage (2). */
export const usageError = (message: string, helpText: string): number => {
  console.error(`${message}\n\n${helpText}`)
  return 2
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/**
 * Integer flags by the camelCase name of `--kebab-case` (e.g. `trainIterations` reads
 * `--train-iterations`), each `[default, min, max?]`: one `intFlag` read per entry, for `all`.
 */
export const intFlags = <K extends string>(
  values: Readonly<Record<string, unknown>>,
  spec: Readonly<Record<K, readonly [number, number, number?]>>
): Readonly<Record<K, E.Either<string, number>>> =>
  Object.fromEntries(
    (Object.entries(spec) as Array<[K, readonly [number, number, number?]]>).map(([k, [dflt, min, max]]) => [
      k,
      intFlag(kebab(k), values[kebab(k)], dflt, min, max)
    ])
  ) as Record<K, E.Either<string, number>>

/** `intFlags` for number flags, each `[default, min, max]`. */
export const numberFlags = <K extends string>(
  values: Readonly<Record<string, unknown>>,
  spec: Readonly<Record<K, readonly [number, number, number]>>
): Readonly<Record<K, E.Either<string, number>>> =>
  Object.fromEntries(
    (Object.entries(spec) as Array<[K, readonly [number, number, number]]>).map(([k, [dflt, min, max]]) => [
      k,
      numberFlag(kebab(k), values[kebab(k)], dflt, min, max)
    ])
  ) as Record<K, E.Either<string, number>>
