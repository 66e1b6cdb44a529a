import { describe, expect, it } from 'vitest'
import * as _ from '../../src/plot/axis.js'

describe('plot/axis', () => {
  describe('niceStep', () => {
    it('picks 1, 2 or 5 times a power of ten', () => {
      expect(_.niceStep(100, 5)).toBe(20)
      expect(_.niceStep(1, 6)).toBe(0.2)
      expect(_.niceStep(7, 6)).toBe(1)
      expect(_.niceStep(3e6, 6)).toBe(5e5)
    })
  })

  describe('linearAxis', () => {
    it('widens the domain to whole steps and labels ticks with the step decimals', () => {
      const a = _.linearAxis(0.13, 0.87)
      expect(a.domain).toEqual([0.1, 0.9])
      expect(a.ticks.map((t) => t.label)).toEqual(['0.1', '0.2', '0.3', '0.4', '0.5', '0.6', '0.7', '0.8', '0.9'])
    })

    it('pads a degenerate range and uses a default for no data', () => {
      expect(_.linearAxis(5, 5).domain[0]).toBeLessThan(5)
      expect(_.linearAxis(5, 5).domain[1]).toBeGreaterThan(5)
      expect(_.linearAxis(Infinity, -Infinity).domain).toEqual([0, 1])
    })

    it('labels large values with k/M suffixes and never prints -0', () => {
      expect(_.linearAxis(0, 1e6).ticks.map((t) => t.label)).toEqual(['0', '0.2M', '0.4M', '0.6M', '0.8M', '1M'])
      expect(_.linearAxis(-1, 1).ticks.map((t) => t.label)).toContain('0.0')
      expect(_.linearAxis(-1, 1).ticks.map((t) => t.label)).not.toContain('-0.0')
    })
  })

  describe('logAxis', () => {
    it('labels powers of ten over whole decades, with minor gridlines between', () => {
      const a = _.logAxis(3, 4000)
      expect(a.domain).toEqual([1, 10000])
      expect(a.ticks.map((t) => t.value)).toEqual([1, 10, 100, 1000, 10000])
      expect(a.ticks.map((t) => t.label)).toEqual(['1', '10', '100', '1000', '10000'])
      expect(a.minor).toContain(20)
      expect(a.minor).toContain(9000)
    })

    it('also labels 2 and 5 over at most two decades, and uses exponents far from 1', () => {
      expect(_.logAxis(10, 1000).ticks.map((t) => t.value)).toEqual([10, 20, 50, 100, 200, 500, 1000])
      expect(_.logAxis(1e-6, 1e-2).ticks.map((t) => t.label)).toEqual(['1e-6', '1e-5', '1e-4', '0.001', '0.01'])
    })
  })

  describe('project', () => {
    it('maps linearly, or linearly in log10 on a log axis', () => {
      expect(_.project(_.linearAxis(0, 10), 5, 100, 200)).toBeCloseTo(150, 6)
      expect(_.project(_.logAxis(1, 100), 10, 0, 300)).toBeCloseTo(150, 6)
    })
  })
})
