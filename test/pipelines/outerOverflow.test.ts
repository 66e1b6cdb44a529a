// A finite meta-gradient can still overflow Adam's float32 second moment (|g| > 1.8e19). Before this
// check the step went on with v = Infinity, the parameters froze and the checkpoint was written with
// nulls (JSON of Infinity), unreadable on resume. Now the step stops with a NumericalError.
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { estimatorByName } from '../../src/estimators/builtins.js'
import { disposeMetaProblem } from '../../src/pipelines/meta.js'
import { adamInit } from '../../src/pipelines/optim/adam.js'
import { allFinite } from '../../src/pipelines/optim/params.js'
import { vpgStep } from '../../src/pipelines/outer.js'
import { iterationData, metaProblemFor, scaledRewards } from '../support/metaProblems.js'
import { point2dDeps, useSampler } from '../support/pipelines.js'

const sampler = useSampler()

describe('pipelines/outer: optimiser overflow', () => {
  it('vpgStep stops with a NumericalError when the gradient overflows the Adam state, and steps otherwise', async () => {
    const est = estimatorByName('maml')!
    const deps = point2dDeps(sampler(), { tasksPerBatch: 2, rolloutsPerTask: 4, normalizeAdvantages: false }, 8, [6])
    const data = await iterationData(deps, est)
    const step = (c: number) => {
      const m = metaProblemFor(deps, est, {
        normalizeAdvantages: false,
        pre: data.pre,
        post: data.post.map((p) => scaledRewards(p, c))
      })
      const r = vpgStep(m, data.theta, adamInit(data.theta), deps.cfg)
      disposeMetaProblem(m)
      return r
    }
    const fine = step(1)
    expect(E.isRight(fine) && allFinite(fine.right.adam.v) && allFinite(fine.right.params)).toBe(true)
    const huge = step(1e24)
    expect(E.isLeft(huge)).toBe(true)
    if (E.isLeft(huge)) expect(JSON.stringify(huge.left)).toContain('overflowed')
  })
})
