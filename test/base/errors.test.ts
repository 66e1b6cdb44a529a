// The error values: their codec (what crosses a worker-thread boundary) and their messages.
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { describe, expect, it } from 'vitest'
import {
  type TmamlError,
  TmamlErrorC,
  decodeWith,
  eitherC,
  formatError,
  invalidInput,
  numericalError,
  resourceError
} from '../../src/base/errors.js'

describe('base/errors', () => {
  const decodeError = decodeWith(t.type({ lr: t.number }), 'config.json')({ lr: 'fast' })

  it('TmamlErrorC decodes every variant unchanged (structured clone keeps plain objects)', () => {
    const all: TmamlError[] = [
      invalidInput('env halfcheetah-dir', 'action[3] is NaN'),
      numericalError('meta-gradient', 'NaN'),
      resourceError('sampler', 'worker died'),
      ...(E.isLeft(decodeError) ? [decodeError.left] : [])
    ]
    expect(all).toHaveLength(4)
    for (const e of all) expect(TmamlErrorC.decode(structuredClone(e))).toEqual(E.right(e))
  })

  it('TmamlErrorC rejects an unknown tag or a missing field', () => {
    expect(E.isLeft(TmamlErrorC.decode({ _tag: 'Oops', where: 'x', message: 'y' }))).toBe(true)
    expect(E.isLeft(TmamlErrorC.decode({ _tag: 'InvalidInput', where: 'x' }))).toBe(true)
  })

  it('eitherC carries a Left error or a Right value, and nothing else', () => {
    const c = eitherC(t.number)
    expect(c.decode(E.right(3))).toEqual(E.right(E.right(3)))
    expect(c.decode(E.left(invalidInput('a', 'b')))).toEqual(E.right(E.left(invalidInput('a', 'b'))))
    expect(E.isLeft(c.decode(E.right('3')))).toBe(true)
    expect(E.isLeft(c.decode({ _tag: 'Left', left: 1 }))).toBe(true)
  })

  it('a decode error names the source, the field, the value and what was expected', () => {
    expect(E.isLeft(decodeError) && formatError(decodeError.left)).toMatch(/config\.json.*lr.*fast.*number/s)
  })
})
