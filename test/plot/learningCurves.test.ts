import { describe, expect, it } from 'vitest'
import * as _ from '../../src/plot/learningCurves.js'
import { type Run, parseMetrics } from '../../src/plot/readRun.js'

const request = { x: 'iteration', metrics: ['returnPost', 'returnPre'] }

const run = (folder: string, fields: Run['fields'], ys: ReadonlyArray<number>): Run => ({
  folder,
  fields,
  rows: ys.map((y, iteration) => ({ iteration, values: { iteration, returnPost: y, returnPre: y - 1 } }))
})

describe('plot/readRun', () => {
  describe('parseMetrics', () => {
    const text = [
      '{"iteration":0,"envSteps":100,"returnPre":-5,"returnPost":-4,"seed":1,"estimator":"tmaml","env":"point2d","time":"a"}',
      '',
      '{"iteration":1,"envSteps":200,"returnPre":null,"returnPost":-3,"seed":1,"estimator":"tmaml","env":"point2d","time":"b"}',
      'not json',
      '{"iteration":-1,"returnPost":"high"}',
      '{"iteration":1,"envSteps":210,"returnPre":-4,"returnPost":-2,"seed":1,"estimator":"tmaml","env":"point2d","time":"c"}'
    ].join('\n')

    it('reports bad lines as file:line with the reason and skips them', () => {
      const r = parseMetrics(text, 'run/metrics.jsonl', 'run', request)
      expect(r.issues.map((i) => [i.file, i.line])).toEqual([
        ['run/metrics.jsonl', 4],
        ['run/metrics.jsonl', 5]
      ])
      expect(r.issues[0].message).toMatch(/^not JSON/)
      expect(r.issues[1].message).toContain('iteration: got -1, expected a non-negative integer')
      expect(r.issues[1].message).toContain('returnPost: got "high"')
      expect(r.validLines).toBe(3)
    })

    it('keeps the last line of a repeated iteration, null as NaN, and the fields constant over the run', () => {
      const r = parseMetrics(text, 'f', 'run', request)
      expect(r.run.rows).toEqual([
        { iteration: 0, values: { iteration: 0, returnPost: -4, returnPre: -5 } },
        { iteration: 1, values: { iteration: 1, returnPost: -2, returnPre: -4 } }
      ])
      expect(r.run.fields).toEqual({ seed: 1, estimator: 'tmaml', env: 'point2d' })
      const nulls = parseMetrics(text.split('\n').slice(0, 3).join('\n'), 'f', 'run', request)
      expect(nulls.run.rows[1].values['returnPre']).toBeNaN()
    })

    it('requires the x field on every line when x is not iteration', () => {
      const r = parseMetrics('{"iteration":0,"returnPost":1}', 'f', 'run', { x: 'envSteps', metrics: ['returnPost'] })
      expect(r.issues[0].message).toContain('envSteps')
      expect(r.run.rows).toEqual([])
    })
  })
})

describe('plot/learningCurves', () => {
  describe('groupRuns', () => {
    const runs = [
      run('runs/hc-tmaml-s1', { env: 'hc', estimator: 'tmaml', seed: 1 }, [1]),
      run('runs/hc-dice-s1', { env: 'hc', estimator: 'dice', seed: 1 }, [1]),
      run('runs/hc-tmaml-s2', { env: 'hc', estimator: 'tmaml', seed: 2 }, [1])
    ]

    it('puts runs that differ only in seed in one group named by what varies', () => {
      const gs = _.groupRuns(runs)
      expect(gs.map((g) => [g.name, g.runs.map((r) => r.folder)])).toEqual([
        ['tmaml', ['runs/hc-tmaml-s1', 'runs/hc-tmaml-s2']],
        ['dice', ['runs/hc-dice-s1']]
      ])
    })

    it('groups by folder name without its seed part when runs carry no setting', () => {
      const bare = [run('r/a-s1-2025', {}, [1]), run('r/a-s2-2025', {}, [1]), run('r/b', {}, [1])]
      expect(_.groupRuns(bare).map((g) => [g.name, g.runs.length])).toEqual([
        ['a', 2],
        ['b', 1]
      ])
      expect(_.folderStem('runs/halfcheetah-dir-tmaml-s3-20250101T1200/')).toBe('halfcheetah-dir-tmaml')
    })

    it("groups by the given fields, or each run alone with 'run'", () => {
      expect(_.groupRuns(runs, ['env']).map((g) => g.runs.length)).toEqual([3])
      expect(_.groupRuns(runs, 'run').map((g) => g.name)).toEqual(runs.map((r) => r.folder))
    })

    it('warns about two runs of a group with the same seed', () => {
      const dup = [runs[0], { ...runs[2], fields: { ...runs[2].fields, seed: 1 } }]
      expect(_.groupWarnings(_.groupRuns(dup))).toEqual([
        "group 'tmaml': runs/hc-tmaml-s1, runs/hc-tmaml-s2 have the same seed 1"
      ])
    })
  })

  describe('learningCurveChart', () => {
    it('draws mean ± std over two seeds and no band for a single run', () => {
      const runs = [
        run('a-s1', { env: 'hc', estimator: 'tmaml', seed: 1 }, [0, 2, 4]),
        run('a-s2', { env: 'hc', estimator: 'tmaml', seed: 2 }, [2, 4, 8]),
        run('b-s1', { env: 'hc', estimator: 'dice', seed: 1 }, [1, 1, 1])
      ]
      const { chart, finals } = _.learningCurveChart(runs, { metrics: ['returnPost'] })
      expect(chart.series.map((s) => s.name)).toEqual(['tmaml', 'dice'])
      expect(chart.series[0].points[0]).toEqual({ x: 0, y: 1, lo: 1 - Math.SQRT2, hi: 1 + Math.SQRT2 })
      expect(chart.series[0].points[2].y).toBe(6)
      expect(chart.series[1].points.every((p) => p.lo === undefined)).toBe(true)
      expect(chart.title).toBe('hc: learning curves (mean ± std over seeds)')
      expect(finals[0]).toMatchObject({ group: 'tmaml', metric: 'returnPost', x: 2, mean: 6, n: 2 })
    })

    it('draws a metric measured every few iterations as one line through its measurements', () => {
      const r = run('e', { estimator: 'tmaml' }, [0, 1, 2, 3, 4])
      const sparse = {
        ...r,
        rows: r.rows.map((row) => ({
          ...row,
          values: { ...row.values, evalPost: row.iteration % 2 === 0 ? row.iteration * 10 : NaN }
        }))
      }
      const { chart } = _.learningCurveChart([sparse], { metrics: ['evalPost'] })
      expect(chart.series[0].points).toEqual([
        { x: 0, y: 0 },
        { x: 2, y: 20 },
        { x: 4, y: 40 }
      ])
    })

    it('gives each group a colour and each metric a dash', () => {
      const runs = [run('a', { estimator: 'tmaml' }, [0, 1]), run('b', { estimator: 'dice' }, [0, 1])]
      const { chart } = _.learningCurveChart(runs)
      expect(chart.series.map((s) => s.name)).toEqual([
        'tmaml, post-adaptation',
        'tmaml, pre-adaptation',
        'dice, post-adaptation',
        'dice, pre-adaptation'
      ])
      expect(chart.series.map((s) => s.dash)).toEqual(['solid', 'dashed', 'solid', 'dashed'])
      expect(chart.series[0].colour).toBe(chart.series[1].colour)
      expect(chart.series[0].colour).not.toBe(chart.series[2].colour)
    })
  })
})
