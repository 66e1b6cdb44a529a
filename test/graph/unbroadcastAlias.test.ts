// Regression: Add's gradient handed the same `dy` object to both inputs; when both paths reach one
// tensor (x + (y + x)), the engine accumulates into the first and disposes it, freeing the gradient
// the other path still needed ("Cannot read properties of undefined (reading 'backend')"). This is
// how box(prefix + own) (tmaml-eq7's control variate) failed.
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { unbroadcast } from '../../src/graph/kernels/unbroadcast.js'

beforeAll(async () => {
  await initBackendOrThrow('cpu')
})

describe('graph/kernels/unbroadcast', () => {
  describe('unbroadcast', () => {
    it('returns a new tensor object when the shapes already agree', () => {
      const dy = tf.ones([2, 3])
      const r = unbroadcast(dy, [2, 3])
      expect(r).not.toBe(dy)
      expect(Array.from(r.dataSync())).toEqual([1, 1, 1, 1, 1, 1])
    })
  })

  describe('Add gradient', () => {
    it('survives a tensor reached by both inputs of an add, through a cumsum', () => {
      const x = tf.tensor2d([[1, 2, 3]])
      // f(x) = sum(cumsum(x, exclusive) + x + x): df/dx_k = (number of later steps) + 2
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.add(tf.add(tf.cumsum(v, 1, true), v), v)))(x)
      expect(Array.from(g.dataSync())).toEqual([4, 3, 2])
    })
  })
})
