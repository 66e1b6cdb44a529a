/**
 * `renderPng`: SVG to PNG in Node, no browser, through resvg (Rust, prebuilt per platform in the
 * @resvg/resvg-js npm package). Text uses only the bundled DejaVu Sans (system fonts are not
 * loaded), so the same SVG gives the same pixels on every machine, fonts installed or not.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Resvg } from '@resvg/resvg-js'
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, resourceError } from '../base/errors.js'
import { fontFamily } from './lineSpec.js'

/** Options of `renderPng`. */
export interface PngOptions {
  /** Pixels per SVG px (default 2: a 720×440 chart becomes 1440×880). */
  readonly scale?: number
}

// src/plot/fonts when running from src (tsx, vitest); dist/plot -> ../../src/plot/fonts after `tsc`,
// which does not copy non-TypeScript files.
const fontCandidates = (): ReadonlyArray<string> =>
  [
    new URL('./fonts/DejaVuSans.ttf', import.meta.url),
    new URL('../../src/plot/fonts/DejaVuSans.ttf', import.meta.url)
  ].map((u) => fileURLToPath(u))

/**
 * The path of the bundled font file, or an error naming where it was looked for.
 *
 * @category utils
 */
export const bundledFont = (): E.Either<TmamlError, string> => {
  const candidates = fontCandidates()
  const found = candidates.find((p) => existsSync(p))
  return found !== undefined
    ? E.right(found)
    : E.left(resourceError('plot/renderPng', `the bundled font is missing; looked in ${candidates.join(', ')}`))
}

/**
 * Rasterise an SVG document to PNG bytes with the bundled font, on a white background.
 *
 * @category rendering
 */
export const renderPng = (svg: string, options: PngOptions = {}): E.Either<TmamlError, Uint8Array> => {
  const scale = options.scale ?? 2
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 16))
    return E.left(resourceError('plot/renderPng', `scale must be in (0, 16], got ${scale}`))
  const fontFile = bundledFont()
  if (E.isLeft(fontFile)) return fontFile
  try {
    const resvg = new Resvg(svg, {
      background: '#ffffff',
      fitTo: { mode: 'zoom', value: scale },
      font: { fontFiles: [fontFile.right], loadSystemFonts: false, defaultFontFamily: fontFamily },
      shapeRendering: 2,
      textRendering: 1
    })
    return E.right(new Uint8Array(resvg.render().asPng()))
  } catch (err) {
    return E.left(
      resourceError(
        'plot/renderPng',
        `resvg could not render the SVG: ${err instanceof Error ? err.message : String(err)}`
      )
    )
  }
}
