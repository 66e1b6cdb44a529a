import { describe, expect, it } from 'vitest'
import * as _ from '../../src/plot/aggregate.js'

describe('plot/aggregate', () => {
  describe('meanStd', () => {
    it('computes the mean and the n-1 standard deviation of the finite values', () => {
      const r = _.meanStd([1, 2, 3, 4, NaN])
      expect(r.n).toBe(4)
      expect(r.mean).toBeCloseTo(2.5, 12)
      expect(r.std).toBeCloseTo(Math.sqrt(5 / 3), 12) // squares 2.25+0.25+0.25+2.25 = 5, over 3
    })

    it('does not lose precision to a large offset', () => {
      expect(_.meanStd([1e9 + 1, 1e9 + 2, 1e9 + 3]).std).toBeCloseTo(1, 9)
    })

    it('has std NaN for one value and mean NaN for none', () => {
      expect(_.meanStd([7])).toEqual({ mean: 7, std: NaN, n: 1 })
      expect(_.meanStd([NaN])).toEqual({ mean: NaN, std: NaN, n: 0 })
    })
  })

  describe('aggregate', () => {
    const points: _.GroupedPoint[] = [
      { group: 'b', x: 2, y: 10 },
      { group: 'a', x: 2, y: 4 },
      { group: 'a', x: 1, y: 1 },
      { group: 'a', x: 1, y: 3 },
      { group: 'a', x: 2, y: 8 },
      { group: 'b', x: 2, y: 14 },
      { group: 'b', x: 3, y: NaN },
      { group: 'b', x: NaN, y: 1 }
    ]

    it('summarises each (group, x) with groups in first-appearance order and x increasing', () => {
      const r = _.aggregate(points)
      expect(r.map((g) => g.group)).toEqual(['b', 'a'])
      const a = r[1].points
      expect(a.map((p) => p.x)).toEqual([1, 2])
      expect(a[0]).toEqual({ x: 1, mean: 2, std: Math.SQRT2, n: 2 }) // (1-2)² + (3-2)² = 2, /1
      expect(a[1].mean).toBe(6)
      expect(a[1].std).toBeCloseTo(2 * Math.SQRT2, 12) // 4 + 4 = 8, /1
    })

    it('keeps an x whose ys are all missing as a gap, and drops non-finite x', () => {
      const b = _.aggregate(points)[0].points
      expect(b.map((p) => p.x)).toEqual([2, 3])
      expect(b[0]).toEqual({ x: 2, mean: 12, std: 2 * Math.SQRT2, n: 2 })
      expect(b[1]).toEqual({ x: 3, mean: NaN, std: NaN, n: 0 })
    })
  })

  describe('toSeries', () => {
    const agg = _.aggregate([
      { group: 'g', x: 1, y: 1 },
      { group: 'g', x: 1, y: 3 },
      { group: 'g', x: 2, y: 5 }
    ])

    it('bands mean ± std where n >= 2 and not elsewhere', () => {
      const [s] = _.toSeries(agg)
      expect(s.name).toBe('g')
      expect(s.points[0]).toEqual({ x: 1, y: 2, lo: 2 - Math.SQRT2, hi: 2 + Math.SQRT2 })
      expect(s.points[1]).toEqual({ x: 2, y: 5 })
    })

    it('bands k standard errors with sem, nothing with none', () => {
      const [s] = _.toSeries(agg, { band: 'sem', k: 2 })
      expect(s.points[0].hi).toBeCloseTo(2 + (2 * Math.SQRT2) / Math.SQRT2, 12)
      expect(_.toSeries(agg, { band: 'none' })[0].points[0]).toEqual({ x: 1, y: 2 })
    })
  })
})
