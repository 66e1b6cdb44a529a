/**
 * Axes: a domain with "nice" tick values and labels for linear and base-10 log scales, and the map
 * from data values to pixels. Pure functions of numbers.
 *
 * @packageDocumentation
 */
import type { Scale } from './chart.js'

/** A labelled tick. */
export interface Tick {
  readonly value: number
  readonly label: string
}

/** An axis: its scale, the domain it spans, labelled ticks, and unlabelled minor gridlines. */
export interface Axis {
  readonly scale: Scale
  readonly domain: readonly [number, number]
  readonly ticks: ReadonlyArray<Tick>
  readonly minor: ReadonlyArray<number>
}

// Rounds away binary noise (0.1 * 3 = 0.30000000000000004) and turns -0 into 0.
const clean = (v: number): number => {
  const r = Number(v.toPrecision(12))
  return r === 0 ? 0 : r
}

const trimZeros = (s: string): string => (s.includes('.') ? s.replace(/\.?0+$/, '') : s)

/**
 * The step 1, 2 or 5 × 10^k that splits `span` into about `target` intervals.
 *
 * @category utils
 */
export const niceStep = (span: number, target: number): number => {
  const raw = span / Math.max(1, target)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const norm = raw / mag
  return clean((norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag)
}

/**
 * Labels for evenly spaced linear ticks: fixed decimals from the step; k/M/G suffixes from 10^5 up;
 * exponent notation below 10^-3.
 *
 * @category utils
 */
export const formatLinearTicks = (values: ReadonlyArray<number>, step: number): ReadonlyArray<string> => {
  const maxAbs = Math.max(0, ...values.map(Math.abs))
  if (maxAbs >= 1e5 && maxAbs < 1e15) {
    const [unit, suffix] = maxAbs >= 1e9 ? [1e9, 'G'] : maxAbs >= 1e6 ? [1e6, 'M'] : [1e3, 'k']
    const decimals = Math.max(0, -Math.floor(Math.log10(step / unit) + 1e-9))
    return values.map((v) => (v === 0 ? '0' : trimZeros((v / unit).toFixed(decimals)) + suffix))
  }
  if (maxAbs >= 1e15 || (maxAbs > 0 && maxAbs < 1e-3))
    return values.map((v) => (v === 0 ? '0' : Number(v.toPrecision(3)).toExponential()))
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9))
  return values.map((v) => v.toFixed(decimals))
}

/**
 * A label for a log-axis tick: plain from 0.001 to 10000, else `1e5`, `2e-4`.
 *
 * @category utils
 */
export const formatLogTick = (v: number): string => {
  const exp = Math.floor(Math.log10(v) + 1e-9)
  return exp >= -3 && exp <= 4 ? String(clean(v)) : Number(v.toPrecision(3)).toExponential().replace('e+', 'e')
}

/**
 * A linear axis covering [min, max], widened to whole steps; a degenerate or empty range is padded.
 *
 * @category constructors
 */
export const linearAxis = (min: number, max: number, target = 6): Axis => {
  let a = Number.isFinite(min) ? min : 0
  let b = Number.isFinite(max) ? max : 1
  if (a === b) {
    const pad = Math.abs(a) * 0.1 || 1
    a -= pad
    b += pad
  }
  const step = niceStep(b - a, target)
  const k0 = Math.floor(a / step + 1e-9)
  const k1 = Math.ceil(b / step - 1e-9)
  const values: number[] = []
  for (let k = k0; k <= k1; k++) values.push(clean(k * step))
  const labels = formatLinearTicks(values, step)
  return {
    scale: 'linear',
    domain: [values[0], values[values.length - 1]],
    ticks: values.map((value, i) => ({ value, label: labels[i] })),
    minor: []
  }
}

/**
 * A log axis covering [min, max] (both > 0), widened to whole decades. Labelled ticks are the powers of
 * ten (every n-th one past ten decades); over at most two decades 2× and 5× are labelled too.
 * Unlabelled minor gridlines mark 2..9 × 10^k up to ten decades.
 *
 * @category constructors
 */
export const logAxis = (min: number, max: number): Axis => {
  const a = Number.isFinite(min) && min > 0 ? min : 1
  const b = Number.isFinite(max) && max > 0 ? Math.max(a, max) : Math.max(a, 10)
  const e0 = Math.floor(Math.log10(a) + 1e-9)
  const e1 = Math.max(e0 + 1, Math.ceil(Math.log10(b) - 1e-9))
  const decades = e1 - e0
  const every = decades > 10 ? Math.ceil(decades / 8) : 1
  const ticks: Tick[] = []
  const minor: number[] = []
  for (let e = e0; e <= e1; e++) {
    const p = clean(10 ** e)
    if ((e - e0) % every === 0) ticks.push({ value: p, label: formatLogTick(p) })
    if (e === e1 || decades > 10) continue
    for (let m = 2; m <= 9; m++) {
      const v = clean(m * 10 ** e)
      if (decades <= 2 && (m === 2 || m === 5)) ticks.push({ value: v, label: formatLogTick(v) })
      else minor.push(v)
    }
  }
  return { scale: 'log', domain: [clean(10 ** e0), clean(10 ** e1)], ticks, minor }
}

/**
 * The axis for data values on `scale` (values not drawable on it must be filtered out first).
 *
 * @category constructors
 */
export const axisFor = (values: ReadonlyArray<number>, scale: Scale): Axis => {
  let min = Infinity
  let max = -Infinity
  for (const v of values) {
    if (v < min) min = v
    if (v > max) max = v
  }
  return scale === 'log' ? logAxis(min, max) : linearAxis(min, max)
}

/**
 * The pixel position of `v` on `axis`, for the pixel range [r0, r1] (r1 < r0 for a y axis).
 *
 * @category utils
 */
export const project = (axis: Axis, v: number, r0: number, r1: number): number => {
  const f = axis.scale === 'log' ? Math.log10 : (u: number) => u
  const d0 = f(axis.domain[0])
  const d1 = f(axis.domain[1])
  return r0 + ((f(v) - d0) / (d1 - d0)) * (r1 - r0)
}
