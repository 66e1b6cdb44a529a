/**
 * `renderTable`: rows of values to a GitHub-flavoured Markdown table, columns padded so the source
 * reads as a table too. Numeric columns are right-aligned.
 *
 * @example
 * renderTable([{ method: 'tmaml', return: 513.5 }, { method: 'dice', return: 281 }])
 * // | method | return |
 * // | ------ | -----: |
 * // | tmaml  |  513.5 |
 * // | dice   |    281 |
 *
 * @packageDocumentation
 */

/** A table cell: text, a number (formatted to `digits` significant digits), or empty. */
export type Cell = string | number | null | undefined

/** Options of `renderTable`. */
export interface TableOptions {
  /** Columns in order (default: every key, in order of first appearance). */
  readonly columns?: ReadonlyArray<string>
  /** Significant digits of non-integer numbers (default 4). */
  readonly digits?: number
}

/**
 * `v` with `digits` significant digits: integers as they are, plain notation from 1e-3 to 1e6, else
 * exponent notation; NaN and infinities spelled out.
 *
 * @category utils
 */
export const formatNumber = (v: number, digits = 4): string => {
  if (Number.isNaN(v)) return 'NaN'
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf'
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v)
  const a = Math.abs(v)
  if (a >= 1e-3 && a < 1e6) return String(Number(v.toPrecision(digits)))
  return v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e')
}

/**
 * `mean ± std` with the mean rounded to the decimals of the std's leading digits (`digits` significant
 * digits of the std); `std` NaN (a single seed) gives the mean alone.
 *
 * @category utils
 */
export const formatMeanStd = (mean: number, std: number, digits = 2): string => {
  if (!Number.isFinite(mean)) return formatNumber(mean)
  if (!Number.isFinite(std)) return formatNumber(mean, 4)
  if (std === 0) return `${formatNumber(mean, 4)} ± 0`
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(std)))
  return `${mean.toFixed(decimals)} ± ${std.toFixed(decimals)}`
}

const escapeCell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')

/**
 * A Markdown table of `rows`.
 *
 * @category rendering
 */
export const renderTable = (
  rows: ReadonlyArray<Readonly<Record<string, Cell>>>,
  options: TableOptions = {}
): string => {
  const columns = options.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))]
  if (columns.length === 0) return ''
  const digits = options.digits ?? 4
  const show = (c: Cell): string =>
    c === null || c === undefined ? '' : typeof c === 'number' ? formatNumber(c, digits) : escapeCell(c)
  const body = rows.map((r) => columns.map((c) => show(r[c])))
  const numeric = columns.map(
    (c) => rows.some((r) => typeof r[c] === 'number') && rows.every((r) => typeof r[c] !== 'string')
  )
  const head = columns.map(escapeCell)
  const widths = columns.map((_, i) => Math.max(3, [...head[i]].length, ...body.map((r) => [...r[i]].length)))
  const pad = (s: string, i: number) => {
    const fill = ' '.repeat(widths[i] - [...s].length)
    return numeric[i] ? fill + s : s + fill
  }
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map(pad).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (numeric[i] ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ')} |`
  return [line(head), rule, ...body.map(line)].join('\n') + '\n'
}
