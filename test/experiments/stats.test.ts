// The statistics of the experiments against hand-computed values.
import { describe, expect, it } from 'vitest'
import * as _ from '../../src/experiments/stats.js'
import { finalValue, movingAverage } from '../../src/experiments/compare.js'
import { formatDuration } from '../../src/experiments/progress.js'
import { parseMethods } from '../../src/experiments/metaGradients.js'
import { linearControlVariate } from '../../src/pipelines/controlVariates/linearFeature.js'
import { metaControlVariate } from '../../src/pipelines/controlVariates/metaValue.js'
import * as E from 'fp-ts/lib/Either.js'

describe('experiments/stats', () => {
  describe('pearson', () => {
    it('matches the hand-computed value', () => {
      // dx = (-1, 0, 1), dy = (-7/3, -1/3, 8/3): sxy = 5, sxx = 2, syy = 38/3 -> 5 / sqrt(76/3)
      expect(_.pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(5 / Math.sqrt(76 / 3), 12)
      expect(_.pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(0.993399, 5)
    })
    it('is 1 and -1 for exact linear relations, and ignores scale and offset', () => {
      expect(_.pearson([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12)
      expect(_.pearson([1, 2, 3, 4], [5, 3, 1, -1])).toBeCloseTo(-1, 12)
      expect(_.pearson([0.1, -0.3, 2], [1.1, 0.7, 3])).toBeCloseTo(1, 12)
    })
    it('is NaN when a vector is constant or too short', () => {
      expect(_.pearson([1, 1, 1], [1, 2, 3])).toBeNaN()
      expect(_.pearson([1], [2])).toBeNaN()
    })
    it('throws on vectors of different lengths (a bug)', () => {
      expect(() => _.pearson([1, 2], [1, 2, 3])).toThrow(RangeError)
    })
  })

  describe('perCoordinateVariance', () => {
    it('averages the sample variances (divisor K - 1) of the coordinates', () => {
      // coordinate 0: (1, 3) -> 2; coordinate 1: (0, 4) -> 8; mean 5
      expect(
        _.perCoordinateVariance([
          [1, 0],
          [3, 4]
        ])
      ).toBeCloseTo(5, 12)
      // coordinate 0: (1, 2, 3) -> 1; coordinate 1: (2, 4, 9), mean 5, squares 9 + 1 + 16 = 26 -> 13; mean 7
      expect(
        _.perCoordinateVariance([
          [1, 2],
          [2, 4],
          [3, 9]
        ])
      ).toBeCloseTo(7, 12)
    })
    it('is 0 for identical draws and needs two of them', () => {
      expect(
        _.perCoordinateVariance([
          [1, 2],
          [1, 2]
        ])
      ).toBe(0)
      expect(() => _.perCoordinateVariance([[1, 2]])).toThrow(RangeError)
    })
    it('equals E||g - mean||^2 / d', () => {
      const draws = [
        [1, 5, -2],
        [0, 1, 2],
        [4, 4, 4],
        [2, -1, 0]
      ]
      const m = _.meanVector(draws)
      const ss = draws.reduce((a, g) => a + g.reduce((b, x, i) => b + (x - m[i]) ** 2, 0), 0)
      expect(_.perCoordinateVariance(draws)).toBeCloseTo(ss / (draws.length - 1) / 3, 12)
    })
  })

  describe('meanVector, norm, cosine', () => {
    it('computes coordinate means, the Euclidean norm and the cosine', () => {
      expect([
        ..._.meanVector([
          [1, 0],
          [3, 4]
        ])
      ]).toEqual([2, 2])
      expect(_.norm([3, 4])).toBe(5)
      expect(_.cosine([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12)
    })
  })

  describe('summariseDraws', () => {
    it('reports variance, norm of the mean, relative bias and its noise level', () => {
      // draws (1, 0), (3, 4): mean (2, 2), variances (2, 8); reference (2, 1), norm sqrt 5
      const s = _.summariseDraws(
        [
          [1, 0],
          [3, 4]
        ],
        [2, 1]
      )
      expect(s.draws).toBe(2)
      expect(s.variance).toBeCloseTo(5, 12)
      expect(s.meanNorm).toBeCloseTo(Math.sqrt(8), 12)
      expect(s.relativeBias).toBeCloseTo(1 / Math.sqrt(5), 12) // ||(0, 1)|| / sqrt 5
      expect(s.relativeBiasSe).toBeCloseTo(1, 12) // sqrt(2/2 + 8/2) / sqrt 5
      expect(s.meanCorrelation).toBeNaN() // the mean (2, 2) is constant
    })
  })
})

describe('experiments/stats squaredSignal', () => {
  it('subtracts the noise d v / K from the squared norm of the mean', () => {
    // draws (1, 0), (3, 4): ||mean||^2 = 8, v = 5, d = 2, K = 2 -> 8 - 5 = 3
    const s = _.summariseDraws(
      [
        [1, 0],
        [3, 4]
      ],
      [1, 1]
    )
    expect(_.squaredSignal(s.meanNorm, s.variance, 2, 2)).toBeCloseTo(3, 12)
  })
})

describe('experiments/compare utils', () => {
  it('movingAverage averages the previous w values, fewer at the start, skipping NaN', () => {
    expect(movingAverage([1, 2, 3, 4], 2)).toEqual([1, 1.5, 2.5, 3.5])
    expect(movingAverage([1, NaN, 3], 3)).toEqual([1, 1, 2])
  })
  it('finalValue is the mean of the last k finite values', () => {
    expect(finalValue([1, 2, NaN, 4], 2)).toBe(3)
    expect(finalValue([], 3)).toBeNaN()
  })
})

describe('experiments/progress', () => {
  it('formatDuration', () => {
    expect(formatDuration(12.4)).toBe('12s')
    expect(formatDuration(250)).toBe('4m10s')
    expect(formatDuration(3720)).toBe('1h02m')
    expect(formatDuration(119.6)).toBe('2m00s')
    expect(formatDuration(7179)).toBe('2h00m')
    expect(formatDuration(NaN)).toBe('?')
  })
})

describe('experiments/metaGradients parseMethods', () => {
  const byFamily = (name: string) => (name.startsWith('tmaml') ? metaControlVariate : linearControlVariate)
  it('reads name[:cv], labels explicit control variates and fills in the default', () => {
    const r = parseMethods('tmaml, maml:none', byFamily)
    expect(E.isRight(r) && r.right.map((m) => [m.label, m.estimator.name, m.cv.name])).toEqual([
      ['tmaml', 'tmaml', 'meta'],
      ['maml:none', 'maml', 'none']
    ])
  })
  it("reads a hyphenated control variate ('action-dependent'), and names a bad entry", () => {
    const r = parseMethods('tmaml:action-dependent', byFamily)
    expect(E.isRight(r) && r.right[0]?.cv.name).toBe('action-dependent')
    expect(E.isLeft(parseMethods('tmaml:bogus', byFamily))).toBe(true)
    const bad = parseMethods('tmaml,nope', byFamily)
    expect(E.isLeft(bad) && bad.left).toMatch(/unknown estimator 'nope'/)
    expect(E.isLeft(parseMethods('dice,dice', byFamily))).toBe(true)
  })
})
