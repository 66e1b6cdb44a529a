import { describe, expect, it } from 'vitest'
import type { LineChart } from '../../src/plot/chart.js'
import { palette } from '../../src/plot/palette.js'
import { renderSvg } from '../../src/plot/renderSvg.js'
import { countClass, tickLabels, tickValues } from './support.js'

const chart: LineChart = {
  title: 'Returns <pre & post>',
  xLabel: 'iteration',
  yLabel: 'average return',
  xScale: 'linear',
  series: [
    {
      name: 'tmaml',
      points: [0, 1, 2, 3, 4, 5].map((x) => ({ x, y: x * 2, lo: x * 2 - 1, hi: x * 2 + 1 }))
    },
    {
      // a NaN in the middle: two line pieces; the band breaks where lo is missing
      name: 'dice',
      points: [
        { x: 0, y: 0, lo: -1, hi: 1 },
        { x: 1, y: 1, lo: 0, hi: 2 },
        { x: 2, y: NaN },
        { x: 3, y: 3, lo: 2, hi: 4 },
        { x: 4, y: 4, lo: 3, hi: 5 },
        { x: 5, y: 5 }
      ]
    },
    { name: 'maml', points: [{ x: 2, y: 1 }] }
  ]
}

describe('plot/renderSvg', () => {
  describe('renderSvg', () => {
    it('is deterministic: the same chart gives the same bytes', () => {
      expect(renderSvg(chart)).toBe(renderSvg(structuredClone(chart)))
    })

    it('draws one line per unbroken run, one band per unbroken lo-hi run, a marker for an isolated point', () => {
      const svg = renderSvg(chart)
      expect(countClass(svg, 'g', 'series')).toBe(3)
      expect(countClass(svg, 'path', 'line')).toBe(3) // tmaml 1 + dice 2
      expect(countClass(svg, 'path', 'band')).toBe(3) // tmaml 1 + dice 2 (the NaN point has no lo/hi)
      expect(countClass(svg, 'circle', 'marker')).toBe(1)
      expect(countClass(svg, 'g', 'legend-entry')).toBe(3)
    })

    it('colours series from the palette in order, bands in the series colour', () => {
      const svg = renderSvg(chart)
      const strokes = [...svg.matchAll(/class="line"[^>]*stroke="(#[0-9A-Fa-f]{6})"/g)].map((m) => m[1])
      expect(strokes).toEqual([palette[0], palette[1], palette[1]])
      expect(svg).toMatch(new RegExp(`class="band"[^>]*fill="${palette[0]}"`))
    })

    it('writes the title and axis labels, escaped', () => {
      const svg = renderSvg(chart)
      expect(svg).toContain('class="title"')
      expect(svg).toContain('Returns &lt;pre &amp; post&gt;')
      expect(svg).toMatch(/class="x-label"[^>]*>iteration</)
      expect(svg).toMatch(/class="y-label"[^>]*>average return</)
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="440"')).toBe(true)
    })

    it('puts nice ticks on a linear axis covering the data', () => {
      const svg = renderSvg(chart)
      expect(tickValues(svg, 'x')).toEqual([0, 1, 2, 3, 4, 5])
      const ys = tickValues(svg, 'y')
      expect(ys[0]).toBeLessThanOrEqual(-1)
      expect(ys[ys.length - 1]).toBeGreaterThanOrEqual(11)
    })

    it('puts ticks at powers of ten on a log x axis and drops non-positive x', () => {
      const svg = renderSvg({
        title: 'correlation vs sample size',
        xLabel: 'sample size',
        yLabel: 'correlation',
        xScale: 'log',
        series: [{ name: 'tmaml', points: [0, 10, 30, 100, 300, 1000, 3000].map((x) => ({ x, y: x / 3000 })) }]
      })
      const xs = tickValues(svg, 'x')
      expect(xs).toEqual([10, 100, 1000, 10000])
      for (const v of xs) expect(Number.isInteger(Math.log10(v))).toBe(true)
      expect(tickLabels(svg, 'x')).toEqual(['10', '100', '1000', '10000'])
      expect(countClass(svg, 'path', 'line')).toBe(1) // x = 0 is off a log axis: not a break at the start
    })

    it('supports a log y axis, drawing a non-positive band bottom to the axis minimum', () => {
      const svg = renderSvg({
        title: '',
        xLabel: 'iteration',
        yLabel: 'variance',
        xScale: 'linear',
        yScale: 'log',
        series: [{ name: 'v', points: [0, 1, 2].map((x) => ({ x, y: 10 ** -x, lo: -1, hi: 2 * 10 ** -x })) }]
      })
      expect(tickValues(svg, 'y')).toEqual([0.01, 0.1, 1, 10])
      expect(countClass(svg, 'path', 'band')).toBe(1)
      expect(svg).not.toContain('NaN')
    })

    it('renders an empty chart with a no-data note and no series', () => {
      const svg = renderSvg({ title: 't', xLabel: 'x', yLabel: 'y', xScale: 'linear', series: [] })
      expect(svg).toContain('class="no-data"')
      expect(countClass(svg, 'path', 'line')).toBe(0)
      expect(svg).not.toContain('NaN')
    })

    it('honours the size option and a series colour and dash', () => {
      const svg = renderSvg(
        { ...chart, series: [{ name: 'a', colour: '#123456', dash: 'dashed', points: chart.series[0].points }] },
        { width: 400, height: 300 }
      )
      expect(svg).toContain('width="400" height="300" viewBox="0 0 400 300"')
      expect(svg).toMatch(/class="line"[^>]*stroke="#123456" stroke-dasharray="7 4"/)
    })
  })
})
