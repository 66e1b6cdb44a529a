import { describe, expect, it } from 'vitest'
import type { LineChart } from '../../src/plot/chart.js'
import { chartRows, lineChartSpec, logTicks } from '../../src/plot/lineSpec.js'
import { palette } from '../../src/plot/palette.js'

const chart: LineChart = {
  title: 't',
  xLabel: 'x',
  yLabel: 'y',
  xScale: 'linear',
  series: [
    {
      name: 'a',
      points: [
        { x: 0, y: 1, lo: 0, hi: 2 },
        { x: 1, y: NaN },
        { x: 2, y: 3 },
        { x: 3, y: 4, lo: 3, hi: 5 }
      ]
    },
    { name: 'a', points: [{ x: 0, y: 1 }] }
  ]
}

describe('plot/lineSpec', () => {
  describe('chartRows', () => {
    it('writes missing values as null, keeps series order, and marks points with no drawn neighbour', () => {
      const rows = chartRows(chart)
      expect(rows.map((r) => [r.series, r.order, r.x, r.y, r.lo, r.hi, r.isolated])).toEqual([
        ['a', 0, 0, 1, 0, 2, true],
        ['a', 1, 1, null, null, null, false],
        ['a', 2, 2, 3, null, null, false],
        ['a', 3, 3, 4, 3, 5, false],
        ['a (2)', 0, 0, 1, null, null, true]
      ])
    })

    it('drops non-positive values on a log scale and draws a non-positive lo down to the smallest value', () => {
      const rows = chartRows({
        ...chart,
        xScale: 'log',
        yScale: 'log',
        series: [
          {
            name: 's',
            points: [
              { x: 0, y: 1 },
              { x: 10, y: 0.5, lo: -1, hi: 2 },
              { x: 100, y: -3 }
            ]
          }
        ]
      })
      expect(rows.map((r) => [r.x, r.y, r.lo, r.hi])).toEqual([
        [null, null, null, null],
        [10, 0.5, 0.5, 2],
        [100, null, null, null]
      ])
    })
  })

  describe('logTicks', () => {
    it('gives 1-2-5 steps over at most three decades, powers of ten beyond, bounding the data', () => {
      expect(logTicks(10, 1000)).toEqual([10, 20, 50, 100, 200, 500, 1000])
      expect(logTicks(15, 400)).toEqual([10, 20, 50, 100, 200, 500])
      expect(logTicks(3e-5, 4e7)).toEqual([1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8])
      expect(logTicks(0, 10)).toEqual([])
    })
  })

  describe('lineChartSpec', () => {
    it('colours and dashes series from the palette by default, or as given, in legend order', () => {
      const spec = lineChartSpec({
        ...chart,
        series: [
          { name: 'p', points: [{ x: 0, y: 0 }] },
          { name: 'q', colour: '#123456', dash: 'dotted', points: [{ x: 0, y: 0 }] }
        ]
      }) as unknown as { layer: Array<{ encoding: Record<string, { scale?: { domain: unknown; range: unknown } }> }> }
      const line = spec.layer[1].encoding
      expect(line['color'].scale).toEqual({ domain: ['p', 'q'], range: [palette[0], '#123456'] })
      expect(line['strokeDash'].scale).toEqual({
        domain: ['p', 'q'],
        range: [
          [1, 0],
          [1.5, 3.5]
        ]
      })
    })

    it('is plain JSON: the same spec after a round trip', () => {
      const spec = lineChartSpec(chart)
      expect(JSON.parse(JSON.stringify(spec))).toEqual(spec)
    })
  })
})
