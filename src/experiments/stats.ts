/**
 * The statistics of the experiments, on plain vectors (a meta-gradient flattened in `flatten`'s key
 * order): Pearson correlation with a reference vector (paper Fig. 4), the average per-coordinate
 * variance of repeated draws and the norm of their mean (paper Fig. 2), and summaries of a set of
 * draws against a reference (bias and its standard error).
 *
 * Pure functions; double precision throughout, two-pass sums.
 *
 * @example
 * import { pearson, perCoordinateVariance } from './stats.js'
 * pearson([1, 2, 3], [2, 4, 7]) // 0.9934
 * perCoordinateVariance([[1, 0], [3, 4]]) // (2 + 8) / 2 = 5
 *
 * @packageDocumentation
 */

/** A vector of numbers (a flattened gradient). */
export type Vector = ArrayLike<number>

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

const checkSameLength = (where: string, a: Vector, b: Vector): void => {
  if (a.length !== b.length) throw new RangeError(`${where}: vectors of lengths ${a.length} and ${b.length}`)
}

const checkDraws = (where: string, draws: ReadonlyArray<Vector>, min: number): number => {
  if (draws.length < min) throw new RangeError(`${where}: needs at least ${min} draws, got ${draws.length}`)
  const d = draws[0].length
  draws.forEach((x, i) => {
    if (x.length !== d) throw new RangeError(`${where}: draw ${i} has length ${x.length}, draw 0 has ${d}`)
  })
  return d
}

/** Arithmetic mean of a vector's entries (NaN when empty). @category utils */
export const mean = (x: Vector): number => {
  if (x.length === 0) return NaN
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]
  return s / x.length
}

/** Euclidean norm. @category utils */
export const norm = (x: Vector): number => {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i] * x[i]
  return Math.sqrt(s)
}

/**
 * Pearson correlation of the entries of `x` and `y` (paired by index):
 * sum (x - mean x)(y - mean y) / sqrt(sum (x - mean x)^2 sum (y - mean y)^2).
 * NaN when either vector is constant or they have fewer than 2 entries.
 *
 * @category statistics
 */
export const pearson = (x: Vector, y: Vector): number => {
  checkSameLength('pearson', x, y)
  if (x.length < 2) return NaN
  const mx = mean(x)
  const my = mean(y)
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < x.length; i++) {
    const dx = x[i] - mx
    const dy = y[i] - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN
}

/** Cosine of the angle between `x` and `y` (NaN if either is zero). @category statistics */
export const cosine = (x: Vector, y: Vector): number => {
  checkSameLength('cosine', x, y)
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i] * y[i]
  const n = norm(x) * norm(y)
  return n > 0 ? s / n : NaN
}

/** The coordinate-wise mean of draws (each a vector of the same length). @category statistics */
export const meanVector = (draws: ReadonlyArray<Vector>): Float64Array => {
  const d = checkDraws('meanVector', draws, 1)
  const out = new Float64Array(d)
  for (const x of draws) for (let i = 0; i < d; i++) out[i] += x[i]
  for (let i = 0; i < d; i++) out[i] /= draws.length
  return out
}

/**
 * The coordinate-wise sample variance of draws (divisor K - 1), a vector.
 *
 * @category statistics
 */
export const coordinateVariances = (draws: ReadonlyArray<Vector>): Float64Array => {
  const d = checkDraws('coordinateVariances', draws, 2)
  const m = meanVector(draws)
  const out = new Float64Array(d)
  for (const x of draws)
    for (let i = 0; i < d; i++) {
      const e = x[i] - m[i]
      out[i] += e * e
    }
  for (let i = 0; i < d; i++) out[i] /= draws.length - 1
  return out
}

/**
 * The paper's "average variance of gradients" (Fig. 2, left): for each coordinate the sample variance
 * over the K draws (divisor K - 1), averaged over coordinates. Equals E||g - E g||^2 / d.
 *
 * @category statistics
 */
export const perCoordinateVariance = (draws: ReadonlyArray<Vector>): number => mean(coordinateVariances(draws))

/** What a set of K draws of an estimate says about a reference vector. */
export interface DrawSummary {
  readonly draws: number
  /** Average per-coordinate variance of one draw. */
  readonly variance: number
  /** Norm of the mean of the draws. */
  readonly meanNorm: number
  /** ||mean - reference|| / ||reference||. */
  readonly relativeBias: number
  /** The standard error of the mean, as a relative norm: sqrt(sum_i var_i / K) / ||reference||. */
  readonly relativeBiasSe: number
  /** Pearson correlation of the mean of the draws with the reference. */
  readonly meanCorrelation: number
}

/**
 * Summarise draws against a reference: variance, norm of the mean, and the relative distance of the
 * mean from the reference with the noise level it would have if the draws were unbiased (a relative
 * bias several times `relativeBiasSe` is a bias, not noise).
 *
 * @category statistics
 */
export const summariseDraws = (draws: ReadonlyArray<Vector>, reference: Vector): DrawSummary => {
  const d = checkDraws('summariseDraws', draws, 2)
  checkSameLength('summariseDraws', draws[0], reference)
  const m = meanVector(draws)
  const v = coordinateVariances(draws)
  const r = norm(reference)
  let err = 0
  let se2 = 0
  for (let i = 0; i < d; i++) {
    err += (m[i] - reference[i]) ** 2
    se2 += v[i] / draws.length
  }
  return {
    draws: draws.length,
    variance: mean(v),
    meanNorm: norm(m),
    relativeBias: Math.sqrt(err) / r,
    relativeBiasSe: Math.sqrt(se2) / r,
    meanCorrelation: pearson(m, reference)
  }
}

/**
 * An unbiased estimate of ||E g||^2 from K draws of a d-dimensional g, given the norm of their mean
 * and their average per-coordinate variance v: E||mean||^2 = ||E g||^2 + d v / K, so subtract the
 * noise term. Negative values mean the mean is indistinguishable from noise.
 *
 * @category statistics
 */
export const squaredSignal = (meanNorm: number, variance: number, dim: number, draws: number): number =>
  meanNorm * meanNorm - (dim * variance) / draws
