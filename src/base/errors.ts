/**
 * Expected failures, as values. Fallible functions return `Either<TmamlError, A>`; `throw` is for bugs.
 *
 * Every error names *where* it happened and *what to do*: a user reading it should not need the
 * source code.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'

/** One field that failed to decode: its dotted path, the value found, and what was expected. */
export interface FieldIssue {
  readonly path: string
  readonly value: unknown
  readonly expected: string
}

/** Input read at a boundary (config file, CLI flag, JSON) did not match its codec. */
export interface DecodeError {
  readonly _tag: 'DecodeError'
  readonly source: string
  readonly issues: ReadonlyArray<FieldIssue>
}

/** A value handed to a function is unusable (NaN action, wrong length, unknown id ...). */
export interface InvalidInput {
  readonly _tag: 'InvalidInput'
  readonly where: string
  readonly message: string
}

/** A numerical computation produced NaN/Infinity or diverged. */
export interface NumericalError {
  readonly _tag: 'NumericalError'
  readonly where: string
  readonly message: string
}

/** Something outside the process failed (file system, worker thread, native addon). */
export interface ResourceError {
  readonly _tag: 'ResourceError'
  readonly where: string
  readonly message: string
}

export type TmamlError = DecodeError | InvalidInput | NumericalError | ResourceError

/** The codec of a `TmamlError`, for errors that cross a thread boundary (structured clone). */
export const TmamlErrorC: t.Type<TmamlError, TmamlError, unknown> = t.union([
  t.type({
    _tag: t.literal('DecodeError'),
    source: t.string,
    issues: t.readonlyArray(t.type({ path: t.string, value: t.unknown, expected: t.string }))
  }),
  t.type({ _tag: t.literal('InvalidInput'), where: t.string, message: t.string }),
  t.type({ _tag: t.literal('NumericalError'), where: t.string, message: t.string }),
  t.type({ _tag: t.literal('ResourceError'), where: t.string, message: t.string })
])

/** The codec of an `Either<TmamlError, A>` as a worker message carries it. */
export const eitherC = <C extends t.Mixed>(right: C) =>
  t.union([t.type({ _tag: t.literal('Left'), left: TmamlErrorC }), t.type({ _tag: t.literal('Right'), right })])

export const invalidInput = (where: string, message: string): TmamlError => ({ _tag: 'InvalidInput', where, message })
export const numericalError = (where: string, message: string): TmamlError => ({
  _tag: 'NumericalError',
  where,
  message
})
export const resourceError = (where: string, message: string): TmamlError => ({ _tag: 'ResourceError', where, message })

const showValue = (v: unknown): string => {
  if (v === undefined) return 'undefined (missing)'
  try {
    const s = JSON.stringify(v)
    return s.length > 80 ? s.slice(0, 77) + '...' : s
  } catch {
    return String(v)
  }
}

/**
 * Turn io-ts errors into field issues. io-ts reports one error per failing branch of a union; we keep
 * the deepest path per field, since that is the one a user can act on.
 */
export const fieldIssues = (errors: t.Errors): ReadonlyArray<FieldIssue> => {
  const byPath = new Map<string, FieldIssue>()
  for (const e of errors) {
    // Entry i's key is a position inside entry i-1's codec; positions inside unions and intersections
    // are branch numbers, not fields, so they are left out of the path.
    const keys: string[] = []
    for (let i = 1; i < e.context.length; i++) {
      const parentTag = (e.context[i - 1].type as { readonly _tag?: string })._tag
      if (parentTag === 'UnionType' || parentTag === 'IntersectionType') continue
      if (e.context[i].key !== '') keys.push(e.context[i].key)
    }
    const path = keys.join('.')
    const last = e.context[e.context.length - 1]
    const expected = e.message ?? last?.type.name ?? 'a valid value'
    const prev = byPath.get(path)
    byPath.set(path, {
      path: path === '' ? '(root)' : path,
      value: e.value,
      expected: prev !== undefined && prev.expected !== expected ? `${prev.expected} | ${expected}` : expected
    })
  }
  return [...byPath.values()]
}

/** Decode `u` with `codec`; on failure a `DecodeError` naming each bad field, its value and the type expected. */
export const decodeWith =
  <A, O>(codec: t.Type<A, O, unknown>, source: string) =>
  (u: unknown): E.Either<TmamlError, A> =>
    E.mapLeft((errors: t.Errors): TmamlError => ({ _tag: 'DecodeError', source, issues: fieldIssues(errors) }))(
      codec.decode(u)
    )

/** A human-readable, multi-line rendering of an error. */
export const formatError = (e: TmamlError): string => {
  switch (e._tag) {
    case 'DecodeError':
      return [
        `invalid ${e.source}:`,
        ...e.issues.map((i) => `  - ${i.path}: got ${showValue(i.value)}, expected ${i.expected}`)
      ].join('\n')
    case 'InvalidInput':
      return `invalid input in ${e.where}: ${e.message}`
    case 'NumericalError':
      return `numerical failure in ${e.where}: ${e.message}`
    case 'ResourceError':
      return `${e.where}: ${e.message}`
  }
}
