// The native backend's output-array pool (src/native/storage.ts) without the addon: it keeps at most
// the bytes that were ever live at once, within its cap, and recycles by exact length.
import { totalmem } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { NativeBackend, poolOptionsFromEnv } from '../../src/native/storage.js'

const backends: NativeBackend[] = []
afterEach(() => backends.splice(0).forEach((b) => b.dispose()))

const make = (maxBytes = 2 ** 30): NativeBackend => {
  const be = new NativeBackend({ minLength: 1024, maxBytes })
  backends.push(be)
  return be
}

/** A native-kernel output of n float32 elements, registered as a tensor. */
const output = (be: NativeBackend, n: number) => be.adopt([n], 'float32', be.alloc('float32', n))

describe('native/storage', () => {
  describe('poolOptionsFromEnv', () => {
    it('caps the pool at a quarter of physical memory unless TMAML_NATIVE_POOL_MB says otherwise', () => {
      expect(poolOptionsFromEnv({}).maxBytes).toBe(Math.floor(totalmem() / 4))
      expect(poolOptionsFromEnv({ TMAML_NATIVE_POOL_MB: '64' }).maxBytes).toBe(64 * 2 ** 20)
      expect(poolOptionsFromEnv({ TMAML_NATIVE_POOL_MB: '0' }).maxBytes).toBe(0)
    })
  })

  describe('NativeBackend pool', () => {
    it('keeps the whole working set of a computation for the next one, whatever its size', () => {
      const be = make()
      const n = 300_000 // 1.2 MB each: 40 of them are 48 MB
      const first = Array.from({ length: 40 }, () => output(be, n))
      first.forEach((t) => be.disposeData(t.dataId, true))
      expect(be.poolStats()).toMatchObject({ pooledBytes: 40 * 4 * n, liveBytes: 0, peakLiveBytes: 40 * 4 * n })
      const missesBefore = be.poolStats().misses
      const second = Array.from({ length: 40 }, () => output(be, n))
      expect(be.poolStats().misses).toBe(missesBefore)
      second.forEach((t) => be.disposeData(t.dataId, true))
    })

    it('never holds more than the peak live bytes when the shapes change', () => {
      const be = make()
      const a = [output(be, 4096), output(be, 4096)] // peak 32 KiB
      a.forEach((t) => be.disposeData(t.dataId, true))
      const b = output(be, 6000) // a miss: new length
      be.disposeData(b.dataId, true)
      const s = be.poolStats()
      expect(s.peakLiveBytes).toBe(2 * 4 * 4096)
      expect(s.pooledBytes).toBeLessThanOrEqual(s.peakLiveBytes)
      expect(s.pooledBytes).toBe(4 * 6000) // both 4096-arrays were dropped to make room within 32 KiB
    })

    it('respects its cap', () => {
      const be = make(3 * 4 * 4096)
      const ts = Array.from({ length: 5 }, () => output(be, 4096))
      ts.forEach((t) => be.disposeData(t.dataId, true))
      expect(be.poolStats().pooledBytes).toBe(3 * 4 * 4096)
    })

    it('forgets arrays that escaped (dataSync hands them out)', () => {
      const be = make()
      const t = output(be, 4096)
      be.readSync(t.dataId)
      expect(be.poolStats()).toMatchObject({ liveBytes: 0, escapes: 1 })
      be.disposeData(t.dataId, true)
      expect(be.poolStats().pooledBytes).toBe(0)
    })
  })
})
