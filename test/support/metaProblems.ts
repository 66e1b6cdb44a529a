/**
 * One meta-iteration's data from the training stages on point2d (inner steps, baselines, sampling
 * parameters, post-update episodes), for tests of the meta-objectives and outer steps.
 */
import { lastValueFrom } from 'rxjs'
import type { Estimator } from '../../src/estimators/estimator.js'
import type { StepData, WithBaseline } from '../../src/pipelines/meta.js'
import type { ArrayParams } from '../../src/graph/nn.js'
import { fitOuterBaselines, innerLoop, rolloutPost, runIteration, sampleTasks } from '../../src/pipelines/stages.js'
import type { TrainDeps } from '../../src/pipelines/stages.js'
import { initialState } from '../../src/pipelines/train.js'

export interface IterationData {
  readonly theta: ArrayParams
  readonly pre: ReadonlyArray<ReadonlyArray<StepData>>
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
  const d = { ...deps, estimator }
  const init = initialState(d)
  const state = theta === undefined ? init : { ...init, policy: theta }
  const ctx = await lastValueFrom(
    runIteration(d, state, (c$) => c$.pipe(sampleTasks(), innerLoop(), rolloutPost(), fitOuterBaselines()))
  )
  return {
    theta: state.policy,
    pre: ctx.tasks.map((_, k) =>
      ctx.pre[k].map((batch, s) => ({
        batch,
        baseline: ctx.preBaselines[k][s],
        sampledWith: ctx.preSampledWith[k][s]
      }))
    ),
    post: ctx.post.map((batch, k) => ({ batch, baseline: ctx.postBaselines[k] }))
  }
}
