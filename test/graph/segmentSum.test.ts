import * as tf from '@tensorflow/tfjs-core'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { availableBackends } from '../support/backends.js'

// The one-pass UnsortedSegmentSum registered on wasm (which lacks one) and cpu-derived backends
// (whose stock kernel is O(numSegments x size)), against a direct loop.
const naive = (x: number[][], ids: number[], numSegments: number): number[][] => {
  const out = Array.from({ length: numSegments }, () => new Array<number>(x[0].length).fill(0))
  ids.forEach((s, i) => {
    if (s >= 0 && s < numSegments) x[i].forEach((v, j) => (out[s][j] += v))
  })
  return out
}

const backends = await availableBackends()

describe.each(backends)('unsortedSegmentSum on %s', (backend) => {
  beforeAll(async () => {
    await initBackendOrThrow(backend)
  })

  it('sums rows by segment id, dropping ids out of range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, cols, numSegments, seed) => {
          const x = Array.from({ length: n }, (_, i) =>
            Array.from({ length: cols }, (_, j) => ((i * 7 + j * 3 + seed) % 11) - 5)
          )
          const ids = Array.from({ length: n }, (_, i) => ((i * 5 + seed) % (numSegments + 2)) - 1)
          const got = tf.unsortedSegmentSum(tf.tensor2d(x), tf.tensor1d(ids, 'int32'), numSegments).arraySync()
          expect(got).toEqual(naive(x, ids, numSegments))
        }
      ),
      { seed: 3, numRuns: 30 }
    )
  })

  it('handles a gather gradient from a table of 10^5 rows in linear time and memory', () => {
    const table = tf.zeros([100_000])
    const idx = tf.tensor1d(
      Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 100_000),
      'int32'
    )
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, idx)))(table)
    expect(tf.sum(g).dataSync()[0]).toBe(100_000)
  })
})
