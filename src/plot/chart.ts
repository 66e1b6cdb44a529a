/**
 * The chart model: plain, readonly data that a renderer turns into SVG. Nothing here draws.
 *
 * @example
 * import { lineChart } from './chart.js'
 * const chart = lineChart({
 *   title: 'point2d',
 *   xLabel: 'iteration',
 *   yLabel: 'return',
 *   series: [{ name: 'tmaml', points: [{ x: 0, y: -40, lo: -45, hi: -35 }, { x: 1, y: -30 }] }]
 * })
 *
 * @packageDocumentation
 */

/** An axis mapping: linear, or base-10 logarithmic (non-positive values are then missing). */
export type Scale = 'linear' | 'log'

/**
 * One point of a series. A non-finite `x` or `y` (NaN, ±Infinity) is a missing point: the line breaks
 * there. `lo` and `hi` bound the shaded band; the band breaks where either is missing.
 */
export interface Point {
  readonly x: number
  readonly y: number
  readonly lo?: number
  readonly hi?: number
}

/** How a series' line is stroked. */
export type Dash = 'solid' | 'dashed' | 'dotted'

/**
 * A named line, its points in drawing order (normally increasing `x`). `colour` (any SVG colour)
 * defaults to the palette entry at the series' index; `dash` defaults to solid.
 */
export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<Point>
  readonly colour?: string
  readonly dash?: Dash
}

/** A line chart: title, axis labels and scales, and the series in legend order. */
export interface LineChart {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly xScale: Scale
  /** Defaults to linear. */
  readonly yScale?: Scale
  readonly series: ReadonlyArray<Series>
}

/**
 * A `LineChart` with a linear x scale unless one is given.
 *
 * @category constructors
 */
export const lineChart = (c: Omit<LineChart, 'xScale'> & { readonly xScale?: Scale }): LineChart => ({
  ...c,
  xScale: c.xScale ?? 'linear'
})

/**
 * True when `v` is drawable on `scale` (finite, and positive on a log scale).
 *
 * @category refinements
 */
export const isDrawable = (v: number | undefined, scale: Scale): v is number =>
  v !== undefined && Number.isFinite(v) && (scale === 'linear' || v > 0)
