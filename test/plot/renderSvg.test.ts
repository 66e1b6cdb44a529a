import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { LineChart } from '../../src/plot/chart.js'
import { type SpecSize, lineChartSpec } from '../../src/plot/lineSpec.js'
import { palette } from '../../src/plot/palette.js'
import { renderSvg } from '../../src/plot/renderSvg.js'
import { axisLabels, markPaths, pieces, roleTexts } from './support.js'

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

const svgOf = async (c: LineChart, size?: SpecSize): Promise<string> => {
  const r = await renderSvg(lineChartSpec(c, size))()
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right
}

describe('plot/renderSvg', () => {
  describe('renderSvg', () => {
    it('is deterministic: the same chart gives the same bytes', async () => {
      expect(await svgOf(chart)).toBe(await svgOf(structuredClone(chart)))
    })

    it('draws one line piece per unbroken run, one band piece per unbroken lo-hi run, a dot for an isolated point', async () => {
      const svg = await svgOf(chart)
      expect(markPaths(svg, 'line').map(pieces)).toEqual([1, 2, 1]) // tmaml, dice (broken at the NaN), maml
      expect(markPaths(svg, 'area').map(pieces)).toEqual([1, 2, 0]) // maml has no band
      expect(markPaths(svg, 'symbol')).toHaveLength(1)
      expect(roleTexts(svg, 'legend-label')).toEqual(['tmaml', 'dice', 'maml'])
    })

    it('colours lines from the palette in order and bands in the series colour', async () => {
      const svg = await svgOf(chart)
      const strokes = markPaths(svg, 'line').map((a) => /stroke="(#[0-9A-Fa-f]{6})"/.exec(a)?.[1])
      expect(strokes).toEqual([palette[0], palette[1], palette[2]])
      expect(markPaths(svg, 'area')[0]).toContain(`fill="${palette[0]}"`)
    })

    it('writes the title and axis labels, escaped, at the asked size', async () => {
      const svg = await svgOf(chart)
      expect(roleTexts(svg, 'title-text')).toEqual(['Returns &lt;pre &amp; post&gt;'])
      expect(roleTexts(svg, 'axis-title')).toEqual(['iteration', 'average return'])
      expect(svg).toContain('width="720" height="440" viewBox="0 0 720 440"')
      expect(await svgOf(chart, { width: 400, height: 300 })).toContain('width="400" height="300"')
    })

    it('puts nice ticks on a linear axis covering the data', async () => {
      const svg = await svgOf(chart)
      expect(axisLabels(svg, 'iteration').map(Number)).toEqual([0, 1, 2, 3, 4, 5])
      const ys = axisLabels(svg, 'average return').map((s) => Number(s.replace('\u2212', '-')))
      expect(ys[0]).toBeLessThanOrEqual(-1)
      expect(ys[ys.length - 1]).toBeGreaterThanOrEqual(11)
    })

    it('labels a log axis at 1-2-5 steps or powers of ten and drops non-positive values', async () => {
      const svg = await svgOf({
        title: '',
        xLabel: 'sample size',
        yLabel: 'variance',
        xScale: 'log',
        yScale: 'log',
        series: [{ name: 'v', points: [0, 10, 30, 100, 300, 1000].map((x, i) => ({ x, y: 10 ** (2 - 2 * i) })) }]
      })
      expect(axisLabels(svg, 'sample size')).toEqual(['10', '20', '50', '100', '200', '500', '1000'])
      expect(axisLabels(svg, 'variance')).toEqual(['1e-8', '1e-7', '1e-6', '1e-5', '1e-4', '0.001', '0.01', '0.1', '1'])
      expect(markPaths(svg, 'line').map(pieces)).toEqual([1]) // x = 0 is off a log axis: not a break
      expect(svg).not.toContain('NaN')
    })

    it('renders an empty chart as a no-data note', async () => {
      const svg = await svgOf({ title: 't', xLabel: 'x', yLabel: 'y', xScale: 'linear', series: [] })
      expect(svg).toContain('>no data</text>')
      expect(markPaths(svg, 'line')).toHaveLength(0)
    })

    it('applies a series colour and dash', async () => {
      const svg = await svgOf({ ...chart, series: [{ ...chart.series[0], colour: '#123456', dash: 'dashed' }] })
      expect(markPaths(svg, 'line')[0]).toMatch(/stroke="#123456".*stroke-dasharray="7,4"/)
    })

    it('returns a ResourceError for a spec vega-lite rejects', async () => {
      const r = await renderSvg({ mark: 'nonsense' } as never)()
      expect(E.isLeft(r) && r.left._tag).toBe('ResourceError')
    })
  })
})
