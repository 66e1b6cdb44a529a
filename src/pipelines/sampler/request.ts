/**
 * Validation of a `RolloutRequest` at the sampler's boundary: an io-ts codec for its structure, then
 * the checks that need the environment (known id, continuous actions, policy sizes equal to the env's,
 * tasks valid under the env's codec, parameter shapes and finiteness). Every failure is a
 * `DecodeError` whose issues name the field (`envId`, `tasks.3.direction`, `params.0.W1.shape`, ...).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { decodeWith, fieldIssues, type FieldIssue, type TmamlError } from '../../base/errors.js'
import { envIds, getEnvSpec, type EnvSpec } from '../../envs/registry.js'
import { FiniteNumber, PositiveInt } from '../../envs/tasks.js'
import { policyParamIssues, policyParamShapes } from './jsPolicy.js'
import type { PolicyArrays, PolicySpec, SamplerTestHooks } from './types.js'

// -------------------------------------------------------------------------------------------------
// codecs
// -------------------------------------------------------------------------------------------------

const NonNegativeInt = new t.Type<number, number, unknown>(
  'NonNegativeInt',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 0,
  (u, c) =>
    typeof u === 'number' && Number.isInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c, 'an integer >= 0'),
  t.identity
)

/** @category codecs @since 0.1.0 */
export const PolicySpecC: t.Type<PolicySpec, PolicySpec, unknown> = t.readonly(
  t.type({
    obsDim: PositiveInt,
    actDim: PositiveInt,
    hidden: t.readonlyArray(PositiveInt),
    activation: t.union([t.literal('tanh'), t.literal('relu')])
  }),
  'PolicySpec'
)

/** @category codecs @since 0.1.0 */
export const SamplerTestHooksC: t.Type<SamplerTestHooks, SamplerTestHooks, unknown> = t.readonly(
  t.intersection([
    t.type({ crash: t.union([t.literal('exit'), t.literal('throw'), t.literal('hang'), t.literal('terminate')]) }),
    t.partial({ worker: NonNegativeInt, times: NonNegativeInt, afterSteps: NonNegativeInt, afterMs: NonNegativeInt })
  ]),
  'SamplerTestHooks'
)

const isScale = (u: unknown): u is number => typeof u === 'number' && Number.isFinite(u) && u > 0
const ActionScale = new t.Type<number, number, unknown>(
  'ActionScale',
  isScale,
  (u, c) => (isScale(u) ? t.success(u) : t.failure(u, c, 'a finite number > 0')),
  t.identity
)

/** The structure of a `RolloutRequest` (tasks and parameters are checked against the env afterwards). */
const RolloutRequestShape = t.intersection([
  t.type({
    envId: t.string,
    tasks: t.readonlyArray(t.unknown),
    episodesPerTask: PositiveInt,
    horizon: PositiveInt,
    policy: PolicySpecC,
    params: t.readonlyArray(t.unknown),
    seed: FiniteNumber,
    stream: t.readonlyArray(t.union([t.string, FiniteNumber]))
  }),
  t.partial({
    deterministic: t.union([t.boolean, t.undefined]),
    actionScale: t.union([ActionScale, t.undefined]),
    testHooks: t.union([SamplerTestHooksC, t.undefined])
  })
])

// -------------------------------------------------------------------------------------------------
// validation
// -------------------------------------------------------------------------------------------------

/**
 * A checked request: the env spec resolved, tasks decoded, parameters reduced to the policy's own.
 *
 * @category model
 * @since 0.1.0
 */
export interface ValidRequest {
  readonly spec: EnvSpec<unknown>
  readonly envId: string
  readonly tasks: ReadonlyArray<unknown>
  readonly episodesPerTask: number
  readonly horizon: number
  readonly policy: PolicySpec
  readonly params: ReadonlyArray<PolicyArrays>
  readonly seed: number
  readonly stream: ReadonlyArray<string | number>
  readonly deterministic: boolean
  readonly actionScale: number
  readonly testHooks: SamplerTestHooks | undefined
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
  const shape = decodeWith(RolloutRequestShape, source)(u)
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
  const params = req.params.map((p): PolicyArrays => {
    const record = p as PolicyArrays
    return Object.fromEntries(names.map((name) => [name, record[name]]))
  })
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
    testHooks: req.testHooks
  })
}
