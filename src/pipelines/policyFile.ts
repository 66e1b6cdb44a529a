/**
 * The policy file: a trained meta-policy exported from a run (`<run>/policy.json`, rewritten at every
 * checkpoint), enough to act with it outside tmaml and to adapt it as training did. Format
 * `tmaml-policy-1` (docs/POLICY.md):
 *
 * ```
 * { "format": "tmaml-policy-1", "env": "halfcheetah-dir", "iteration": 80,
 *   "policy": { "obsDim": 17, "actDim": 6, "hidden": [64, 64], "activation": "tanh" },
 *   "actionScale": 1,
 *   "params": { "W0": { "shape": [17, 64], "values": [...] }, "b0": ..., "logStd": { "shape": [6], ... } },
 *   "adaptation": { "estimator": "tmaml", "controlVariate": "meta", "innerLr": 0.1, "innerSteps": 1, "gamma": 0.99 } }
 * ```
 *
 * The policy is a Gaussian MLP: hidden layer l computes act(x W_l + b_l) (`W_l` is [in, out],
 * row-major), the output layer x W_L + b_L is the action mean, and `exp(logStd)` the standard deviation
 * per action dimension. The simulator receives clip(action / actionScale) within its control range.
 *
 * @example
 * const file = readPolicyFile('runs/my-run/policy.json')   // Either<TmamlError, PolicyFile>
 * if (E.isRight(file)) {
 *   const mean = policyActions(file.right, obs)                 // [n * actDim], deterministic
 *   const noisy = policyActions(file.right, obs, rngAt(1, 'act')) // sampled like the training rollouts
 * }
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { NonNegativeInt, PositiveNumber } from '../base/codecs.js'
import { type TmamlError, decodeWith, resourceError } from '../base/errors.js'
import type { Rng } from '../base/rng.js'
import type { ArrayParams } from '../graph/nn.js'
import type { ExperimentConfig } from './config.js'
import { ParamsJson, fromJson, toJson } from './optim/params.js'
import type { PolicySpec } from './policy.js'
import { checkPolicyParams, gaussianMlpMean } from './sampler/jsPolicy.js'
import { PolicySpec as PolicySpecC } from './sampler/types.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The JSON of a policy file. @category codecs */
export const PolicyFileJson = t.type(
  {
    format: t.literal('tmaml-policy-1'),
    env: t.string,
    iteration: NonNegativeInt,
    policy: PolicySpecC,
    actionScale: PositiveNumber,
    params: ParamsJson,
    adaptation: t.type({
      estimator: t.string,
      controlVariate: t.string,
      innerLr: t.number,
      innerSteps: t.number,
      gamma: t.number
    })
  },
  'PolicyFile'
)
export type PolicyFileJson = t.TypeOf<typeof PolicyFileJson>

/** A policy file as read: the JSON with its parameters as Float32Arrays, checked against its spec. */
export interface PolicyFile extends Omit<PolicyFileJson, 'params'> {
  readonly params: ArrayParams
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/** The policy file of a run's meta-policy `params` at `iteration`. @category constructors */
export const policyFileJson = (
  cfg: ExperimentConfig,
  spec: PolicySpec,
  params: ArrayParams,
  iteration: number
): PolicyFileJson => ({
  format: 'tmaml-policy-1',
  env: cfg.env,
  iteration,
  policy: spec,
  actionScale: cfg.actionScale,
  params: toJson(params),
  adaptation: {
    estimator: cfg.estimator.name,
    controlVariate: cfg.controlVariate.name,
    innerLr: cfg.innerLr,
    innerSteps: cfg.innerSteps,
    gamma: cfg.gamma
  }
})

/** Decode a policy file's JSON; its parameters must fit its policy spec. @category io */
export const decodePolicyFile = (u: unknown, source = 'policy file'): E.Either<TmamlError, PolicyFile> => {
  const d = decodeWith(PolicyFileJson, source)(u)
  if (E.isLeft(d)) return d
  const params = checkPolicyParams(d.right.policy, fromJson(d.right.params))
  return E.map((p: ArrayParams): PolicyFile => ({ ...d.right, params: p }))(params)
}

/** Read and check a policy file. @category io */
export const readPolicyFile = (file: string): E.Either<TmamlError, PolicyFile> => {
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    return E.left(resourceError(`policy file ${file}`, err instanceof Error ? err.message : String(err)))
  }
  return decodePolicyFile(raw, `policy file ${file}`)
}

// ---------------------------------------------------------------------------------------------
// acting
// ---------------------------------------------------------------------------------------------

/**
 * The policy's actions for `n` observations (`obs` is `[n * obsDim]`, row-major): the mean, or with
 * `rng` a sample mean + exp(logStd) * N(0, 1) as the training rollouts draw it. These are the
 * policy's outputs; the simulator receives clip(action / actionScale). Throws a RangeError (a bug)
 * when `obs.length` is not a multiple of `obsDim`.
 *
 * @category utils
 */
export const policyActions = (file: PolicyFile, obs: Float32Array, rng?: Rng): Float32Array => {
  const mean = gaussianMlpMean(file.policy, file.params, obs)
  if (rng === undefined) return mean
  const { actDim } = file.policy
  const std = file.params['logStd'].values.map(Math.exp)
  for (let i = 0; i < mean.length; i++) mean[i] += std[i % actDim] * rng.normal()
  return mean
}
