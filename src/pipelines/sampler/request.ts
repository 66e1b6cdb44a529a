/**
 * Validation of a `RolloutRequest` at the sampler's boundary: an io-ts codec for its structure, then
 * the checks that need the environment (known id, continuous actions, policy sizes equal to the env's,
 * tasks valid under the env's codec, parameter shapes and finiteness). Every failure is a
 * `DecodeError` whose issues name the field (`envId`, `tasks.3.direction`, `params.0.W1.shape`, ...).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import type { ArrayParams } from '../../graph/nn.js'
import { decodeWith, fieldIssues, type FieldIssue, type TmamlError } from '../../base/errors.js'
import { envIds, getEnvSpec, type EnvSpec } from '../../envs/registry.js'
import { policyParamIssues, policyParamShapes } from './jsPolicy.js'
import { RolloutRequest } from './types.js'

// -------------------------------------------------------------------------------------------------
// validation
// -------------------------------------------------------------------------------------------------

/**
 * A checked request: the env spec resolved, tasks decoded, parameters reduced to the policy's own.
 *
 * @category model
 * @since 0.1.0
 */
export type ValidRequest = Readonly<Omit<RolloutRequest, 'deterministic' | 'actionScale' | 'taskIds'>> & {
  readonly spec: EnvSpec<unknown>
  readonly deterministic: boolean
  readonly actionScale: number
  /** Each slot's task id (given, or the slot's position). */
  readonly taskIds: ReadonlyArray<number>
}

const source = 'rollout request'

const fail = (issues: ReadonlyArray<FieldIssue>): E.Either<TmamlError, never> =>
  E.left({ _tag: 'DecodeError', source, issues })

/** Episodes x steps above this are refused (memory: ~4 bytes x (obsDim + actDim + 2) each). */
const maxEnvSteps = 50_000_000

/**
 * Check a request; `Left(DecodeError)` naming each bad field, the value found and what was expected.
 *
 * @category validation
 * @since 0.1.0
 */
export const validateRequest = (u: unknown): E.Either<TmamlError, ValidRequest> => {
  const shape = decodeWith(RolloutRequest, source)(u)
  if (E.isLeft(shape)) return shape
  const req = shape.right
  const found = getEnvSpec(req.envId)
  if (E.isLeft(found)) return fail([{ path: 'envId', value: req.envId, expected: `one of ${envIds.join(', ')}` }])
  const spec = found.right
  if (spec.discreteActions !== undefined)
    return fail([
      {
        path: 'envId',
        value: req.envId,
        expected: 'an environment with continuous actions (the sampler runs Gaussian policies)'
      }
    ])

  const issues: FieldIssue[] = []
  if (req.policy.obsDim !== spec.obsDim)
    issues.push({ path: 'policy.obsDim', value: req.policy.obsDim, expected: `${spec.obsDim} (${spec.id}'s obsDim)` })
  if (req.policy.actDim !== spec.actDim)
    issues.push({ path: 'policy.actDim', value: req.policy.actDim, expected: `${spec.actDim} (${spec.id}'s actDim)` })
  if (req.tasks.length === 0) issues.push({ path: 'tasks', value: req.tasks, expected: 'at least one task' })
  const steps = req.tasks.length * req.episodesPerTask * req.horizon
  if (steps > maxEnvSteps)
    issues.push({
      path: 'episodesPerTask',
      value: req.episodesPerTask,
      expected: `tasks x episodesPerTask x horizon <= ${maxEnvSteps} (got ${steps})`
    })
  const tasks: unknown[] = []
  req.tasks.forEach((task, k) => {
    const decoded = spec.taskCodec.decode(task)
    if (E.isRight(decoded)) tasks.push(decoded.right)
    else
      for (const issue of fieldIssues(decoded.left))
        issues.push({ ...issue, path: issue.path === '(root)' ? `tasks.${k}` : `tasks.${k}.${issue.path}` })
  })
  if (req.taskIds !== undefined && req.taskIds.length !== req.tasks.length)
    issues.push({ path: 'taskIds', value: req.taskIds, expected: `one id per task (${req.tasks.length})` })
  else if (req.taskIds !== undefined && new Set(req.taskIds).size !== req.taskIds.length)
    issues.push({ path: 'taskIds', value: req.taskIds, expected: 'distinct task ids' })
  if (issues.length > 0) return fail(issues)

  if (req.params.length !== 1 && req.params.length !== req.tasks.length)
    return fail([
      {
        path: 'params',
        value: `${req.params.length} parameter sets`,
        expected: `1 (shared) or ${req.tasks.length} (one per task) parameter sets`
      }
    ])
  req.params.forEach((p, i) => issues.push(...policyParamIssues(req.policy, p, `params.${i}`)))
  if (issues.length > 0) return fail(issues)
  const names = policyParamShapes(req.policy).map(([name]) => name)
  const params = req.params.map((p): ArrayParams => Object.fromEntries(names.map((name) => [name, p[name]])))
  return E.right({
    spec,
    envId: req.envId,
    tasks,
    episodesPerTask: req.episodesPerTask,
    horizon: req.horizon,
    policy: req.policy,
    params,
    seed: req.seed,
    stream: req.stream,
    deterministic: req.deterministic === true,
    actionScale: req.actionScale ?? 1,
    taskIds: req.taskIds ?? req.tasks.map((_, k) => k)
  })
}
