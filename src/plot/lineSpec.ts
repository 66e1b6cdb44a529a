/**
 * `lineChartSpec`: a `LineChart` as a vega-lite specification, the one description of a chart that
 * both the static figures (rendered headless by vega, then resvg: `renderSvg`, `renderPng`) and the
 * `tmaml view` page (rendered by vega in the browser) draw.
 *
 * @example
 * import { lineChartSpec } from './lineSpec.js'
 * const spec = lineChartSpec(chart, { width: 720, height: 440 }) // a plain JSON-safe object
 *
 * @packageDocumentation
 */
import type { TopLevelSpec } from 'vega-lite'
import { type Dash, type LineChart, type Point, type Scale, isDrawable } from './chart.js'
import { seriesStyle } from './palette.js'

/** Size of the whole drawing (plot, axes, legend and title), in CSS px. */
export interface SpecSize {
  readonly width?: number
  readonly height?: number
}

/** Default drawing size. */
export const defaultSvgSize = { width: 720, height: 440 } as const

/** The font-family every text element uses; the PNG renderer maps it to the bundled DejaVu Sans. */
export const fontFamily = 'DejaVu Sans'

/** A vega-lite specification (JSON-safe). */
export type ChartSpec = TopLevelSpec

/** One row of a line chart's data: a point of one series; null where the point is missing. */
export interface ChartRow {
  readonly series: string
  /** Position in the series, so the line is drawn in the series' order, not sorted by x. */
  readonly order: number
  readonly x: number | null
  readonly y: number | null
  readonly lo: number | null
  readonly hi: number | null
  /** Drawn as a dot: a point whose neighbours are both missing would otherwise be invisible. */
  readonly isolated: boolean
}

const dashArray: Readonly<Record<Dash, ReadonlyArray<number>>> = {
  solid: [1, 0],
  dashed: [7, 4],
  dotted: [1.5, 3.5]
}

/** Names made unique (a vega scale's domain is a set): a repeated name gets ` (2)`, ` (3)` ... */
const uniqueNames = (names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const seen = new Map<string, number>()
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1
    seen.set(n, k)
    return k === 1 ? n : `${n} (${k})`
  })
}

/**
 * The rows of `chart`'s data. Values that cannot be drawn on their scale (non-finite; non-positive on
 * a log scale) become null, which breaks the line or band there. On a log y scale a band's
 * non-positive `lo` is drawn down to the smallest positive value of the chart.
 *
 * @category data
 */
export const chartRows = (chart: LineChart): ReadonlyArray<ChartRow> => {
  const yScale: Scale = chart.yScale ?? 'linear'
  const names = uniqueNames(chart.series.map((s) => s.name))
  const positive = chart.series
    .flatMap((s) => s.points.flatMap((p) => [p.y, p.lo, p.hi]))
    .filter((v) => isDrawable(v, 'log'))
  const floor = positive.length > 0 ? Math.min(...positive) : NaN
  const y = (v: number | undefined): number | null => (isDrawable(v, yScale) ? v : null)
  return chart.series.flatMap((s, si) => {
    const drawn = s.points.map((p: Point) => isDrawable(p.x, chart.xScale) && isDrawable(p.y, yScale))
    return s.points.map((p, j) => {
      const x = isDrawable(p.x, chart.xScale) ? p.x : null
      const banded = x !== null && p.lo !== undefined && Number.isFinite(p.lo) && isDrawable(p.hi, yScale)
      const lo = !banded ? null : yScale === 'log' && (p.lo ?? 0) <= 0 ? floor : (p.lo ?? null)
      return {
        series: names[si],
        order: j,
        x,
        y: x === null ? null : y(p.y),
        lo: banded && lo !== null && Number.isFinite(lo) ? lo : null,
        hi: banded ? (p.hi ?? null) : null,
        isolated: drawn[j] && !(drawn[j - 1] ?? false) && !(drawn[j + 1] ?? false)
      }
    })
  })
}

/**
 * Labelled ticks of a log axis covering `[lo, hi]` (both > 0): 1-2-5 steps when the data span at most
 * three decades, else powers of ten; the first and last tick bound the axis' domain. (vega's own log
 * ticks label and grid every integer multiple, which buries the data under lines.)
 *
 * @category data
 */
export const logTicks = (lo: number, hi: number): ReadonlyArray<number> => {
  if (!(lo > 0 && hi >= lo && Number.isFinite(hi))) return []
  const d0 = Math.floor(Math.log10(lo) + 1e-9)
  const d1 = Math.ceil(Math.log10(hi) - 1e-9)
  const steps = d1 - d0 <= 3 ? [1, 2, 5] : [1]
  const all: number[] = []
  for (let d = d0; d <= d1; d++) for (const m of steps) all.push(Number((m * 10 ** d).toPrecision(12)))
  const first = [...all].reverse().find((v) => v <= lo * (1 + 1e-9)) ?? all[0]
  const last = all.find((v) => v >= hi * (1 - 1e-9)) ?? all[all.length - 1]
  return all.filter((v) => v >= first && v <= last)
}

// 0.001 ... 1000 written out, smaller or larger as 1e-4, 1e8.
const logLabel =
  "abs(log(datum.value) / LN10) >= 3.99 ? replace(format(datum.value, '.0e'), 'e+', 'e') : format(datum.value, '~g')"

const axisStyle = {
  labelFontSize: 11,
  titleFontSize: 13,
  titleFontWeight: 'normal',
  titleColor: '#111111',
  labelColor: '#333333',
  domainColor: '#333333',
  tickColor: '#333333',
  gridColor: '#dddddd',
  labelFlush: false
} as const

/** The visual settings every chart of the project shares (fonts, colours, no frame). */
export const chartConfig = {
  font: fontFamily,
  aria: false,
  background: '#ffffff',
  view: { stroke: null },
  title: { fontSize: 16, fontWeight: 'normal', color: '#111111', anchor: 'middle', offset: 12 },
  axis: axisStyle,
  legend: { labelFontSize: 12, labelColor: '#111111', titleFontSize: 12, titleFontWeight: 'normal', labelLimit: 0 }
} as const

/**
 * The vega-lite spec of a line chart: one colour and dash per series (from the series, else the
 * palette), a shaded band from `lo` to `hi` under each line, missing points breaking lines and bands,
 * isolated points as dots, a legend on the right in series order, "nice" ticks (powers of ten on a
 * log scale). The data are inline, so the spec is self-contained; the whole drawing is
 * `width` x `height` px.
 *
 * @category specs
 */
/** The legend of colour and of dash (both encode the series): identical, so that vega-lite draws them as one. */
const strokeLegend = {
  title: null,
  symbolType: 'stroke',
  symbolStrokeWidth: 2,
  symbolSize: 400,
  symbolOpacity: 1,
  orient: 'right'
} as const

export const lineChartSpec = (chart: LineChart, size: SpecSize = {}): ChartSpec => {
  const width = Math.max(240, size.width ?? defaultSvgSize.width)
  const height = Math.max(160, size.height ?? defaultSvgSize.height)
  const yScale: Scale = chart.yScale ?? 'linear'
  const rows = chartRows(chart)
  const names = uniqueNames(chart.series.map((s) => s.name))
  const styles = chart.series.map((s, i) => ({
    colour: s.colour ?? seriesStyle(i).colour,
    dash: dashArray[s.dash ?? seriesStyle(i).dash]
  }))
  const common = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 10,
    config: chartConfig,
    ...(chart.title === '' ? {} : { title: chart.title })
  } as const
  if (!rows.some((r) => r.x !== null && r.y !== null))
    return {
      ...common,
      data: { values: [{ text: 'no data' }] },
      mark: { type: 'text', fontSize: 13, color: '#777777' },
      encoding: { text: { field: 'text', type: 'nominal' } }
    } as ChartSpec
  // Ticks: about one per 130 px across and 60 px up, in 1/2/5 steps; the domain is niced to the same
  // count so that it ends on a labelled tick (vega's default, 10, would make it end between two).
  const xTicks = Math.max(2, Math.round(width / 130))
  const yTicks = Math.max(2, Math.round(height / 60))
  const extent = (vs: ReadonlyArray<number | null>): ReadonlyArray<number> => {
    const finite = vs.filter((v): v is number => v !== null)
    return finite.length === 0 ? [1, 10] : [Math.min(...finite), Math.max(...finite)]
  }
  const ticksOn = (s: Scale, vs: ReadonlyArray<number | null>): ReadonlyArray<number> =>
    s === 'log' ? logTicks(...(extent(vs) as [number, number])) : []
  const xLog = ticksOn(
    chart.xScale,
    rows.map((r) => r.x)
  )
  const yLog = ticksOn(
    yScale,
    rows.flatMap((r) => [r.y, r.lo, r.hi])
  )
  const scaleOf = (s: Scale, ticks: number, log: ReadonlyArray<number>) =>
    s === 'log' ? { type: 'log', domain: [log[0], log[log.length - 1]] } : { zero: false, nice: ticks }
  const axisOf = (s: Scale, ticks: number, log: ReadonlyArray<number>) =>
    s === 'log' ? { values: log, labelExpr: logLabel } : { tickCount: ticks }
  const x = {
    field: 'x',
    type: 'quantitative',
    title: chart.xLabel,
    scale: scaleOf(chart.xScale, xTicks, xLog),
    axis: axisOf(chart.xScale, xTicks, xLog)
  }
  const colour = {
    field: 'series',
    type: 'nominal',
    scale: { domain: names, range: styles.map((s) => s.colour) }
  }
  const spec = {
    ...common,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'area', fillOpacity: 0.18 },
        encoding: {
          x,
          y: { field: 'lo', type: 'quantitative', scale: scaleOf(yScale, yTicks, yLog) },
          y2: { field: 'hi' },
          color: colour
        }
      },
      {
        mark: { type: 'line', strokeWidth: 2, strokeJoin: 'round', strokeCap: 'round' },
        encoding: {
          x,
          y: {
            field: 'y',
            type: 'quantitative',
            title: chart.yLabel,
            scale: scaleOf(yScale, yTicks, yLog),
            axis: axisOf(yScale, yTicks, yLog)
          },
          color: {
            ...colour,
            legend: strokeLegend
          },
          strokeDash: {
            field: 'series',
            type: 'nominal',
            scale: { domain: names, range: styles.map((s) => s.dash) },
            legend: strokeLegend
          },
          order: { field: 'order' }
        }
      },
      {
        transform: [{ filter: 'datum.isolated' }],
        mark: { type: 'circle', size: 30, opacity: 1 },
        encoding: {
          x,
          y: { field: 'y', type: 'quantitative' },
          color: colour
        }
      }
    ]
  }
  return spec as unknown as ChartSpec
}
