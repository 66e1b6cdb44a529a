import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import type { LineChart } from '../../src/plot/chart.js'
import { bundledFont, renderPng } from '../../src/plot/renderPng.js'
import { lineChartSpec } from '../../src/plot/lineSpec.js'
import { renderSvg } from '../../src/plot/renderSvg.js'
import { writeFigure } from '../../src/plot/writeFigure.js'
import { pngSignature, pngSize } from './support.js'

const chart: LineChart = {
  title: 'point2d',
  xLabel: 'iteration',
  yLabel: 'return',
  xScale: 'linear',
  series: [{ name: 'tmaml', points: [0, 1, 2, 3].map((x) => ({ x, y: -10 + x, lo: -11 + x, hi: -9 + x })) }]
}

const dir = mkdtempSync(join(tmpdir(), 'tmaml-plot-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const svgOf = async (c: LineChart, size?: { width: number; height: number }): Promise<string> => {
  const r = await renderSvg(lineChartSpec(c, size))()
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right
}

const png = (svg: string, scale?: number): Uint8Array => {
  const r = renderPng(svg, { scale })
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
  return r.right
}

describe('plot/renderPng', () => {
  describe('renderPng', () => {
    it('produces a PNG of the SVG size times the scale', async () => {
      const bytes = png(await svgOf(chart, { width: 500, height: 300 }), 2)
      expect([...bytes.subarray(0, 8)]).toEqual(pngSignature)
      expect(pngSize(bytes)).toEqual({ width: 1000, height: 600 })
      expect(pngSize(png(await svgOf(chart), 1))).toEqual({ width: 720, height: 440 })
    })

    it('draws text with the bundled font (system fonts are not loaded)', () => {
      expect(E.isRight(bundledFont())).toBe(true)
      const text = (s: string) =>
        `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><text x="4" y="28" font-size="20" font-family="DejaVu Sans">${s}</text></svg>`
      // Without glyphs both images would be blank and identical.
      expect(Buffer.from(png(text('Return ±'))).equals(Buffer.from(png(text(''))))).toBe(false)
      expect(Buffer.from(png(text('Return ±'))).equals(Buffer.from(png(text('Return ±'))))).toBe(true)
    })

    it('returns an error for a bad scale', async () => {
      expect(E.isLeft(renderPng(await svgOf(chart), { scale: 0 }))).toBe(true)
    })
  })
})

describe('plot/writeFigure', () => {
  describe('writeFigure', () => {
    it('writes <path>.svg and <path>.png, creating the folder and leaving no temp files', async () => {
      const r = await writeFigure(join(dir, 'sub', 'curves'), chart)()
      expect(E.isRight(r)).toBe(true)
      if (E.isLeft(r)) return
      expect(r.right).toEqual({ svg: join(dir, 'sub', 'curves.svg'), png: join(dir, 'sub', 'curves.png') })
      expect(readFileSync(r.right.svg, 'utf8')).toBe(await svgOf(chart))
      expect([...readFileSync(r.right.png).subarray(0, 8)]).toEqual(pngSignature)
      expect(readdirSync(join(dir, 'sub')).sort()).toEqual(['curves.png', 'curves.svg'])
    })

    it('drops a .svg/.png extension from the path', async () => {
      const r = await writeFigure(join(dir, 'fig.png'), chart)()
      expect(E.isRight(r) && r.right.svg).toBe(join(dir, 'fig.svg'))
    })

    it('returns a ResourceError naming the path when it cannot write', async () => {
      const blocker = join(dir, 'sub', 'curves.svg') // a file where a folder is needed
      const r = await writeFigure(join(blocker, 'x'), chart)()
      expect(E.isLeft(r) && r.left._tag).toBe('ResourceError')
      expect(E.isLeft(r) && 'where' in r.left && r.left.where).toContain(blocker)
    })
  })
})
