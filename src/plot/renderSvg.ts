/**
 * `renderSvg`: a `LineChart` to a standalone SVG document. Deterministic (the same chart gives the same
 * bytes), no DOM, no fonts needed: layout uses the bundled font's advance widths.
 *
 * Output structure, for tools and tests: `g.series` per series holding `path.band` (one per unbroken
 * run of lo/hi), `path.line` (one per unbroken run of points) and `circle.marker` (isolated points);
 * `g.x-tick` / `g.y-tick` with a `data-value`; `g.legend-entry` per series; `text.title`, `text.x-label`,
 * `text.y-label`.
 *
 * @packageDocumentation
 */
import { type Axis, axisFor, project } from './axis.js'
import { type Dash, type LineChart, type Point, type Scale, isDrawable } from './chart.js'
import { seriesStyle } from './palette.js'
import { textWidth, truncateText } from './textWidth.js'

/** Size of the drawing, in CSS px (the PNG is this times its scale). */
export interface SvgOptions {
  readonly width?: number
  readonly height?: number
}

/** Default drawing size. */
export const defaultSvgSize = { width: 720, height: 440 } as const

/** The font-family every text element uses; the PNG renderer maps it to the bundled DejaVu Sans. */
export const fontFamily = 'DejaVu Sans'

const font = { title: 16, label: 13, tick: 11, legend: 12 } as const
const dashArray: Readonly<Record<Dash, string | undefined>> = { solid: undefined, dashed: '7 4', dotted: '1.5 3.5' }

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')

// Pixel coordinates with two decimals: compact, and stable across platforms.
const n = (v: number): string => {
  const r = Math.round(v * 100) / 100
  return r === 0 ? '0' : String(r)
}

const attrs = (a: Readonly<Record<string, string | number | undefined>>): string =>
  Object.entries(a)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? n(v) : esc(v)}"`)
    .join('')

/** Maximal runs of consecutive points accepted by `ok`. */
const runs = (points: ReadonlyArray<Point>, ok: (p: Point) => boolean): ReadonlyArray<ReadonlyArray<Point>> => {
  const out: Point[][] = []
  let cur: Point[] = []
  for (const p of points) {
    if (ok(p)) cur.push(p)
    else if (cur.length > 0) {
      out.push(cur)
      cur = []
    }
  }
  if (cur.length > 0) out.push(cur)
  return out
}

const dataValues = (chart: LineChart, yScale: Scale): { xs: number[]; ys: number[] } => {
  const xs: number[] = []
  const ys: number[] = []
  for (const s of chart.series)
    for (const p of s.points) {
      if (!isDrawable(p.x, chart.xScale)) continue
      let any = false
      for (const v of [p.y, p.lo, p.hi])
        if (isDrawable(v, yScale)) {
          ys.push(v)
          any = true
        }
      if (any) xs.push(p.x)
    }
  return { xs, ys }
}

/**
 * Render `chart` as an SVG document: title, gridlines, axes with nice ticks (powers of ten on a log
 * scale), shaded lo–hi bands under each line, a legend on the right. Non-finite points break lines
 * and bands; on a log y scale a band's non-positive `lo` is drawn to the bottom of the plot.
 *
 * @category rendering
 */
export const renderSvg = (chart: LineChart, options: SvgOptions = {}): string => {
  const W = Math.max(240, options.width ?? defaultSvgSize.width)
  const H = Math.max(160, options.height ?? defaultSvgSize.height)
  const yScale: Scale = chart.yScale ?? 'linear'
  const { xs, ys } = dataValues(chart, yScale)
  const xAxis = axisFor(xs, chart.xScale)
  const yAxis = axisFor(ys, yScale)
  const styles = chart.series.map((s, i) => {
    const d = seriesStyle(i)
    return { colour: s.colour ?? d.colour, dash: s.dash ?? d.dash }
  })

  // Layout.
  const legendText = W * 0.26
  const names = chart.series.map((s) => truncateText(s.name, font.legend, legendText))
  const legendW = names.length === 0 ? 0 : 26 + 6 + Math.max(...names.map((t) => textWidth(t, font.legend))) + 8
  const yTickW = Math.max(0, ...yAxis.ticks.map((t) => textWidth(t.label, font.tick)))
  const x0 = 10 + (chart.yLabel === '' ? 0 : font.label + 10) + yTickW + 9
  const x1 = W - 14 - (legendW > 0 ? legendW + 12 : 0)
  const y0 = chart.title === '' ? 14 : 14 + font.title + 12
  const y1 = H - 10 - (chart.xLabel === '' ? 0 : font.label + 8) - font.tick - 10
  const px = (v: number) => project(xAxis, v, x0, x1)
  const py = (v: number) => project(yAxis, v, y1, y0)

  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width: W, height: H, viewBox: `0 0 ${n(W)} ${n(H)}` })}` +
      `${attrs({ 'font-family': `${fontFamily}, Verdana, sans-serif`, role: 'img', 'aria-label': chart.title })}>`
  )
  out.push(`<rect${attrs({ width: W, height: H, fill: '#ffffff' })}/>`)
  out.push(
    `<defs><clipPath id="plot-area"><rect${attrs({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 })}/></clipPath></defs>`
  )

  // Gridlines (minor first, under the major ones).
  out.push('<g class="grid" fill="none" stroke-width="1">')
  for (const v of xAxis.minor) out.push(`<line${attrs({ x1: px(v), y1: y0, x2: px(v), y2: y1, stroke: '#f0f0f0' })}/>`)
  for (const v of yAxis.minor) out.push(`<line${attrs({ x1: x0, y1: py(v), x2: x1, y2: py(v), stroke: '#f0f0f0' })}/>`)
  for (const t of xAxis.ticks)
    out.push(`<line${attrs({ x1: px(t.value), y1: y0, x2: px(t.value), y2: y1, stroke: '#dddddd' })}/>`)
  for (const t of yAxis.ticks)
    out.push(`<line${attrs({ x1: x0, y1: py(t.value), x2: x1, y2: py(t.value), stroke: '#dddddd' })}/>`)
  out.push('</g>')

  // Data: bands under lines, clipped to the plot area.
  out.push('<g class="data" clip-path="url(#plot-area)">')
  chart.series.forEach((s, i) => {
    const { colour, dash } = styles[i]
    out.push(`<g${attrs({ class: 'series', 'data-name': s.name })}>`)
    const bandOk = (p: Point) =>
      isDrawable(p.x, chart.xScale) &&
      isDrawable(p.hi, yScale) &&
      p.lo !== undefined &&
      Number.isFinite(p.lo) &&
      (yScale === 'linear' || p.lo > 0 || p.hi > 0)
    const lo = (p: Point): number => (yScale === 'log' && (p.lo ?? 0) <= 0 ? yAxis.domain[0] : (p.lo ?? NaN))
    for (const run of runs(s.points, bandOk)) {
      const upper = run.map((p) => `${n(px(p.x))},${n(py(p.hi ?? NaN))}`)
      const lower = [...run].reverse().map((p) => `${n(px(p.x))},${n(py(lo(p)))}`)
      out.push(
        `<path${attrs({ class: 'band', d: `M${upper.join('L')}L${lower.join('L')}Z`, fill: colour })} fill-opacity="0.18" stroke="none"/>`
      )
    }
    const lineOk = (p: Point) => isDrawable(p.x, chart.xScale) && isDrawable(p.y, yScale)
    for (const run of runs(s.points, lineOk)) {
      if (run.length === 1) {
        out.push(`<circle${attrs({ class: 'marker', cx: px(run[0].x), cy: py(run[0].y), r: 2.5, fill: colour })}/>`)
        continue
      }
      const d = 'M' + run.map((p) => `${n(px(p.x))},${n(py(p.y))}`).join('L')
      out.push(
        `<path${attrs({ class: 'line', d, fill: 'none', stroke: colour, 'stroke-dasharray': dashArray[dash] })}` +
          ' stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>'
      )
    }
    out.push('</g>')
  })
  out.push('</g>')
  if (xs.length === 0)
    out.push(
      `<text${attrs({ class: 'no-data', x: (x0 + x1) / 2, y: (y0 + y1) / 2, 'text-anchor': 'middle', 'font-size': font.label, fill: '#777777' })}>no data</text>`
    )

  // Axes and tick labels.
  out.push(`<g class="axes" stroke="#333333" stroke-width="1" fill="none">`)
  out.push(`<line${attrs({ x1: x0, y1: y1, x2: x1, y2: y1 })}/><line${attrs({ x1: x0, y1: y0, x2: x0, y2: y1 })}/>`)
  out.push('</g>')
  out.push(`<g${attrs({ class: 'x-axis', 'font-size': font.tick, fill: '#333333', 'text-anchor': 'middle' })}>`)
  for (const t of xAxis.ticks) {
    const x = px(t.value)
    out.push(
      `<g${attrs({ class: 'x-tick', 'data-value': String(t.value) })}><line${attrs({ x1: x, y1: y1, x2: x, y2: y1 + 5, stroke: '#333333' })}/>` +
        `<text${attrs({ x, y: y1 + 7 + font.tick * 0.8 })}>${esc(t.label)}</text></g>`
    )
  }
  out.push('</g>')
  out.push(`<g${attrs({ class: 'y-axis', 'font-size': font.tick, fill: '#333333', 'text-anchor': 'end' })}>`)
  for (const t of yAxis.ticks) {
    const y = py(t.value)
    out.push(
      `<g${attrs({ class: 'y-tick', 'data-value': String(t.value) })}><line${attrs({ x1: x0 - 5, y1: y, x2: x0, y2: y, stroke: '#333333' })}/>` +
        `<text${attrs({ x: x0 - 8, y: y + font.tick * 0.35 })}>${esc(t.label)}</text></g>`
    )
  }
  out.push('</g>')

  // Title and axis labels.
  const mid = (x0 + x1) / 2
  if (chart.title !== '')
    out.push(
      `<text${attrs({ class: 'title', x: mid, y: 14 + font.title * 0.8, 'text-anchor': 'middle', 'font-size': font.title, fill: '#111111' })}>` +
        `${esc(truncateText(chart.title, font.title, W - 20))}</text>`
    )
  if (chart.xLabel !== '')
    out.push(
      `<text${attrs({ class: 'x-label', x: mid, y: H - 10 - font.label * 0.2, 'text-anchor': 'middle', 'font-size': font.label, fill: '#111111' })}>` +
        `${esc(chart.xLabel)}</text>`
    )
  if (chart.yLabel !== '') {
    const cx = 10 + font.label * 0.8
    const cy = (y0 + y1) / 2
    out.push(
      `<text${attrs({ class: 'y-label', x: cx, y: cy, transform: `rotate(-90 ${n(cx)} ${n(cy)})`, 'text-anchor': 'middle', 'font-size': font.label, fill: '#111111' })}>` +
        `${esc(chart.yLabel)}</text>`
    )
  }

  // Legend.
  if (names.length > 0) {
    const lx = x1 + 14
    out.push(`<g${attrs({ class: 'legend', 'font-size': font.legend, fill: '#111111' })}>`)
    chart.series.forEach((s, i) => {
      const { colour, dash } = styles[i]
      const cy = y0 + 8 + i * 20
      const banded = s.points.some(
        (p) => p.lo !== undefined && p.hi !== undefined && Number.isFinite(p.lo) && Number.isFinite(p.hi)
      )
      out.push(`<g${attrs({ class: 'legend-entry', 'data-name': s.name })}>`)
      if (banded)
        out.push(`<rect${attrs({ x: lx, y: cy - 6, width: 26, height: 12, fill: colour })} fill-opacity="0.18"/>`)
      out.push(
        `<line${attrs({ x1: lx, y1: cy, x2: lx + 26, y2: cy, stroke: colour, 'stroke-dasharray': dashArray[dash] })} stroke-width="2" stroke-linecap="round"/>`
      )
      out.push(`<text${attrs({ x: lx + 32, y: cy + font.legend * 0.35 })}>${esc(names[i])}</text></g>`)
    })
    out.push('</g>')
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}
