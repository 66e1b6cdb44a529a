// The experiment config at its boundary: every numeric field has a documented range, a value outside
// it is rejected naming the field, and no input at all (thousands of generated configs) makes the
// codec throw or reject without naming a field the user wrote.
import * as fs from 'node:fs'
import * as fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { type FieldIssue, formatError } from '../../src/base/errors.js'
import {
  type ExperimentConfig,
  type NumericRange,
  describeRange,
  encodeConfig,
  inRange,
  numericRanges,
  publishedDefaults,
  resolveConfig
} from '../../src/pipelines/config.js'
import { estimateFootprint } from '../../src/pipelines/footprint.js'

const ranges: Readonly<Record<string, NumericRange>> = numericRanges

/** Every numeric leaf of a config by its range key (array elements as `.*`). */
const numericLeaves = (cfg: unknown, prefix = ''): ReadonlyArray<readonly [string, number]> => {
  if (typeof cfg === 'number') return [[prefix, cfg]]
  if (Array.isArray(cfg)) return cfg.flatMap((x) => numericLeaves(x, `${prefix}.*`))
  if (typeof cfg === 'object' && cfg !== null)
    return Object.entries(cfg).flatMap(([k, v]) => numericLeaves(v, prefix === '' ? k : `${prefix}.${k}`))
  return []
}

/**
 * Whether a decode issue's path names something the user wrote: the whole input ('(root)', when it
 * is not an object), one of its keys (an unknown field is named as written, dots and all), or a key
 * followed by a path inside that key's value. The defaults are valid, so this is what a rejection of
 * a merged config must name.
 */
const names = (u: unknown, p: string): boolean =>
  typeof u === 'object' && u !== null && !Array.isArray(u) ? namesInside(u, p) : p === '(root)'

const namesInside = (u: unknown, p: string): boolean => {
  if (typeof u !== 'object' || u === null) return false
  if (Array.isArray(u)) {
    const [head, ...rest] = p.split('.')
    return (
      /^\d+$/.test(head) && Number(head) < u.length && (rest.length === 0 || names(u[Number(head)], rest.join('.')))
    )
  }
  return Object.keys(u).some(
    (k) => p === k || (p.startsWith(`${k}.`) && namesInside((u as Record<string, unknown>)[k], p.slice(k.length + 1)))
  )
}

const issuesOf = (u: unknown): ReadonlyArray<FieldIssue> => {
  const r = resolveConfig(u)
  if (E.isRight(r)) throw new Error(`expected a rejection of ${JSON.stringify(u)}`)
  if (r.left._tag !== 'DecodeError') throw new Error(`expected a DecodeError, got ${r.left._tag}`)
  return r.left.issues
}

describe('pipelines/config', () => {
  describe('numericRanges', () => {
    it('covers every numeric field of the config, and the defaults lie inside their ranges', () => {
      // initLogStd may be null (the env's own default): give it a number so that its range is covered too.
      const leaves = numericLeaves(
        encodeConfig({ ...publishedDefaults, initLogStd: publishedDefaults.initLogStd ?? 0 })
      )
      expect(leaves.length).toBeGreaterThan(20)
      for (const [key, value] of leaves) {
        expect(ranges[key], key).toBeDefined()
        expect(inRange(ranges[key], value), `${key} = ${value}`).toBe(true)
      }
      expect(Object.keys(ranges).sort()).toEqual([...new Set(leaves.map(([k]) => k))].sort())
    })

    it('is listed, field by field, in docs/RELIABILITY.md', () => {
      const doc = fs.readFileSync('docs/RELIABILITY.md', 'utf8')
      const escape = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      for (const [key, r] of Object.entries(ranges))
        expect(doc, key).toMatch(new RegExp(`\\|\\s*\`${escape(key)}\`\\s*\\|\\s*${escape(describeRange(r))}\\s*\\|`))
    })
  })

  describe('choice fields', () => {
    it.each([
      [{ activation: 'sigmoid' }, 'activation'],
      [{ innerNormalize: 1 }, 'innerNormalize'],
      [{ normalizeAdvantages: 'yes' }, 'normalizeAdvantages'],
      [{ outer: 'adam' }, 'outer'],
      [{ backend: 'gpu' }, 'backend'],
      [{ controlVariate: 'mean' }, 'controlVariate']
    ])('rejects %j naming %s and its values, as docs/RELIABILITY.md lists them', (user, field) => {
      const issues = issuesOf(user)
      expect(issues.map((i) => i.path)).toEqual([field])
      const doc = fs.readFileSync('docs/RELIABILITY.md', 'utf8')
      const escape = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      expect(doc).toMatch(new RegExp(`\\|\\s*\`${field}\`\\s*\\|\\s*${escape(issues[0].expected)}\\s*\\|`))
    })
  })

  describe('resolveConfig', () => {
    it.each([
      [{ tasksPerBatch: 1e9 }, 'tasksPerBatch', 'an integer from 1 to 10000'],
      [{ innerSteps: 1e308 }, 'innerSteps', 'an integer from 1 to 100'],
      [{ hidden: [8, 1e6] }, 'hidden.1', 'an integer from 1 to 4096'],
      [{ hidden: [8, 8, 8, 8, 8, 8, 8, 8, 8] }, 'hidden', 'at most 8 hidden layers (got 9)'],
      [{ ppo: { innerKlPenalty: Infinity } }, 'ppo.innerKlPenalty', 'a number in [0, 1000000]'],
      [{ seed: 2 ** 64 }, 'seed', 'an integer from 0 to 2^53 - 1'],
      [{ seed: 2 ** 53 }, 'seed', 'an integer from 0 to 2^53 - 1'],
      [{ seed: -1 }, 'seed', 'an integer from 0 to 2^53 - 1'],
      [{ innerLr: 0 }, 'innerLr', 'a number in (0, 100]'],
      [{ gamma: 1.5 }, 'gamma', 'a number in (0, 1]'],
      [{ workers: 1000 }, 'workers', 'an integer from 0 to 256'],
      [{ metaCv: { hidden: [0] } }, 'metaCv.hidden.0', 'an integer from 1 to 4096'],
      [{ trpo: { backtrack: 0 } }, 'trpo.backtrack', 'a number in (0, 1]']
    ])('rejects %j naming %s and its range', (user, path, expected) => {
      const issues = issuesOf(user)
      expect(issues.map((i) => i.path)).toEqual([path])
      expect(issues[0].expected).toBe(expected)
    })

    it('accepts the bounds themselves: the largest safe-integer seed, 10000 tasks, 8 layers', () => {
      const r = resolveConfig({
        seed: Number.MAX_SAFE_INTEGER,
        tasksPerBatch: 10_000,
        hidden: [4096, 1, 1, 1, 1, 1, 1, 1]
      })
      expect(E.isRight(r) && r.right.seed).toBe(Number.MAX_SAFE_INTEGER)
    })
  })

  describe('fuzz', () => {
    // The JSON form: the estimator and the control variate by name, as a user writes them.
    const defaults = encodeConfig(publishedDefaults)
    const keys = Object.keys(defaults) as ReadonlyArray<keyof ExperimentConfig>
    const sectionKeys: Readonly<Record<string, ReadonlyArray<string>>> = Object.fromEntries(
      Object.entries(defaults)
        .filter(([, v]) => typeof v === 'object' && v !== null && !Array.isArray(v))
        .map(([k, v]) => [k, Object.keys(v as object)])
    )
    /** Values near and beyond every range, the other JSON types, and values only library callers can pass. */
    const value: fc.Arbitrary<unknown> = fc.oneof(
      fc.integer({ min: -5, max: 20_000 }),
      fc.double({ noNaN: false }),
      fc.constantFrom(
        0,
        -0,
        1,
        0.5,
        1e-300,
        1e308,
        2 ** 53,
        2 ** 64,
        Infinity,
        -Infinity,
        NaN,
        Number.MAX_SAFE_INTEGER
      ),
      fc.string({ maxLength: 8 }),
      fc.constantFrom('tanh', 'relu', 'point2d', 'vpg', 'trpo', 'meta', 'tmaml', 'auto', '', '0x10'),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(fc.oneof(fc.integer({ min: -2, max: 5000 }), fc.double(), fc.string({ maxLength: 3 })), {
        maxLength: 10
      }),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 3 })), {
        maxKeys: 4
      })
    )
    /** A section with some of its own fields (and the odd unknown one). */
    const section = (name: string): fc.Arbitrary<unknown> =>
      fc.oneof(
        fc.record(Object.fromEntries(sectionKeys[name].map((k) => [k, value])), { requiredKeys: [] }),
        fc.dictionary(fc.constantFrom(...sectionKeys[name], 'typo', '__proto__', 'constructor'), value, { maxKeys: 3 }),
        value
      )
    const config: fc.Arbitrary<unknown> = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record(Object.fromEntries(keys.map((k) => [k, k in sectionKeys ? section(k) : value])), {
          requiredKeys: []
        })
      },
      {
        weight: 2,
        arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 6 })), value, { maxKeys: 5 })
      },
      { weight: 1, arbitrary: fc.anything() }
    )

    it('thousands of generated configs: no exception; a rejection names fields the config holds; an acceptance is in range', () => {
      let rejected = 0
      let accepted = 0
      fc.assert(
        fc.property(config, (u) => {
          const r = resolveConfig(u)
          expect(() =>
            formatError(E.isLeft(r) ? r.left : { _tag: 'InvalidInput', where: '', message: '' })
          ).not.toThrow()
          if (E.isRight(r)) {
            accepted++
            for (const [key, v] of numericLeaves(encodeConfig(r.right))) expect(inRange(ranges[key], v), key).toBe(true)
            return
          }
          rejected++
          expect(r.left._tag).toBe('DecodeError')
          if (r.left._tag !== 'DecodeError') return
          expect(r.left.issues.length).toBeGreaterThan(0)
          for (const issue of r.left.issues) {
            expect(names(u, issue.path), issue.path).toBe(true)
            expect(issue.expected.length).toBeGreaterThan(0)
          }
        }),
        { numRuns: 4000, seed: 17 }
      )
      // Both outcomes were exercised.
      expect(rejected).toBeGreaterThan(1000)
      expect(accepted).toBeGreaterThan(20)
    })
  })
})

describe('pipelines/footprint', () => {
  const cheetah = { obsDim: 17, actDim: 6, horizon: 100 }
  // As a config file says it (names for the estimator and control variate), decoded.
  const cfg = (user: Readonly<Record<string, unknown>>): ExperimentConfig => {
    const r = resolveConfig(user)
    if (E.isLeft(r)) throw new Error(formatError(r.left))
    return r.right
  }

  it('is within 1.5x above the peak resident size measured for the quickstart batch (0.91 GB)', () => {
    const f = estimateFootprint(cfg({ tasksPerBatch: 20, rolloutsPerTask: 20, evalEvery: 0 }), cheetah)
    expect(f.bytes).toBeGreaterThan(0.91e9)
    expect(f.bytes).toBeLessThan(1.5 * 0.91e9)
  })

  it('grows with the batch and the network: 10000 tasks x 10000 episodes is out of any machine', () => {
    const small = estimateFootprint(cfg({}), cheetah).bytes
    const big = estimateFootprint(cfg({ tasksPerBatch: 10_000, rolloutsPerTask: 10_000 }), cheetah).bytes
    expect(big).toBeGreaterThan(1e14)
    expect(estimateFootprint(cfg({ hidden: [4096, 4096] }), cheetah).bytes).toBeGreaterThan(10 * small)
  })

  it("TRPO: within 1.5x above the peak measured for the quickstart's batch (maml, linear CV, 0.92 GB)", () => {
    // Before the meta-KL products took the J^T F J form TRPO peaked at ~2.9x VPG's size (point2d
    // 40 x 20 x 100: 3.91 GB against 1.35 GB); now at the same size, so the estimate has no TRPO factor.
    const f = estimateFootprint(
      cfg({
        tasksPerBatch: 20,
        rolloutsPerTask: 20,
        evalEvery: 0,
        outer: 'trpo',
        estimator: 'maml',
        controlVariate: 'linear'
      }),
      cheetah
    )
    expect(f.bytes).toBeGreaterThan(0.92e9)
    expect(f.bytes).toBeLessThan(1.5 * 0.92e9)
  })
})
