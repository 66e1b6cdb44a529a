/**
 * `renderSvg`: a vega-lite spec to a standalone SVG document, headless: vega-lite compiles the spec to
 * vega, vega lays it out and draws it with its SVG string renderer (no DOM, no canvas, no browser).
 *
 * Text widths: without a canvas, vega guesses every glyph as 0.8 em wide, which misplaces the
 * legend and the axis titles. It lets a caller supply the measure, so this module hands it the
 * bundled DejaVu Sans' advance widths (`textWidth`), the font `renderPng` draws with: the layout
 * matches the pixels. Vega is loaded on the first render, not on import.
 *
 * @packageDocumentation
 */
import * as TE from 'fp-ts/lib/TaskEither.js'
import { type TmamlError, resourceError } from '../base/errors.js'
import type { ChartSpec } from './lineSpec.js'
import { textWidth } from './textWidth.js'

type Vega = typeof import('vega')
type VegaLite = typeof import('vega-lite')

interface TextItem {
  readonly fontSize?: number | string
}

// vega-lite's and vega's warnings (an empty layer's infinite extent, say) would go to the console of
// every command that draws a figure; what is drawn is checked by the tests instead.
const quiet = {
  level: () => quiet,
  error: () => quiet,
  warn: () => quiet,
  info: () => quiet,
  debug: () => quiet
}

let loaded: Promise<{ readonly vega: Vega; readonly vl: VegaLite }> | undefined

// The widths vega asks for: of one line of an item's text, at the item's font size (vega's default 11).
const measure = (item: TextItem, text: unknown): number => {
  const size = item.fontSize !== undefined ? Number(item.fontSize) || 0 : 11
  const s = text === null || text === undefined ? '' : String(text).trim()
  return size <= 0 ? 0 : textWidth(s, size)
}

const load = (): Promise<{ readonly vega: Vega; readonly vl: VegaLite }> => {
  loaded ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => {
    // vega's documented hook for a caller-supplied text measure (vega-scenegraph `textMetrics`).
    const metrics = (vega as unknown as { textMetrics?: { width: (item: TextItem, text: unknown) => number } })
      .textMetrics
    if (metrics === undefined) throw new Error('vega no longer exports textMetrics: text widths cannot be set')
    metrics.width = measure
    return { vega, vl }
  })
  return loaded
}

/**
 * Render `spec` to an SVG document. The same spec gives the same bytes (vega's generated ids are reset
 * before each render). Left when vega-lite or vega rejects the spec.
 *
 * @category rendering
 */
export const renderSvg = (spec: ChartSpec): TE.TaskEither<TmamlError, string> =>
  TE.tryCatch(
    async () => {
      const { vega, vl } = await load()
      const compiled = vl.compile(spec, { logger: quiet }).spec
      vega.resetSVGDefIds()
      const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.None })
      try {
        const svg = await view.toSVG()
        return svg.endsWith('\n') ? svg : svg + '\n'
      } finally {
        view.finalize()
      }
    },
    (err) =>
      resourceError(
        'plot/renderSvg',
        `vega could not render the chart: ${err instanceof Error ? err.message : String(err)}`
      )
  )
