// The experiments' meta-gradient draws: deterministic for a stream, common random numbers across
// methods, and no tensor left behind.
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { type DrawRequest, drawMetaGradients, parseMethods } from '../../src/experiments/metaGradients.js'
import { linearControlVariate } from '../../src/pipelines/controlVariates/linearFeature.js'
import { resolveConfig } from '../../src/pipelines/config.js'
import { initPolicy } from '../../src/pipelines/policy.js'
import { useSampler } from '../support/pipelines.js'

const sampler = useSampler()

const request = (stream: ReadonlyArray<string | number>, spec: string): DrawRequest => {
  const cfg = resolveConfig({ env: 'point1d', controlVariate: 'linear' })
  const methods = parseMethods(spec, () => linearControlVariate)
  if (E.isLeft(cfg) || E.isLeft(methods)) throw new Error('setup')
  const policy = { obsDim: 1, actDim: 1, hidden: [6], activation: 'tanh' as const }
  return {
    sampler: sampler(),
    envId: 'point1d',
    horizon: 5,
    policy,
    seed: 3,
    tasks: [{ goal: 0.5 }, { goal: -0.5 }],
    episodes: 8,
    theta: initPolicy(policy, rngAt(3, 'init')),
    methods: methods.right,
    stream,
    innerLr: 0.1,
    gamma: cfg.right.gamma,
    normalizeAdvantages: false,
    settings: cfg.right,
    cvStream: ['cv']
  }
}

const draw = async (stream: ReadonlyArray<string | number>, spec = 'tmaml,maml,dice'): Promise<Float32Array[]> => {
  const g = await drawMetaGradients(request(stream, spec))
  if (E.isLeft(g)) throw new Error(JSON.stringify(g.left))
  return [...g.right]
}

describe('experiments/metaGradients drawMetaGradients', () => {
  it('is deterministic for a stream and differs across streams', async () => {
    const a = await draw(['t', 1])
    const b = await draw(['t', 1])
    const c = await draw(['t', 2])
    expect(a.map((v) => [...v])).toEqual(b.map((v) => [...v]))
    expect([...a[0]]).not.toEqual([...c[0]])
  })

  it("a method's draw does not depend on which other methods are drawn with it (common streams)", async () => {
    const all = await draw(['t', 1], 'tmaml,maml,dice')
    const alone = await draw(['t', 1], 'dice')
    expect([...alone[0]]).toEqual([...all[2]])
  })

  it('every control variate kind of training is available, the action-dependent one included', async () => {
    const g = await draw(['t', 1], 'tmaml:none,tmaml:linear,tmaml:value,tmaml:action-dependent')
    expect(g.every((v) => v.length === g[0].length && v.every(Number.isFinite))).toBe(true)
    // Different control variates, same episodes: different estimates of the same meta-gradient.
    expect(new Set(g.map((v) => v.join(','))).size).toBe(4)
  })

  it("'meta' without the state of a run trained with it is an error naming it, not another kind's baseline", async () => {
    const g = await drawMetaGradients(request(['t', 1], 'tmaml:meta'))
    expect(E.isLeft(g) && JSON.stringify(g.left)).toMatch(/control variate 'meta'.*state made by --cv meta/)
  })

  it('leaves no tensor behind', async () => {
    await draw(['t', 0], 'tmaml,tmaml:action-dependent')
    const before = tf.memory().numTensors
    for (let i = 0; i < 3; i++) await draw(['t', 10 + i], 'tmaml,tmaml:action-dependent')
    expect(tf.memory().numTensors).toBe(before)
  })
})
