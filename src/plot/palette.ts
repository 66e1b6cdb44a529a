/**
 * Series colours: the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), which stays
 * distinguishable under the common colour-vision deficiencies. Yellow is left out (too pale on
 * white) and black moved last. Past eight series the colours repeat with a dash pattern.
 *
 * @packageDocumentation
 */
import type { Dash } from './chart.js'

/**
 * Colour-blind-safe series colours, in the order they are assigned.
 *
 * @category model
 */
export const palette: ReadonlyArray<string> = [
  '#0072B2', // blue
  '#E69F00', // orange
  '#009E73', // bluish green
  '#D55E00', // vermillion
  '#CC79A7', // reddish purple
  '#56B4E9', // sky blue
  '#8C6D00', // dark yellow (Okabe–Ito yellow darkened for contrast on white)
  '#000000' // black
]

/**
 * The default colour and dash of the series at `index`.
 *
 * @category utils
 */
export const seriesStyle = (index: number): { readonly colour: string; readonly dash: Dash } => {
  const cycle = Math.floor(index / palette.length)
  const dashes: ReadonlyArray<Dash> = ['solid', 'dashed', 'dotted']
  return { colour: palette[index % palette.length], dash: dashes[cycle % dashes.length] }
}
