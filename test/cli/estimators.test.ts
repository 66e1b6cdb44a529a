import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

const tmaml = (args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, ['bin/tmaml.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, TMAML_BACKEND: 'wasm' },
    timeout: 300_000
  })

interface Row {
  estimator: string
  order: 'grad' | 'hvp' | 'meta'
  maxAbsZ: number
  unbiased: boolean
  variance: number
}

describe('tmaml estimators', () => {
  it('list --json names every built-in estimator with its claims', () => {
    const r = tmaml(['estimators', 'list', '--json'])
    expect(r.status).toBe(0)
    const names = (JSON.parse(r.stdout) as Array<{ name: string }>).map((e) => e.name)
    expect(names).toEqual(
      expect.arrayContaining([
        'maml',
        'dice',
        'dice-baseline',
        'lvc',
        'tmaml-eq7',
        'tmaml-reference',
        'tmaml',
        'loaded-dice(0.9)',
        'dice-fo'
      ])
    )
  })

  it('check --json reports {estimator, order, maxAbsZ, unbiased, variance} and exits 0 when verdicts match claims', () => {
    const r = tmaml([
      'estimators',
      'check',
      '--json',
      '--estimator',
      'tmaml,tmaml-eq7',
      '--samples',
      '5000',
      '--mdps',
      '1',
      '--seed',
      '3'
    ])
    expect(r.status).toBe(0)
    const rows = JSON.parse(r.stdout) as Row[]
    expect(rows).toHaveLength(6)
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(
        expect.arrayContaining(['estimator', 'order', 'maxAbsZ', 'unbiased', 'variance'])
      )
      expect(row.variance).toBeGreaterThan(0)
    }
    const eq7hvp = rows.find((x) => x.estimator === 'tmaml-eq7' && x.order === 'hvp')
    expect(eq7hvp?.unbiased).toBe(false)
    expect(rows.filter((x) => x.estimator === 'tmaml').every((x) => x.unbiased)).toBe(true)
    expect(r.stderr).toContain('[6/6]')
  })

  it('checks a user estimator module (the documented Loaded DiCE example)', () => {
    const r = tmaml([
      'estimators',
      'check',
      '--json',
      '--module',
      'examples/loadedDice09.mjs',
      '--samples',
      '20000',
      '--mdps',
      '1'
    ])
    expect(r.status).toBe(0)
    const rows = JSON.parse(r.stdout) as Row[]
    expect(rows.map((x) => `${x.estimator}/${x.order}/${x.unbiased}`)).toEqual([
      'my-loaded-dice-0.9/grad/true',
      'my-loaded-dice-0.9/hvp/false',
      'my-loaded-dice-0.9/meta/false'
    ])
  })

  it('rejects a malformed estimator module naming the field, exit 2', () => {
    const r = tmaml(['estimators', 'check', '--module', 'test/fixtures/badEstimator.mjs'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('spec.terms.0.value')
    expect(r.stderr).toContain('"q"')
  })

  it('rejects bad flag values and unknown estimators, exit 2', () => {
    const bad = tmaml(['estimators', 'check', '--samples', 'lots'])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("--samples: got 'lots', expected an integer")
    const unknown = tmaml(['estimators', 'check', '--estimator', 'reinforce++'])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toContain("unknown 'reinforce++'")
    expect(tmaml(['estimators']).status).toBe(2)
  })
})
