/**
 * The io-ts codecs of numbers and numeric arrays, defined once for every boundary (configs, tasks,
 * rollout requests, worker messages). A failure says what was expected in words (`an integer >= 1`),
 * which `fieldIssues` (errors.ts) puts in front of the user.
 *
 * @example
 * PositiveInt.decode(3)    // Right(3)
 * PositiveInt.decode(0.5)  // Left: expected 'an integer >= 1'
 *
 * @packageDocumentation
 */
import * as t from 'io-ts'

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * `base` restricted to the values `ok` accepts; a failure reports `expected`.
 *
 * @category constructors
 */
export const refine = <A>(
  base: t.Type<A, A, unknown>,
  expected: string,
  ok: (a: A) => boolean,
  name: string = expected
): t.Type<A, A, unknown> =>
  new t.Type<A, A, unknown>(
    name,
    (u): u is A => base.is(u) && ok(u),
    (u, c) => (base.is(u) && ok(u) ? t.success(u) : t.failure(u, c, expected)),
    t.identity
  )

const number = (name: string, expected: string, ok: (n: number) => boolean) => refine(t.number, expected, ok, name)

const instance = <A>(name: string, ctor: new (...args: never[]) => A): t.Type<A, A, unknown> =>
  new t.Type<A, A, unknown>(
    name,
    (u): u is A => u instanceof ctor,
    (u, c) => (u instanceof ctor ? t.success(u) : t.failure(u, c, `a ${name}`)),
    t.identity
  )

// ---------------------------------------------------------------------------------------------
// numbers
// ---------------------------------------------------------------------------------------------

/** A finite number (no NaN, no Infinity). @category numbers */
export const FiniteNumber = number('FiniteNumber', 'a finite number', Number.isFinite)

/** An integer >= 1. @category numbers */
export const PositiveInt = number('PositiveInt', 'an integer >= 1', (n) => Number.isInteger(n) && n >= 1)

/** An integer >= 0. @category numbers */
export const NonNegativeInt = number('NonNegativeInt', 'an integer >= 0', (n) => Number.isInteger(n) && n >= 0)

/**
 * A safe integer (a seed, a stream index): random streams hash its two 32-bit halves, so fractions and
 * numbers beyond 2^53 would collide with other seeds (2^64 with 0). @category numbers
 */
export const SafeInteger = number('SafeInteger', 'an integer from -(2^53 - 1) to 2^53 - 1', Number.isSafeInteger)

/** A finite number > 0. @category numbers */
export const PositiveNumber = number('PositiveNumber', 'a finite number > 0', (n) => Number.isFinite(n) && n > 0)

/** A finite number >= 0. @category numbers */
export const NonNegativeNumber = number(
  'NonNegativeNumber',
  'a finite number >= 0',
  (n) => Number.isFinite(n) && n >= 0
)

/** A number in (0, 1]. @category numbers */
export const Fraction = number('Fraction', 'a number in (0, 1]', (n) => n > 0 && n <= 1)

// ---------------------------------------------------------------------------------------------
// numeric arrays (structured clone keeps their types across threads)
// ---------------------------------------------------------------------------------------------

/** @category arrays */
export const Float32ArrayC = instance<Float32Array>('Float32Array', Float32Array)
/** @category arrays */
export const Float64ArrayC = instance<Float64Array>('Float64Array', Float64Array)
/** @category arrays */
export const Uint8ArrayC = instance<Uint8Array>('Uint8Array', Uint8Array)
/** @category arrays */
export const SharedArrayBufferC = instance<SharedArrayBuffer>('SharedArrayBuffer', SharedArrayBuffer)
