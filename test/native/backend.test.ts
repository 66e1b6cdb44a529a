// The `native` backend end to end: default selection, agreement with cpu on the benchmark workload
// (scaled down), the output-array pool's safety rules, and no leaks (tensors, resident memory).
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type WorkloadSize,
  disposeWorkload,
  flatten,
  makeWorkloadData,
  metaGradient,
  metaKlHvp,
  toTensors
} from '../../benchmarks/autodiff/workload.js'
import { disposeParams } from '../../src/graph/autodiff.js'
import { defaultBackend, initBackend, initBackendOrThrow, resolveBackendChoice } from '../../src/graph/backend.js'
import { nativeStatus } from '../../src/native/index.js'
import { describeNative } from '../support/backends.js'
import { NativeBackend } from '../../src/native/storage.js'

const status = nativeStatus()

const small: WorkloadSize = { obsDim: 5, actDim: 3, hidden: [16, 16], tasks: 3, samples: 40, alpha: 0.1 }

const relDiff = (a: Float32Array, b: Float32Array): number => {
  let num = 0
  let den = 0
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2
    den += b[i] ** 2
  }
  return Math.sqrt(num / den)
}

describeNative('native backend', () => {
  beforeAll(async () => {
    await initBackendOrThrow('native')
  })

  describe('nativeStatus', () => {
    it('reports the GEMM, its build string and the SIMD level when active', () => {
      expect(status).toMatchObject({ built: true, active: true })
      expect(['openblas', 'builtin']).toContain(status.gemm)
      expect(status.blas).toMatch(status.gemm === 'openblas' ? /^OpenBLAS/ : /^built-in sgemm/)
      expect(['avx512', 'avx2', 'sse2']).toContain(status.simd)
    })
  })

  describe('resolveBackendChoice', () => {
    it('defaults to native when the addon is active', async () => {
      expect(await defaultBackend()).toBe('native')
      expect(resolveBackendChoice(undefined, {})).toEqual(E.right('auto'))
      const info = await initBackend('auto')
      expect(E.isRight(info) && info.right).toMatchObject({ requested: 'auto', active: 'native' })
    })
  })

  describe('initBackend', () => {
    it('names the GEMM and the BLAS in the notes', async () => {
      const info = await initBackend('native')
      expect(E.isRight(info) && info.right.active).toBe('native')
      expect(E.isRight(info) && info.right.notes).toContain(`gemm=${status.gemm}`)
      expect(E.isRight(info) && info.right.notes.some((n) => n.startsWith('blas='))).toBe(true)
    })
  })

  describe('workload', () => {
    it('gives the meta-gradient and meta-KL HVP of the cpu backend, in both formulations', async () => {
      const data = makeWorkloadData(3, small)
      const run = async (backend: 'cpu' | 'native') => {
        await initBackendOrThrow(backend)
        const w = toTensors(data)
        const out = (['per-task', 'batched'] as const).flatMap((f) => {
          const g = metaGradient(w, f)
          const h = metaKlHvp(w, f)
          const r = [flatten(g), flatten(h)]
          disposeParams(g)
          disposeParams(h)
          return r
        })
        disposeWorkload(w)
        return out
      }
      const ref = await run('cpu')
      const got = await run('native')
      await initBackendOrThrow('native')
      got.forEach((g, i) => expect(relDiff(g, ref[i])).toBeLessThan(1e-5))
      // The two formulations compute the same quantity.
      expect(relDiff(got[2], got[0])).toBeLessThan(1e-5)
      expect(relDiff(got[3], got[1])).toBeLessThan(1e-5)
    })
  })

  describe('output-array pool', () => {
    const big = (seed: number) => tf.tensor1d(Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i + seed)))

    it('recycles the arrays of disposed native outputs', () => {
      const be = tf.backend() as NativeBackend
      const before = be.poolStats().hits
      for (let i = 0; i < 5; i++) tf.tidy(() => tf.tanh(tf.tanh(big(i))))
      expect(be.poolStats().hits).toBeGreaterThan(before)
    })

    it('never recycles an array handed out by dataSync', () => {
      const x = big(1)
      const y = tf.tanh(x)
      const seen = y.dataSync()
      const copy = Float32Array.from(seen)
      y.dispose()
      for (let i = 0; i < 5; i++) tf.tidy(() => tf.exp(tf.neg(big(i + 2))))
      expect(seen).toEqual(copy)
      x.dispose()
    })

    it('never recycles an array another tensor views (the cpu Slice kernel returns subarrays)', () => {
      const y = tf.tanh(big(3))
      const s = tf.slice(y, [100], [1000])
      const want = Float32Array.from(s.dataSync())
      y.dispose()
      for (let i = 0; i < 5; i++) tf.tidy(() => tf.exp(tf.neg(big(i + 2))))
      expect(Float32Array.from(s.dataSync())).toEqual(want)
      s.dispose()
    })
  })

  describe('leaks', () => {
    it('keeps numTensors flat and resident memory bounded over 50 meta-gradients', () => {
      const w = toTensors(makeWorkloadData(4, { ...small, tasks: 5, samples: 200 }))
      for (let i = 0; i < 5; i++) disposeParams(metaGradient(w, 'batched')) // fill the pool, JIT
      global.gc?.()
      const tensors = tf.memory().numTensors
      const rss = process.memoryUsage().rss
      for (let i = 0; i < 50; i++) disposeParams(metaGradient(w, i % 2 === 0 ? 'batched' : 'per-task'))
      global.gc?.()
      expect(tf.memory().numTensors).toBe(tensors)
      // Bound: 64 MiB of growth (one meta-gradient here allocates ~10 MB of tensors; a leak of
      // them over 50 iterations would exceed the bound several times over).
      expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20)
      disposeWorkload(w)
    })
  })
})
