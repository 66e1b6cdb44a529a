import { describe, expect, it } from 'vitest'
import * as _ from '../../src/plot/renderTable.js'

describe('plot/renderTable', () => {
  describe('renderTable', () => {
    it('renders padded Markdown with numeric columns right-aligned', () => {
      const md = _.renderTable([
        { method: 'tmaml', ant: 513, humanoid: 557.25 },
        { method: 'dice | fo', ant: 281.5, humanoid: null }
      ])
      expect(md).toBe(
        [
          '| method     |   ant | humanoid |',
          '| ---------- | ----: | -------: |',
          '| tmaml      |   513 |    557.3 |',
          '| dice \\| fo | 281.5 |          |',
          ''
        ].join('\n')
      )
    })

    it('uses the given columns, in order', () => {
      expect(_.renderTable([{ a: 'x', b: 'y' }], { columns: ['b'] })).toBe('| b   |\n| --- |\n| y   |\n')
    })
  })

  describe('formatNumber', () => {
    it('keeps integers, rounds to significant digits, and uses exponents far from 1', () => {
      expect(_.formatNumber(42)).toBe('42')
      expect(_.formatNumber(0.123456)).toBe('0.1235')
      expect(_.formatNumber(1.5e-7)).toBe('1.5e-7')
      expect(_.formatNumber(NaN)).toBe('NaN')
    })
  })

  describe('formatMeanStd', () => {
    it('rounds the mean to the precision of the std', () => {
      expect(_.formatMeanStd(513.27, 12.94)).toBe('513 ± 13')
      expect(_.formatMeanStd(0.8123, 0.0456)).toBe('0.812 ± 0.046')
      expect(_.formatMeanStd(5, NaN)).toBe('5')
    })
  })
})
