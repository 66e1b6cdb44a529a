// Each `tmaml experiment` command end to end at a toy size: it writes its figure (SVG + PNG), its
// table and its data, and a re-run resumes from the saved state instead of recomputing.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { main } from '../../src/cli/main.js'

const dir = mkdtempSync(join(tmpdir(), 'tmaml-experiments-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let stderr: string[] = []

const capture = () => {
  stderr = []
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr.push(String(s))
    return true
  })
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void stderr.push(a.join(' ')))
  vi.spyOn(console, 'log').mockImplementation(() => undefined)
}

/** A duration as the progress lines print one (12s, 4m10s, 1h02m); `?` never, once work was done. */
const dur = String.raw`(?:\d+h\d{2}m|\d+\.\dh|(?:\d+m)?\d+s)`

/** A compare of one seed, 2 tasks x 2 episodes of point1d per iteration, 2 runs at a time, into `out`. */
const toyCompare = (out: string, estimators: string, iterations: number): string[] => [
  'experiment',
  'compare',
  '--env',
  'point1d',
  '--estimators',
  estimators,
  '--seeds',
  '1',
  '--iterations',
  String(iterations),
  '--tasks',
  '2',
  '--rollouts',
  '2',
  '--parallel',
  '2',
  '--out',
  out
]

const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
const expectFigure = (base: string) => {
  expect(readFileSync(base + '.svg', 'utf8')).toContain('<svg')
  expect([...readFileSync(base + '.png').subarray(0, 8)]).toEqual(pngSignature)
}

describe('tmaml experiment', () => {
  it('exits 2 naming the problem on bad usage', async () => {
    capture()
    expect(await main(['experiment', 'nope'])).toBe(2)
    expect(await main(['experiment', 'compare', '--env', 'point1d'])).toBe(2)
    expect(stderr.join('')).toContain('--estimators is required')
    expect(await main(['experiment', 'grad-accuracy', '--sizes', '10,x'])).toBe(2)
    expect(stderr.join('')).toContain('--sizes')
    expect(await main(['experiment', 'grad-variance', '--env', 'point1d', '--estimators', 'tmaml:bogus'])).toBe(2)
    expect(stderr.join('')).toContain("unknown control variate 'bogus'")
    const compareWith = (seeds: string) => [
      'experiment',
      'compare',
      '--env',
      'point1d',
      '--estimators',
      'dice',
      '--seeds',
      seeds
    ]
    expect(await main(compareWith('3-1'))).toBe(2)
    expect(stderr.join('')).toContain("'3-1': the range is empty")
    expect(await main(compareWith('0'))).toBe(2)
    expect(stderr.join('')).toContain('--seeds: 0 seeds')
    // a list names the runs: --report on a folder without them says which seed's run is missing
    expect(await main([...compareWith('2,5'), '--report', '--out', join(dir, 'seeds-list')])).toBe(1)
    expect(stderr.join('')).toMatch(/dice-s2 has not started/)
    vi.restoreAllMocks()
  })

  it('grad-accuracy writes its figures, table and data, and resumes from its saved state', async () => {
    const out = join(dir, 'accuracy')
    const args = [
      'experiment',
      'grad-accuracy',
      '--out',
      out,
      '--train-iterations',
      '2',
      '--train-tasks',
      '2',
      '--train-rollouts',
      '4',
      '--tasks',
      '2',
      '--gt-chunks',
      '3',
      '--gt-chunk',
      '40',
      '--baseline-episodes',
      '40',
      '--sizes',
      '4,16',
      '--draws',
      '3',
      '--estimators',
      'tmaml,dice,maml'
    ]
    capture()
    expect(await main(args)).toBe(0)
    vi.restoreAllMocks()
    // Progress with an ETA while it works: the training run's iterations, then ground truth and draws.
    const said = stderr.join('')
    expect(said).toMatch(new RegExp(`^it 1/2 .* ETA ${dur}$`, 'm'))
    expect(said).toMatch(new RegExp(`^grad-accuracy 1/9 .* elapsed ${dur} {2}ETA ${dur}$`, 'm'))
    expect(said).toMatch(/^grad-accuracy 9\/9 .* ETA 0s$/m)
    const base = join(out, 'grad-accuracy')
    expectFigure(base)
    expectFigure(base + '-net')
    const md = readFileSync(base + '.md', 'utf8')
    expect(md).toContain('| estimator | n=4')
    for (const e of ['tmaml', 'dice', 'maml']) expect(md).toContain(`| ${e} `)
    expect(md).toContain('Ground truth: mean of the `tmaml` meta-gradient over 3 chunks x 40 episodes per task')
    const data = JSON.parse(readFileSync(base + '.json', 'utf8')) as {
      parameters: number
      bySize: { n: number; results: { label: string; correlations: (number | null)[] }[] }[]
    }
    expect(data.parameters).toBe(398)
    expect(data.bySize.map((s) => s.n)).toEqual([4, 16])
    expect(data.bySize[0].results[0].correlations).toHaveLength(3)
    // a re-run reads every stage back: same numbers, nothing recomputed
    capture()
    expect(await main(args)).toBe(0)
    expect(stderr.join('')).toContain('is trained')
    expect(stderr.join('')).toContain('n=16 (saved)')
    vi.restoreAllMocks()
    const again = JSON.parse(readFileSync(base + '.json', 'utf8')) as typeof data
    expect(again.bySize).toEqual(data.bySize)
  })

  it('grad-variance trains in legs, keeps snapshots, measures each and writes its figures', async () => {
    const out = join(dir, 'variance')
    const config = join(dir, 'variance-base.json')
    writeFileSync(config, JSON.stringify({ gamma: 0.9 }))
    capture()
    const code = await main([
      'experiment',
      'grad-variance',
      '--config',
      config,
      '--env',
      'point2d',
      '--out',
      out,
      '--iterations',
      '2',
      '--every',
      '1',
      '--draws',
      '2',
      '--tasks',
      '2',
      '--rollouts',
      '2',
      '--workers',
      '0',
      '--estimators',
      'tmaml,dice,maml:linear'
    ])
    vi.restoreAllMocks()
    expect(code).toBe(0)
    // Progress with an ETA: each training leg's iterations, then the draws at each snapshot.
    const said = stderr.join('')
    expect(said).toMatch(new RegExp(`^it 1/1 .* ETA ${dur}$`, 'm'))
    expect(said).toMatch(new RegExp(`^it 2/2 .* ETA ${dur}$`, 'm'))
    expect(said).toMatch(
      new RegExp(`^grad-variance point2d 1/6 {2}it 0 draw 1/2 {2}elapsed ${dur} {2}ETA ${dur}$`, 'm')
    )
    expect(said).toMatch(/^grad-variance point2d 6\/6 .* ETA 0s$/m)
    for (const it of ['0000', '0001', '0002']) {
      expect(existsSync(join(out, 'snapshots', `it-${it}`, 'checkpoint.json'))).toBe(true)
      // the --config file's discount under the training run (and so under the measurement)
      expect(readFileSync(join(out, 'snapshots', `it-${it}`, 'checkpoint.json'), 'utf8')).toMatch(/"gamma": ?0\.9\b/)
      expect(existsSync(join(out, 'variance', `it-${it}.json`))).toBe(true)
    }
    const base = join(out, 'grad-variance-point2d')
    expectFigure(base)
    expectFigure(base + '-norm')
    const md = readFileSync(base + '.md', 'utf8')
    expect(md).toContain('| method      | it 0 | it 1 | it 2 |'.replace(/ +\|/g, (m) => m).slice(0, 8))
    expect(md).toContain('maml:linear')
    const data = JSON.parse(readFileSync(base + '.json', 'utf8')) as {
      snapshots: { iteration: number; cells: { label: string; variance: number; meanNorm: number }[] }[]
    }
    expect(data.snapshots.map((s) => s.iteration)).toEqual([0, 1, 2])
    for (const s of data.snapshots)
      for (const c of s.cells) {
        expect(c.variance).toBeGreaterThan(0)
        expect(c.meanNorm).toBeGreaterThan(0)
      }
  })

  it('compare runs child processes in parallel, then skips finished runs and continues extended ones', async () => {
    const out = join(dir, 'compare')
    const base = join(dir, 'compare-base.json')
    writeFileSync(base, JSON.stringify({ gamma: 0.9, trpo: { maxKl: 0.05 }, innerLr: 0.2 }))
    const args = (iterations: number) => [...toyCompare(out, 'tmaml:linear,dice', iterations), '--config', base]
    capture()
    expect(await main(args(2))).toBe(0)
    expect(stderr.join('')).toContain('0 of 2 runs done, 2 to run, 2 at a time')
    vi.restoreAllMocks()
    // Each run's progress with its ETA and the experiment's, not only start and finish lines.
    const said = stderr.join('')
    for (const run of ['tmaml-linear-s1', 'dice-s1'])
      expect(said).toMatch(
        new RegExp(
          `^\\[compare\\] ${run} it 1/2 \\(run ETA ${dur}\\); [01]/2 runs finished, [1-3]/4 iterations, elapsed ${dur}, ETA ${dur}$`,
          'm'
        )
      )
    expect(said).toMatch(/^\[compare\] finished dice-s1; [12]\/2 runs finished, [2-4]\/4 iterations/m)
    // every run's config: the file's fields under the flags'
    const runConfig = JSON.parse(readFileSync(join(out, 'dice-s1', 'config.json'), 'utf8')) as Record<string, unknown>
    expect(runConfig).toMatchObject({
      gamma: 0.9,
      trpo: { maxKl: 0.05 },
      innerLr: 0.2,
      rolloutsPerTask: 2,
      outer: 'vpg'
    })
    const figure = join(out, 'compare-point1d')
    const expectIterations = (n: number) => {
      for (const run of ['tmaml-linear-s1', 'dice-s1'])
        expect(
          readFileSync(join(out, run, 'metrics.jsonl'), 'utf8')
            .trim()
            .split('\n')
        ).toHaveLength(n)
    }
    expectFigure(figure)
    const md = readFileSync(figure + '.md', 'utf8')
    expect(md).toMatch(/\| tmaml:linear \| +[-0-9.e]+ +\| +1 \| +2 \|/)
    expect(md).toMatch(/\| dice +\| +[-0-9.e]+ +\| +1 \| +2 \|/)
    expectIterations(2)
    // the same command again: nothing to run
    capture()
    expect(await main(args(2))).toBe(0)
    expect(stderr.join('')).toContain('2 of 2 runs done, 0 to run')
    vi.restoreAllMocks()
    // --report with more iterations asked: nothing runs; the table says it is cut to the 2 there are
    capture()
    expect(await main([...args(5), '--report'])).toBe(0)
    vi.restoreAllMocks()
    const partial = readFileSync(figure + '.md', 'utf8')
    expect(partial).toContain('PARTIAL (--report): every run cut to its first 2 of 5 iterations')
    expect(partial).toContain('tmaml-linear-s1 2, dice-s1 2')
    expectIterations(2)
    // more iterations: every run resumes from its checkpoint
    capture()
    expect(await main(args(3))).toBe(0)
    expect(stderr.join('')).toContain('(resuming at iteration 2)')
    vi.restoreAllMocks()
    const lines = readFileSync(join(out, 'dice-s1', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
    expect(lines.map((l) => (JSON.parse(l) as { iteration: number }).iteration)).toEqual([0, 1, 2])
    // other settings in the same folder: refused, naming the field
    capture()
    expect(await main([...args(3), '--rollouts', '3'])).toBe(1)
    expect(stderr.join('')).toContain('holds a run with other settings (rolloutsPerTask)')
    vi.restoreAllMocks()
  })

  it('compare reports a run that failed numerically without it, and does not re-run it', async () => {
    // At inner lr 5 on this toy batch, dice's first inner step sends the policy's actions to infinity
    // (its surrogate has no baseline), maml's does not: a failure every re-run would repeat, recorded in
    // the run's failure.json.
    const out = join(dir, 'compare-failed')
    const args = [...toyCompare(out, 'dice,maml', 2), '--inner-lr', '5']
    capture()
    expect(await main(args)).toBe(0)
    vi.restoreAllMocks()
    const said = stderr.join('')
    expect(said).toMatch(
      /\[compare\] FAILED \(repeats\) dice-s1: stopped after 0 iteration\(s\): numerical failure in /
    )
    expect(said).toContain('1 run(s) left out of the report')
    expect(existsSync(join(out, 'dice-s1', 'failure.json'))).toBe(true)
    const md = readFileSync(join(out, 'compare-point1d.md'), 'utf8')
    // maml's run is not cut to dice's length, and the table says which run is left out and why.
    expect(md).not.toContain('PARTIAL')
    expect(md).toContain('Left out of the curves and the table (stopped on a failure a re-run would repeat): dice-s1')
    expect(md).toMatch(/\| maml +\| +[-0-9.e]+ +\| +1 +\| +2 +\|[^|]*\| +0 +\|/)
    expect(md).toMatch(/\| dice +\| +- +\| +0 +\| +0 +\|[^|]*\| +1 +\|/)
    // The same command again runs nothing: the failed run is skipped, saying why.
    capture()
    expect(await main(args)).toBe(0)
    vi.restoreAllMocks()
    const again = stderr.join('')
    expect(again).toContain('[compare] skip dice-s1: stopped after 0 iteration(s)')
    expect(again).toContain('0 to run')
    expect(again).not.toContain('start dice-s1')
  })

  it('compare on a stop request: each running run stops after an iteration with a checkpoint, then it exits 130', async () => {
    const out = join(dir, 'compare-stop')
    const args = (iterations: number) => toyCompare(out, 'dice,maml', iterations)
    capture()
    const running = main(args(400))
    // Ctrl-C once both runs have reported an iteration (in-process: the compare's own listener).
    const both = () =>
      ['dice-s1', 'maml-s1'].every((r) => new RegExp(`\\[compare\\] ${r} it [1-9]`).test(stderr.join('')))
    for (let i = 0; i < 600 && !both(); i++) await new Promise((r) => setTimeout(r, 100))
    expect(both()).toBe(true)
    process.emit('SIGINT', 'SIGINT')
    expect(await running).toBe(130)
    vi.restoreAllMocks()
    const said = stderr.join('')
    expect(said).toContain('[compare] SIGINT: stopping')
    expect(said).toMatch(/stopped dice-s1 at iteration \d+/)
    expect(said).toContain('Re-run the same command to continue')
    // Each run's checkpoint is its last logged iteration, well short of 400, and the same command continues it.
    const rowsOf = (run: string) =>
      readFileSync(join(out, run, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n').length
    const [dice, maml] = [rowsOf('dice-s1'), rowsOf('maml-s1')]
    expect(dice).toBeGreaterThan(0)
    expect(dice).toBeLessThan(400)
    capture()
    expect(await main([...args(dice + 1), '--estimators', 'dice'])).toBe(0)
    vi.restoreAllMocks()
    expect(stderr.join('')).toContain(`start dice-s1 (resuming at iteration ${dice})`)
    expect(rowsOf('dice-s1')).toBe(dice + 1)
    expect(maml).toBeGreaterThan(0)
  })
})
