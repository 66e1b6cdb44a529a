/**
 * One meta-iteration's data from the training stages on point2d (inner steps, baselines, sampling
 * parameters, post-update episodes), for tests of the meta-objectives and outer steps.
 */
import { lastValueFrom } from 'rxjs'
import type { Estimator } from '../../src/estimators/estimator.js'
import type { WithBaseline } from '../../src/pipelines/episodes.js'
import type { ArrayParams } from '../../src/graph/nn.js'
import { type MetaProblem, makeMetaProblem } from '../../src/pipelines/meta.js'
import { fitOuterBaselines, innerLoop, rolloutPost, runIteration, sampleTasks } from '../../src/pipelines/stages.js'
import type { TrainDeps } from '../../src/pipelines/stages.js'
import { initialState } from '../../src/pipelines/train.js'

export interface IterationData {
  readonly theta: ArrayParams
  readonly pre: ReadonlyArray<ReadonlyArray<WithBaseline>>
  readonly post: ReadonlyArray<WithBaseline>
}

/**
 * Sample, fit and adapt like training does, up to the outer update (which is left to the test), from
 * the run's initial state or from the given policy parameters.
 */
export const iterationData = async (
  deps: TrainDeps,
  estimator: Estimator,
  theta?: ArrayParams
): Promise<IterationData> => {
  const d = { ...deps, cfg: { ...deps.cfg, estimator } }
  const init = initialState(d)
  const state = theta === undefined ? init : { ...init, policy: theta }
  const ctx = await lastValueFrom(
    runIteration(d, state, (c$) => c$.pipe(sampleTasks(), innerLoop(), rolloutPost(), fitOuterBaselines()))
  )
  if (ctx.post._tag !== 'Fitted') throw new Error('iterationData: the post-update episodes have no baselines')
  return { theta: state.policy, pre: ctx.inner, post: ctx.post.tasks }
}

/** A batch with its rewards and baselines multiplied by `c` (a change of reward scale). */
export const scaledRewards = (d: WithBaseline, c: number): WithBaseline => ({
  ...d,
  batch: { ...d.batch, rewards: d.batch.rewards.map((r) => r * c) },
  baseline: { ...d.baseline, values: d.baseline.values.map((b) => b * c) }
})

/** The meta-problem of `deps`' policy, inner lr and gamma on the given episodes (dispose with disposeMetaProblem). */
export const metaProblemFor = (
  deps: TrainDeps,
  estimator: Estimator,
  parts: {
    readonly pre: IterationData['pre']
    readonly post: IterationData['post']
    readonly normalizeAdvantages: boolean
    readonly innerNormalize?: boolean
  }
): MetaProblem =>
  makeMetaProblem({ policy: deps.policy, estimator, alpha: deps.cfg.innerLr, gamma: deps.cfg.gamma, ...parts })
