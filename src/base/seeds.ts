/**
 * Seed lists as people type them on a command line: `1-5`, `1,3,7`, `4`, or mixes (`1-3,7`).
 *
 * @example
 * parseSeeds('1-3,7') // Right([1, 2, 3, 7])
 * parseSeeds('3-1')   // Left(InvalidInput: the range is empty)
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { invalidInput, type TmamlError } from './errors.js'

/** `1-5`, `1,3,7` or `4` (and mixes: `1-3,7`): non-negative integers, each once, in the order given. */
export const parseSeeds = (s: string, flag = '--seeds'): E.Either<TmamlError, ReadonlyArray<number>> => {
  const out: number[] = []
  for (const part of s.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part)
    if (m === null) return E.left(invalidInput(flag, `'${s}': expected e.g. 1-5, 1,3,7 or 4`))
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])]
    if (b < a || b - a > 10_000) return E.left(invalidInput(flag, `'${part}': the range is empty or too long`))
    for (let x = a; x <= b; x++) if (!out.includes(x)) out.push(x)
  }
  return E.right(out)
}
