/**
 * tmaml-ts: unbiased, low-variance meta-reinforcement-learning gradients.
 *
 * The public API, by layer. Importing this module does not start a tfjs backend; call
 * `initBackend` (or `initBackendOrThrow`) first.
 *
 * @packageDocumentation
 */

// base
export * from './base/rng.js'
export * from './base/errors.js'
export * from './base/json.js'

// graph: backends, the gradient layer, autodiff helpers, stochastic computation graphs
export * from './graph/backend.js'
export * from './graph/ops.js'
export * from './graph/autodiff.js'
export * from './graph/nn.js'
export * from './graph/distributions.js'
export * from './graph/derivativeCheck.js'
export * from './graph/nodes.js'
export * from './graph/graph.js'
export * from './graph/terms.js'
export * from './graph/interpret.js'

// estimators
export * from './estimators/estimator.js'
export * from './estimators/builtins.js'
export * from './estimators/maml.js'
export * from './estimators/check.js'
export * from './estimators/codec.js'
export * from './estimators/module.js'
export * from './estimators/statistics.js'
export * from './estimators/groundTruth/tabularMdp.js'
export * from './estimators/groundTruth/problem.js'

// envs: MuJoCo and small task distributions
export * from './envs/index.js'

// pipelines: sampling, control variates, meta-training stages
export * from './pipelines/config.js'
export * from './pipelines/episodes.js'
export * from './pipelines/policy.js'
export * from './pipelines/meta.js'
export * from './pipelines/outer.js'
export * from './pipelines/outerStep.js'
export * from './pipelines/stages.js'
export * from './pipelines/streaming.js'
export * from './pipelines/train.js'
export * from './pipelines/runDir.js'
export * from './pipelines/runTraining.js'
export * from './pipelines/evaluateRun.js'
export * from './pipelines/policyFile.js'
export * from './pipelines/record.js'
export * from './pipelines/tensorboard.js'
export * from './pipelines/controlVariates/controlVariate.js'
export * from './pipelines/controlVariates/registry.js'
export * from './pipelines/controlVariates/none.js'
export * from './pipelines/controlVariates/linearFeature.js'
export * from './pipelines/controlVariates/valueNet.js'
export * from './pipelines/controlVariates/metaValue.js'
export * from './pipelines/controlVariates/actionDependent.js'
export * from './pipelines/optim/adam.js'
export * from './pipelines/optim/params.js'
export * from './pipelines/sampler/index.js'

// plots
export * from './plot/index.js'
