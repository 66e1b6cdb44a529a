// Helpers for the plot tests: read the structure of vega's SVG output, read PNG headers.

/** The `d` of each path drawn by a mark layer (`mark-line`, `mark-area`, `mark-symbol`), in order. */
export const markPaths = (svg: string, mark: 'line' | 'area' | 'symbol'): string[] =>
  svg
    .split(`<g class="mark-${mark} role-mark `)
    .slice(1)
    .flatMap((chunk) => [...chunk.slice(0, chunk.indexOf('</g>')).matchAll(/<path\b([^>]*)\/>/g)].map((m) => m[1]))

/** Unbroken pieces of a path: its move-to commands. */
export const pieces = (attrs: string): number => (/\bd="([^"]*)"/.exec(attrs)?.[1].match(/M/g) ?? []).length

/** The texts of the elements with vega role `role` (e.g. 'legend-label', 'title-text'). */
export const roleTexts = (svg: string, role: string): string[] =>
  svg
    .split(`class="mark-text role-${role}"`)
    .slice(1)
    .flatMap((chunk) =>
      [...chunk.slice(0, chunk.indexOf('</g>')).matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])
    )

/** Tick labels of the axis titled `title`. */
export const axisLabels = (svg: string, title: string): string[] => {
  const axis = svg.split('<g class="mark-group role-axis"').find((chunk) => chunk.includes(`>${title}</text>`))
  return axis === undefined ? [] : roleTexts(axis, 'axis-label')
}

export const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

/** Width and height from a PNG's IHDR chunk. */
export const pngSize = (png: Uint8Array): { width: number; height: number } => {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength)
  return { width: v.getUint32(16), height: v.getUint32(20) }
}
