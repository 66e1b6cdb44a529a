/**
 * The statistics of the unbiasedness checks: per-coordinate Monte-Carlo means, standard errors and
 * z-scores against an exact value, with a Bonferroni-corrected two-sided threshold.
 *
 * @packageDocumentation
 */

/** Mean and (unbiased, n - 1) variance per coordinate of R samples of dimension d, row-major [R, d]. */
export const columnMoments = (
  values: ArrayLike<number>,
  rows: number,
  dim: number
): { mean: Float64Array; variance: Float64Array } => {
  if (values.length !== rows * dim)
    throw new RangeError(`columnMoments: ${values.length} values is not ${rows} x ${dim}`)
  if (rows < 2) throw new RangeError('columnMoments: need at least 2 samples')
  const mean = new Float64Array(dim)
  const m2 = new Float64Array(dim)
  // Welford's update: stable for large R and values with a large common offset.
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < dim; j++) {
      const x = values[r * dim + j]
      const delta = x - mean[j]
      mean[j] += delta / (r + 1)
      m2[j] += delta * (x - mean[j])
    }
  return { mean, variance: m2.map((v) => v / (rows - 1)) }
}

/** z_j = (mean_j - exact_j) / sqrt(variance_j / R). A coordinate with zero variance and zero error has z = 0. */
export const zScores = (
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  exact: ArrayLike<number>,
  rows: number
): Float64Array =>
  Float64Array.from({ length: mean.length }, (_, j) => {
    const err = mean[j] - exact[j]
    const se = Math.sqrt(variance[j] / rows)
    if (se === 0) return Math.abs(err) <= 1e-6 * (1 + Math.abs(exact[j])) ? 0 : Math.sign(err) * Infinity
    return err / se
  })

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, |relative error| < 1.2e-9,
 * refined by one Halley step on erfc). p in (0, 1).
 */
export const normalQuantile = (p: number): number => {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`)
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
    2.506628277459239
  ]
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1]
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783
  ]
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416]
  const lo = 0.02425
  let x: number
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p))
    x =
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
  } else if (p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(1 - p))
    x =
      -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
  } else {
    const q = p - 0.5
    const r = q * q
    x =
      ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  }
  return x
}

/**
 * The two-sided z threshold that keeps the family-wise false-alarm rate at `alpha` over `tests`
 * coordinates (Bonferroni): Phi^-1(1 - alpha / (2 tests)).
 */
export const bonferroniThreshold = (alpha: number, tests: number): number => normalQuantile(1 - alpha / (2 * tests))

/** The largest |z|. */
export const maxAbs = (xs: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]))
  return m
}
