/**
 * Text width estimates for layout (legend box, axis margins), from the advance widths of the bundled
 * DejaVu Sans (fonts/DejaVuSans.ttf), so that what the SVG reserves matches what the PNG draws.
 *
 * @packageDocumentation
 */

// Advance widths, in 1/2048 em, of the code points 32 (space) to 126 (~) in DejaVu Sans 2.37.
const ascii: ReadonlyArray<number> = [
  651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303, 1303, 1303,
  1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540,
  604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690,
  799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253, 1300,
  1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716
]

// A few symbols likely in labels (±, en dash, μ, σ ...); anything else counts as a wide glyph.
const symbols: Readonly<Record<string, number>> = {
  '±': 1716,
  '–': 1024,
  '—': 2048,
  '×': 1716,
  μ: 1303,
  σ: 1298,
  '·': 651,
  '…': 2048,
  '≤': 1716,
  '≥': 1716,
  '²': 821,
  '³': 821,
  '°': 1024
}

const unknownWidth = 1716

/**
 * The width in px of `text` set in DejaVu Sans at `fontSize` px (no kerning; within a few percent).
 *
 * @category utils
 */
export const textWidth = (text: string, fontSize: number): number => {
  let units = 0
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0
    units += c >= 32 && c < 127 ? ascii[c - 32] : (symbols[ch] ?? unknownWidth)
  }
  return (units / 2048) * fontSize
}

/**
 * `text` cut to at most `maxWidth` px at `fontSize`, with an ellipsis when it was cut.
 *
 * @category utils
 */
export const truncateText = (text: string, fontSize: number, maxWidth: number): string => {
  if (textWidth(text, fontSize) <= maxWidth) return text
  const chars = [...text]
  while (chars.length > 0 && textWidth(chars.join('') + '…', fontSize) > maxWidth) chars.pop()
  return chars.join('') + '…'
}
