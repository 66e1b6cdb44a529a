// The compare experiment runs no more runs at once than fit in memory together (measured without
// swap: 11 TRPO runs of 2.1 GB on 24 GB thrashed at ~9x the time per iteration of 8).
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { type CompareOptions, configDifferences, planRuns, runsThatFit } from '../../src/experiments/compare.js'
import { parseMethods } from '../../src/experiments/metaGradients.js'
import { linearControlVariate } from '../../src/pipelines/controlVariates/linearFeature.js'
import { type ExperimentConfig, resolveConfig } from '../../src/pipelines/config.js'
import { estimateFootprint } from '../../src/pipelines/footprint.js'

const cfg = (user: Readonly<Record<string, unknown>>): ExperimentConfig => {
  const r = resolveConfig(user)
  if (E.isLeft(r)) throw new Error('bad test config')
  return r.right
}

describe('experiments/compare: runs at once', () => {
  const small = cfg({ env: 'point2d', tasksPerBatch: 4, rolloutsPerTask: 4 })
  const big = cfg({ env: 'halfcheetah-dir', tasksPerBatch: 40, rolloutsPerTask: 20 })
  const bytesOf = (c: ExperimentConfig) => estimateFootprint(c, { obsDim: 17, actDim: 6, horizon: 100 }).bytes

  it('runs --parallel at once when they fit', () => {
    expect(runsThatFit(4, [small, small], 1e12)).toEqual({ atOnce: 4, perRun: expect.any(Number) })
  })

  it('runs fewer when the largest run times --parallel exceeds the limit, sized by the largest run', () => {
    const per = bytesOf(big)
    const r = runsThatFit(12, [small, big, small], 8.5 * per)
    expect(r.perRun).toBe(per)
    expect(r.atOnce).toBe(8)
  })

  it('never fewer than one (a run too big on its own is refused by train itself)', () => {
    expect(runsThatFit(6, [big], 1).atOnce).toBe(1)
  })
})

describe('experiments/compare: kernel threads', () => {
  const methods = parseMethods('maml', () => linearControlVariate)
  if (E.isLeft(methods)) throw new Error(methods.left)
  const options = (parallel: number): CompareOptions =>
    ({
      env: 'point2d',
      methods: methods.right,
      seeds: [1],
      iterations: 2,
      parallel,
      tasks: 2,
      rollouts: 2,
      horizon: 0,
      outer: 'trpo',
      outerLr: 1e-3,
      innerLr: 0.1,
      workers: 0,
      final: 1,
      smooth: 1,
      out: '/tmp/tmaml-compare-plan',
      figure: '/tmp/tmaml-compare-plan/f',
      backend: 'auto'
    }) as unknown as CompareOptions
  const planned = (parallel: number): ExperimentConfig => {
    const r = planRuns(options(parallel))
    if (E.isLeft(r)) throw new Error('bad plan')
    return r.right[0].config
  }

  it("keeps each run's kernels on its main thread when runs share the cores, all cores for one run", () => {
    expect(planned(1).kernelThreads).toBe(0)
    expect(planned(3).kernelThreads).toBe(1)
  })

  it('lets a run planned with another --parallel continue (kernel threads do not change results)', () => {
    expect(configDifferences(planned(1), planned(3))).toEqual([])
    expect(configDifferences(planned(1), { ...planned(1), gamma: 0.5 })).toEqual(['gamma'])
  })
})
