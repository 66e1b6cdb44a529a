/**
 * Summaries over repeated measurements (seeds, draws): mean, sample standard deviation and count per
 * (group, x), and their conversion to chart series with error bands. For learning curves and the
 * paper's figures (correlation vs sample size, variance vs iteration).
 *
 * @example
 * import { aggregate, toSeries } from './aggregate.js'
 * const agg = aggregate([
 *   { group: 'tmaml', x: 10, y: 0.5 },
 *   { group: 'tmaml', x: 10, y: 0.7 }
 * ]) // [{ group: 'tmaml', points: [{ x: 10, mean: 0.6, std: 0.1414, n: 2 }] }]
 * const series = toSeries(agg, { band: 'sem' })
 *
 * @packageDocumentation
 */
import type { Series } from './chart.js'

/** One measurement: `y` observed at `x` in `group`. */
export interface GroupedPoint {
  readonly group: string
  readonly x: number
  readonly y: number
}

/**
 * The summary of the finite `y`s at one x: `n` of them, their mean, and their sample standard deviation
 * (divisor n − 1). `std` is NaN when n < 2 and `mean` is NaN when n = 0.
 */
export interface Summary {
  readonly x: number
  readonly mean: number
  readonly std: number
  readonly n: number
}

/** A group's summaries in increasing x. */
export interface AggregatedSeries {
  readonly group: string
  readonly points: ReadonlyArray<Summary>
}

/**
 * Mean, sample standard deviation (n − 1) and count of the finite values of `ys` (two-pass, so large
 * offsets do not cancel).
 *
 * @category utils
 */
export const meanStd = (
  ys: ReadonlyArray<number>
): { readonly mean: number; readonly std: number; readonly n: number } => {
  const finite = ys.filter(Number.isFinite)
  const n = finite.length
  if (n === 0) return { mean: NaN, std: NaN, n: 0 }
  const mean = finite.reduce((a, b) => a + b, 0) / n
  if (n === 1) return { mean, std: NaN, n }
  const ss = finite.reduce((a, y) => a + (y - mean) * (y - mean), 0)
  return { mean, std: Math.sqrt(ss / (n - 1)), n }
}

/**
 * Group `points` by `group` (in order of first appearance) and, within a group, by exact `x`
 * (increasing); summarise each cell's finite `y`s. Points with a non-finite `x` are dropped; a cell
 * whose `y`s are all non-finite keeps its x with n = 0 (a gap in a line).
 *
 * @category aggregation
 */
export const aggregate = (points: ReadonlyArray<GroupedPoint>): ReadonlyArray<AggregatedSeries> => {
  const groups = new Map<string, Map<number, number[]>>()
  for (const p of points) {
    if (!Number.isFinite(p.x)) continue
    let byX = groups.get(p.group)
    if (byX === undefined) {
      byX = new Map()
      groups.set(p.group, byX)
    }
    const x = p.x === 0 ? 0 : p.x // -0 and 0 are one cell
    const ys = byX.get(x)
    if (ys === undefined) byX.set(x, [p.y])
    else ys.push(p.y)
  }
  return [...groups].map(([group, byX]) => ({
    group,
    points: [...byX.keys()].sort((a, b) => a - b).map((x) => ({ x, ...meanStd(byX.get(x) ?? []) }))
  }))
}

/** Which error band `toSeries` draws: ± k standard deviations, ± k standard errors, or none. */
export type Band = 'std' | 'sem' | 'none'

/**
 * Chart series from aggregated groups: the line is the mean, the band mean ± k·std (or k·std/√n for
 * `'sem'`) where n ≥ 2. Series are named after their groups.
 *
 * @category aggregation
 */
export const toSeries = (
  aggregated: ReadonlyArray<AggregatedSeries>,
  options: { readonly band?: Band; readonly k?: number } = {}
): ReadonlyArray<Series> => {
  const band = options.band ?? 'std'
  const k = options.k ?? 1
  return aggregated.map((a) => ({
    name: a.group,
    points: a.points.map((p) => {
      if (band === 'none' || !(p.n >= 2)) return { x: p.x, y: p.mean }
      const half = k * (band === 'sem' ? p.std / Math.sqrt(p.n) : p.std)
      return { x: p.x, y: p.mean, lo: p.mean - half, hi: p.mean + half }
    })
  }))
}
