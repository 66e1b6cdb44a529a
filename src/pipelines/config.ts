/**
 * The configuration of a meta-training experiment, as an io-ts codec with the published
 * hyperparameters as defaults (TMAML and ProMP code; DESIGN.md, "Reference hyperparameters").
 *
 * A user config (JSON file, CLI flags) is a partial object merged over the defaults — nested sections
 * (`trpo`, `ppo`, `metaCv`, `valueCv`) merge field by field — then decoded as a whole. A bad value is
 * rejected naming the field, the value and what was expected; an unknown field is rejected too
 * (a typo would otherwise be silently ignored).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import {
  FiniteNumber,
  Fraction,
  NonNegativeInt,
  NonNegativeNumber,
  PositiveInt,
  PositiveNumber,
  refine
} from '../base/codecs.js'
import { type FieldIssue, type TmamlError, decodeWith } from '../base/errors.js'
import { estimatorByName, tmaml } from '../estimators/builtins.js'
import { EstimatorCodec } from '../estimators/codec.js'
import type { Estimator } from '../estimators/estimator.js'
import { envIds } from '../envs/registry.js'
import type { EnvId } from '../envs/vecEnv.js'
import type { ControlVariateKind } from './controlVariates/controlVariate.js'
import { metaControlVariate } from './controlVariates/metaValue.js'
import { controlVariates } from './controlVariates/registry.js'

// ---------------------------------------------------------------------------------------------
// refined numbers
// ---------------------------------------------------------------------------------------------

const EnvIdC = refine(t.string, `one of ${envIds.join(', ')}`, (s) =>
  (envIds as ReadonlyArray<string>).includes(s)
) as t.Type<EnvId, EnvId, unknown>
/**
 * A value named in a config: decoded from its name (a string in JSON), or given as the value itself
 * (user code training with its own estimator or control variate); encoded back to the name.
 */
const named = <A extends { readonly name: string }>(
  typeName: string,
  expected: string,
  byName: (name: string) => A | undefined,
  isValue: (u: unknown) => u is A
): t.Type<A, string, unknown> =>
  new t.Type<A, string, unknown>(
    typeName,
    isValue,
    (u, c) => {
      const found = typeof u === 'string' ? byName(u) : isValue(u) ? u : undefined
      return found === undefined ? t.failure(u, c, expected) : t.success(found)
    },
    (a) => a.name
  )

/** The inner estimator: a name from `tmaml estimators list`, decoded to its `Estimator`. */
export const EstimatorC = named<Estimator>(
  'Estimator',
  "an estimator name (see 'tmaml estimators list')",
  estimatorByName,
  EstimatorCodec.is
)

const isControlVariate = (u: unknown): u is ControlVariateKind =>
  typeof u === 'object' &&
  u !== null &&
  'fit' in u &&
  typeof u.fit === 'function' &&
  'evaluate' in u &&
  typeof u.evaluate === 'function' &&
  'name' in u &&
  typeof u.name === 'string'

/**
 * The control variate of the inner steps: a name from `registry` (default: the built-in ones),
 * decoded to its `ControlVariateKind`.
 */
export const controlVariateCodec = (registry: ReadonlyArray<ControlVariateKind> = controlVariates) =>
  named<ControlVariateKind>(
    'ControlVariate',
    `one of ${registry.map((cv) => `'${cv.name}'`).join(', ')}`,
    (name) => registry.find((cv) => cv.name === name),
    isControlVariate
  )

export const OuterAlgorithm = t.keyof({ vpg: null, trpo: null, ppo: null }, "one of 'vpg', 'trpo', 'ppo'")
export type OuterAlgorithm = t.TypeOf<typeof OuterAlgorithm>

const BackendC = t.keyof(
  { auto: null, native: null, wasm: null, cpu: null, tensorflow: null, 'tensorflow-gpu': null },
  "one of 'auto', 'native', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'"
)

// ---------------------------------------------------------------------------------------------
// the codec
// ---------------------------------------------------------------------------------------------

const sections = {
  trpo: t.type({
    maxKl: PositiveNumber,
    cgIters: PositiveInt,
    damping: NonNegativeNumber,
    lineSearchSteps: PositiveInt,
    backtrack: Fraction,
    /**
     * The share of the batch's tasks whose meta-KL gives the conjugate-gradient Fisher-vector
     * products (rllab/garage's subsample_factor); the line search checks the KL on all tasks.
     * 1 (ProMP) uses every task.
     */
    fisherSubsample: Fraction
  }),
  ppo: t.type({
    clip: PositiveNumber,
    steps: PositiveInt,
    innerKlPenalty: NonNegativeNumber
  }),
  /** The meta-learned control variate (paper Algorithm 1). */
  metaCv: t.type({
    hidden: t.readonlyArray(PositiveInt),
    innerLr: PositiveNumber,
    outerLr: PositiveNumber,
    epochs: PositiveInt
  }),
  /** Per-task value networks and the Q-network of the action-dependent control variate. */
  valueCv: t.type({
    hidden: t.readonlyArray(PositiveInt),
    lr: PositiveNumber,
    epochs: PositiveInt,
    samples: PositiveInt
  })
} as const

export const ExperimentConfig = t.type(
  {
    env: EnvIdC,
    estimator: EstimatorC,
    controlVariate: controlVariateCodec(),
    outer: OuterAlgorithm,
    tasksPerBatch: PositiveInt,
    rolloutsPerTask: PositiveInt,
    /** Steps per episode; 0 = the environment's default horizon. */
    horizon: NonNegativeInt,
    innerSteps: PositiveInt,
    innerLr: PositiveNumber,
    outerLr: PositiveNumber,
    gamma: Fraction,
    hidden: t.readonlyArray(PositiveInt),
    /** The policy's hidden activation. */
    activation: t.keyof({ tanh: null, relu: null }, "one of 'tanh', 'relu'"),
    /**
     * The policy's initial log standard deviation, or null (default): a tenth of each action
     * component's half-range (0.1 for the MuJoCo robots' [-1, 1]), the exploration of the published
     * code, whose normalize(env, 10) wrapper divides a policy of std 1 by 10.
     */
    initLogStd: t.union([FiniteNumber, t.null]),
    /**
     * The policy's output a reaches the simulator as clip(a / actionScale): 10 is the convention of
     * ProMP, the Taming MAML code, garage and pytorch-maml-rl; 1 that of learn2learn (ENVS.md).
     */
    actionScale: PositiveNumber,
    /**
     * Scale each task's inner-step data (rewards and baselines) by 1 / the spread of its returns-to-go
     * across episodes (std of R_t - mean_e R_t), so the inner step size means the same whatever the
     * reward scale, and the same for every estimator and control variate (the reference codes
     * normalise their inner advantages).
     */
    innerNormalize: t.boolean,
    seed: NonNegativeInt,
    iterations: PositiveInt,
    backend: BackendC,
    /** Sampler worker threads; 0 = sample in the main thread. */
    workers: NonNegativeInt,
    /** Evaluate on held-out tasks every N iterations (0 = never). */
    evalEvery: NonNegativeInt,
    evalTasks: PositiveInt,
    checkpointEvery: PositiveInt,
    /** Standardise advantages of the outer objective per task (ProMP does). */
    normalizeAdvantages: t.boolean,
    /** The run folder; '' = runs/<env>-<estimator>-s<seed>-<time>. */
    runDir: t.string,
    ...sections
  },
  'ExperimentConfig'
)

/**
 * The config codec whose `controlVariate` names one of `registry`: a control variate of your own is
 * chosen by name once it is in the registry you decode with.
 */
export const experimentConfigCodec = (registry: ReadonlyArray<ControlVariateKind>): typeof ExperimentConfig =>
  t.type({ ...ExperimentConfig.props, controlVariate: controlVariateCodec(registry) }, 'ExperimentConfig')
export type ExperimentConfig = t.TypeOf<typeof ExperimentConfig>
/** A config as JSON (config.json, checkpoints): the estimator and control variate by name. */
export type ExperimentConfigJson = t.OutputOf<typeof ExperimentConfig>

/** The JSON form of a config. */
export const encodeConfig = (cfg: ExperimentConfig): ExperimentConfigJson => ExperimentConfig.encode(cfg)

/**
 * The published hyperparameters (TMAML/ProMP code): 40 tasks x 20 rollouts, inner lr 0.1, Adam 1e-3 ...
 * Two departures, both measured (docs/EXPERIMENTS.md, "Learning speed"): the policy's initial
 * standard deviation is 0.1 of the control range (the published code's exploration level: its
 * normalize(env, 10) wrapper divides a policy of std 1 by 10) with the action reaching the simulator
 * unscaled, and each task's inner data are normalised (innerNormalize), as the reference codes
 * normalise their inner advantages.
 */
export const publishedDefaults: ExperimentConfig = {
  env: 'halfcheetah-dir',
  estimator: tmaml,
  controlVariate: metaControlVariate,
  outer: 'vpg',
  tasksPerBatch: 40,
  rolloutsPerTask: 20,
  horizon: 0,
  innerSteps: 1,
  innerLr: 0.1,
  outerLr: 1e-3,
  gamma: 0.99,
  hidden: [64, 64],
  activation: 'tanh',
  initLogStd: null,
  actionScale: 1,
  innerNormalize: true,
  seed: 1,
  iterations: 1000,
  backend: 'auto',
  workers: 2,
  evalEvery: 10,
  evalTasks: 10,
  checkpointEvery: 10,
  normalizeAdvantages: true,
  runDir: '',
  trpo: { maxKl: 1e-2, cgIters: 10, damping: 1e-5, lineSearchSteps: 15, backtrack: 0.8, fisherSubsample: 1 },
  ppo: { clip: 0.3, steps: 5, innerKlPenalty: 5e-4 },
  metaCv: { hidden: [64, 64], innerLr: 2e-2, outerLr: 1e-3, epochs: 3 },
  valueCv: { hidden: [64, 64], lr: 1e-3, epochs: 20, samples: 4 }
}

/**
 * What `tmaml train` runs with no --config: halfcheetah-dir at half the published batch (20 tasks x
 * 20 episodes), MAML with TRPO (Finn et al. 2017's and learn2learn's algorithm; the fastest learner
 * measured here, docs/EXPERIMENTS.md "Learning speed"), 50 iterations — about 6 minutes on 2 cores,
 * by which the post-adaptation return is far above the pre-adaptation one and still rising (README,
 * "Evidence of learning"). Flags still override it.
 */
export const quickstart: Partial<ExperimentConfigJson> = {
  env: 'halfcheetah-dir',
  estimator: 'maml',
  controlVariate: 'linear',
  outer: 'trpo',
  tasksPerBatch: 20,
  rolloutsPerTask: 20,
  iterations: 50,
  evalEvery: 10,
  evalTasks: 10,
  checkpointEvery: 10
}

const sectionKeys = Object.keys(sections) as ReadonlyArray<keyof typeof sections>

/**
 * Merge a user's partial config over a base, section by section, and decode it. Unknown fields are
 * errors.
 */
export const resolveConfig = (
  user: unknown,
  base: ExperimentConfig = publishedDefaults,
  source = 'config',
  codec: typeof ExperimentConfig = ExperimentConfig
): E.Either<TmamlError, ExperimentConfig> => {
  if (typeof user !== 'object' || user === null || Array.isArray(user))
    return E.left({ _tag: 'DecodeError', source, issues: [{ path: '(root)', value: user, expected: 'a JSON object' }] })
  const u = user as Record<string, unknown>
  const known = new Set(Object.keys(ExperimentConfig.props))
  const unknown: FieldIssue[] = Object.keys(u)
    .filter((k) => !known.has(k))
    .map((k) => ({ path: k, value: u[k], expected: `no such field; fields are ${[...known].join(', ')}` }))
  for (const s of sectionKeys) {
    const sub = u[s]
    if (typeof sub === 'object' && sub !== null && !Array.isArray(sub)) {
      const props = new Set(Object.keys(sections[s].props))
      for (const k of Object.keys(sub))
        if (!props.has(k))
          unknown.push({
            path: `${s}.${k}`,
            value: (sub as Record<string, unknown>)[k],
            expected: `no such field; fields are ${[...props].join(', ')}`
          })
    }
  }
  if (unknown.length > 0) return E.left({ _tag: 'DecodeError', source, issues: unknown })
  const json = encodeConfig(base)
  const merged: Record<string, unknown> = { ...json, ...u }
  for (const s of sectionKeys) {
    const sub = u[s]
    if (typeof sub === 'object' && sub !== null && !Array.isArray(sub)) merged[s] = { ...json[s], ...sub }
  }
  return decodeWith(codec, source)(merged)
}
