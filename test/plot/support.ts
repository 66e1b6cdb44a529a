// Helpers for the plot tests: count SVG elements by class, read PNG headers.

/** Number of elements `<tag ... class="cls"` in `svg`. */
export const countClass = (svg: string, tag: string, cls: string): number =>
  [...svg.matchAll(new RegExp(`<${tag}\\b[^>]*\\bclass="${cls}"`, 'g'))].length

/** The `data-value`s of the ticks of one axis ('x' or 'y'), in document order. */
export const tickValues = (svg: string, axis: 'x' | 'y'): number[] =>
  [...svg.matchAll(new RegExp(`class="${axis}-tick" data-value="([^"]+)"`, 'g'))].map((m) => Number(m[1]))

/** The labels of one axis' ticks. */
export const tickLabels = (svg: string, axis: 'x' | 'y'): string[] =>
  [...svg.matchAll(new RegExp(`class="${axis}-tick"[^>]*>.*?<text[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1])

export const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

/** Width and height from a PNG's IHDR chunk. */
export const pngSize = (png: Uint8Array): { width: number; height: number } => {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength)
  return { width: v.getUint32(16), height: v.getUint32(20) }
}
