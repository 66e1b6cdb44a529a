// The plain-JS Gaussian MLP policy of the sampler against tfjs' mlpForward (cpu backend), its row
// independence (what makes sampling deterministic across chunkings) and its parameter checks.
import * as E from 'fp-ts/lib/Either.js'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import { mlpForward, mlpSpec, paramsFromArrays } from '../../src/graph/nn.js'
import {
  checkPolicyParams,
  gaussianMlpMean,
  makeMeanRunner,
  policyParamShapes,
  type PolicySpec
} from '../../src/pipelines/sampler/index.js'
import { sameBits, text } from '../envs/support.js'
import { randomPolicy } from './samplerSupport.js'

const observations = (n: number, dim: number, seed: number): Float32Array => {
  const rng = rngAt(seed, 'obs')
  return Float32Array.from({ length: n * dim }, () => 2 * rng.normal())
}

describe('pipelines/sampler/jsPolicy', () => {
  beforeAll(async () => {
    await initBackendOrThrow('cpu')
  })

  describe('gaussianMlpMean', () => {
    const cases: ReadonlyArray<PolicySpec> = [
      { obsDim: 17, actDim: 6, hidden: [64, 64], activation: 'tanh' },
      { obsDim: 111, actDim: 8, hidden: [32], activation: 'relu' },
      { obsDim: 2, actDim: 2, hidden: [], activation: 'tanh' },
      { obsDim: 5, actDim: 3, hidden: [7, 9, 4], activation: 'relu' }
    ]
    it.each(cases)('matches mlpForward (tfjs cpu) within 1e-5 for $obsDim-$hidden-$actDim $activation', (spec) => {
      const params = randomPolicy(spec, 3)
      const n = 37 // not a multiple of the block size
      const obs = observations(n, spec.obsDim, 4)
      const ours = gaussianMlpMean(spec, params, obs)
      const nn = mlpSpec([spec.obsDim, ...spec.hidden, spec.actDim], spec.activation)
      const tfParams = paramsFromArrays(params)
      const x = tf.tensor2d(obs, [n, spec.obsDim])
      const ref = mlpForward(nn, tfParams, x)
      const theirs = ref.dataSync()
      tf.dispose([x, ref, ...Object.values(tfParams)])
      expect(ours.length).toBe(n * spec.actDim)
      let worst = 0
      for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]))
      expect(worst).toBeLessThan(1e-5)
    })

    it('computes each row independently of the others (bit-identical alone, in any batch, any order)', () => {
      const spec: PolicySpec = { obsDim: 17, actDim: 6, hidden: [64, 64], activation: 'tanh' }
      const params = randomPolicy(spec, 5)
      const n = 11
      const obs = observations(n, 17, 6)
      const all = gaussianMlpMean(spec, params, obs)
      for (let i = 0; i < n; i++) {
        const one = gaussianMlpMean(spec, params, obs.slice(i * 17, (i + 1) * 17))
        expect(sameBits(one, all.subarray(i * 6, (i + 1) * 6))).toBe(true)
      }
      // Through the runner with some rows inactive and two parameter sets interleaved.
      const other = randomPolicy(spec, 6)
      const runner = makeMeanRunner(spec, [params, other])
      const out = new Float32Array(n * 6)
      const active = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 2 ? 0 : 1))
      const paramOf = Int32Array.from({ length: n }, (_, i) => i % 2)
      runner.mean(obs, n, out, active, paramOf)
      for (let i = 0; i < n; i++) {
        const row = out.subarray(i * 6, (i + 1) * 6)
        if (active[i] === 0) expect(Array.from(row)).toEqual([0, 0, 0, 0, 0, 0])
        else {
          const alone = gaussianMlpMean(spec, i % 2 === 0 ? params : other, obs.slice(i * 17, (i + 1) * 17))
          expect(sameBits(row, alone)).toBe(true)
        }
      }
    })

    it('is deterministic: the same call twice gives the same bits', () => {
      const spec: PolicySpec = { obsDim: 8, actDim: 2, hidden: [16], activation: 'tanh' }
      const params = randomPolicy(spec, 7)
      const obs = observations(9, 8, 8)
      expect(sameBits(gaussianMlpMean(spec, params, obs), gaussianMlpMean(spec, params, obs))).toBe(true)
    })

    it('throws (a bug) when the observations are not whole rows', () => {
      const spec: PolicySpec = { obsDim: 3, actDim: 1, hidden: [], activation: 'tanh' }
      expect(() => gaussianMlpMean(spec, randomPolicy(spec, 1), new Float32Array(4))).toThrow(/multiple of 3/)
    })
  })

  describe('checkPolicyParams', () => {
    const spec: PolicySpec = { obsDim: 4, actDim: 2, hidden: [3], activation: 'tanh' }

    it('lists the parameters in nn.ts order with their shapes', () => {
      expect(policyParamShapes(spec)).toEqual([
        ['W0', [4, 3]],
        ['b0', [3]],
        ['W1', [3, 2]],
        ['b1', [2]],
        ['logStd', [2]]
      ])
    })

    it('keeps only the policy parameters when they fit', () => {
      const extra = { ...randomPolicy(spec, 1), V0: { shape: [1], values: new Float32Array(1) } }
      const r = checkPolicyParams(spec, extra)
      expect(E.isRight(r) && Object.keys(r.right)).toEqual(['W0', 'b0', 'W1', 'b1', 'logStd'])
    })

    it('names a missing parameter, a wrong shape, a wrong length and a NaN', () => {
      const good = randomPolicy(spec, 1)
      const fails = (p: unknown): string => {
        const r = checkPolicyParams(spec, p as typeof good)
        if (E.isRight(r)) throw new Error('expected an error')
        return text(r.left)
      }
      const { b1: _drop, ...missing } = good
      expect(fails(missing)).toContain('params.b1')
      expect(fails({ ...good, W1: { shape: [2, 3], values: new Float32Array(6) } })).toMatch(
        /params\.W1\.shape.*\[3, 2\]/
      )
      expect(fails({ ...good, b0: { shape: [3], values: new Float32Array(2) } })).toContain('params.b0.values')
      expect(fails({ ...good, W0: { shape: [4, 3], values: new Float64Array(12) } })).toContain('params.W0.values')
      const nan = Float32Array.from(good.logStd.values)
      nan[1] = Number.NaN
      expect(fails({ ...good, logStd: { shape: [2], values: nan } })).toMatch(/params\.logStd\.values\.1.*finite/)
    })
  })
})
