// `tmaml plot` through the command table, on run folders written into a temp dir.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { main } from '../../src/cli/main.js'
import { axisLabels, markPaths, pieces, pngSignature, roleTexts } from './support.js'

const dir = mkdtempSync(join(tmpdir(), 'tmaml-plot-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const writeRun = (name: string, estimator: string, seed: number, extraLines: ReadonlyArray<[number, string]> = []) => {
  const folder = join(dir, name)
  mkdirSync(folder, { recursive: true })
  const lines = [0, 1, 2, 3, 4].map((i) =>
    JSON.stringify({
      iteration: i,
      envSteps: (i + 1) * 1000,
      returnPre: -10 + i + seed,
      returnPost: -8 + 2 * i + seed,
      seed,
      estimator,
      env: 'point2d'
    })
  )
  for (const [at, line] of extraLines) lines.splice(at, 0, line)
  writeFileSync(join(folder, 'metrics.jsonl'), lines.join('\n') + '\n')
  return folder
}

const a1 = writeRun('point2d-tmaml-s1', 'tmaml', 1)
const a2 = writeRun('point2d-tmaml-s2', 'tmaml', 2, [[2, '{"iteration": "two"}']])
const b1 = writeRun('point2d-dice-s1', 'dice', 1)

let stderr: string[] = []
beforeEach(() => {
  stderr = []
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void stderr.push(args.join(' ')))
  vi.spyOn(console, 'log').mockImplementation(() => undefined)
})
afterEach(() => vi.restoreAllMocks())

describe('tmaml plot', () => {
  it('plots two seeds as one group with a band, next to the first run by default', async () => {
    expect(await main(['plot', a1, a2, b1, '--metric', 'returnPost'])).toBe(0)
    const svg = readFileSync(join(dir, 'learning-curves.svg'), 'utf8')
    expect(markPaths(svg, 'line')).toHaveLength(2)
    expect(markPaths(svg, 'area').map(pieces)).toEqual([1, 0]) // tmaml (2 seeds) has a band; dice (1 run) none
    expect(roleTexts(svg, 'legend-label')).toEqual(['tmaml', 'dice'])
    expect([...readFileSync(join(dir, 'learning-curves.png')).subarray(0, 8)]).toEqual(pngSignature)
    expect(stderr.join('\n')).toContain('tmaml: 2 runs (seed 1, 2)')
  })

  it('reports a bad line as file:line and skips it', async () => {
    expect(await main(['plot', a2, '--out', join(dir, 'one')])).toBe(0)
    expect(stderr.join('\n')).toContain(`${join(a2, 'metrics.jsonl')}:3: iteration: got "two"`)
    expect(stderr.join('\n')).toContain('5 lines, 5 iterations')
  })

  it('plots a single run without a band, against env steps, to --out', async () => {
    const out = join(dir, 'figs', 'single')
    expect(await main(['plot', b1, '--x', 'envSteps', '--out', `${out}.svg`])).toBe(0)
    const svg = readFileSync(`${out}.svg`, 'utf8')
    expect(markPaths(svg, 'area').filter((a) => pieces(a) > 0)).toHaveLength(0)
    expect(markPaths(svg, 'line')).toHaveLength(2) // post and pre
    expect(roleTexts(svg, 'axis-title')).toContain('env steps')
    expect(axisLabels(svg, 'env steps').length).toBeGreaterThan(1)
    expect(existsSync(`${out}.png`)).toBe(true)
  })

  it('exits 1 naming a missing run folder, and one without metrics.jsonl', async () => {
    const missing = join(dir, 'no-such-run')
    const empty = join(dir, 'empty')
    mkdirSync(empty)
    expect(await main(['plot', a1, missing, empty, '--out', join(dir, 'never')])).toBe(1)
    const err = stderr.join('\n')
    expect(err).toContain(`${missing}: no such run folder`)
    expect(err).toContain(`${empty}: no metrics.jsonl in this run folder`)
    expect(existsSync(join(dir, 'never.svg'))).toBe(false)
  })

  it('exits 1 when no run has the metric', async () => {
    expect(await main(['plot', a1, '--metric', 'successRate', '--out', join(dir, 'never')])).toBe(1)
    expect(stderr.join('\n')).toContain("nothing to plot: no run has a value of 'successRate'")
  })

  it('exits 2 on bad usage, naming the flag', async () => {
    expect(await main(['plot', a1, '--x', 'time'])).toBe(2)
    expect(stderr.join('\n')).toContain("--x: got 'time', expected one of iteration, envSteps")
    expect(await main(['plot', a1, '--metric', 'a,,b'])).toBe(2)
    expect(stderr.join('\n')).toContain("--metric: got 'a,,b'")
    expect(await main(['plot', a1, '--bogus'])).toBe(2)
    expect(stderr.join('\n')).toContain('--bogus')
    expect(await main(['plot'])).toBe(2)
  })

  it('prints help and exits 0 with --help', async () => {
    expect(await main(['plot', '--help'])).toBe(0)
  })
})
