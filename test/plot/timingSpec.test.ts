import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { flattenLine, parseMetrics } from '../../src/plot/readRun.js'
import { renderSvg } from '../../src/plot/renderSvg.js'
import { timingRows, timingSpec } from '../../src/plot/timingSpec.js'
import { roleTexts } from './support.js'

const lines = [
  { iteration: 0, timings: { sample: 2, adapt: 1, metaUpdate: 0.5 } },
  { iteration: 1, timings: { sample: 3, adapt: NaN, metaUpdate: 1 } }
]

describe('plot/timingSpec', () => {
  describe('timingRows', () => {
    it('gives one row per finite stage time', () => {
      expect(timingRows(lines)).toEqual([
        { iteration: 0, stage: 'sample', seconds: 2 },
        { iteration: 0, stage: 'adapt', seconds: 1 },
        { iteration: 0, stage: 'metaUpdate', seconds: 0.5 },
        { iteration: 1, stage: 'sample', seconds: 3 },
        { iteration: 1, stage: 'metaUpdate', seconds: 1 }
      ])
    })
  })

  describe('timingSpec', () => {
    it('draws one bar segment per row, stacked to each iteration total, stages in the legend', async () => {
      const svg = await renderSvg(timingSpec(timingRows(lines), { height: 300 }))()
      if (E.isLeft(svg)) throw new Error(JSON.stringify(svg.left))
      const bars = svg.right
        .split('<g class="mark-rect role-mark')[1]
        .split('</g>')[0]
        .match(/<path\b[^>]*d="M[-\d.]+,([-\d.]+)h[-\d.]+v([-\d.]+)/g)
      expect(bars).toHaveLength(5)
      expect(roleTexts(svg.right, 'legend-label')).toEqual(['sample', 'adapt', 'metaUpdate'])
    })
  })
})

describe('plot/readRun', () => {
  describe('flattenLine', () => {
    it('adds the numbers of nested records under dotted names', () => {
      expect(flattenLine({ iteration: 1, stats: { kl: 0.5, note: 'x' }, timings: { sample: 2 } })).toEqual({
        iteration: 1,
        stats: { kl: 0.5, note: 'x' },
        timings: { sample: 2 },
        'stats.kl': 0.5,
        'timings.sample': 2
      })
    })

    it('lets a nested stat be plotted by its dotted name', () => {
      const text = '{"iteration":0,"stats":{"kl":0.25}}\n{"iteration":1,"stats":{"kl":0.5}}\n'
      const r = parseMetrics(text, 'f', 'run', { x: 'iteration', metrics: ['stats.kl'] })
      expect(r.run.rows.map((row) => row.values['stats.kl'])).toEqual([0.25, 0.5])
    })
  })
})
