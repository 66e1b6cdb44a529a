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
import { refine } from '../base/codecs.js'
import { type FieldIssue, type TmamlError, decodeWith } from '../base/errors.js'
import { estimatorByName, tmaml } from '../estimators/builtins.js'
import { EstimatorCodec } from '../estimators/codec.js'
import { estimatorBySpec, moduleOf } from '../estimators/module.js'
import type { Estimator } from '../estimators/estimator.js'
import { envIds } from '../envs/registry.js'
import type { EnvId } from '../envs/vecEnv.js'
import type { ControlVariateKind } from './controlVariates/controlVariate.js'
import { metaControlVariate } from './controlVariates/metaValue.js'
import { controlVariates } from './controlVariates/registry.js'

// ---------------------------------------------------------------------------------------------
// numeric ranges
// ---------------------------------------------------------------------------------------------

/**
 * The values a numeric config field accepts: integers or finite reals from `min` to `max` (`min`
 * itself excluded when `minOpen`). Ranges are generous for research use but stop a typo from
 * allocating toward an out-of-memory crash (`tasksPerBatch: 1e9`) or running forever
 * (`innerSteps: 1e308`); docs/RELIABILITY.md lists them all (a test keeps the list in step).
 *
 * @category model
 */
export interface NumericRange {
  readonly kind: 'integer' | 'real'
  readonly min: number
  readonly max: number
  readonly minOpen: boolean
}

const int = (min: number, max: number): NumericRange => ({ kind: 'integer', min, max, minOpen: false })
const real = (min: number, max: number, minOpen = false): NumericRange => ({ kind: 'real', min, max, minOpen })

/** Whether `n` lies in `r`. */
export const inRange = (r: NumericRange, n: number): boolean =>
  Number.isFinite(n) &&
  (r.kind === 'real' || Number.isSafeInteger(n)) &&
  (r.minOpen ? n > r.min : n >= r.min) &&
  n <= r.max

const showBound = (n: number): string => (n === Number.MAX_SAFE_INTEGER ? '2^53 - 1' : String(n))

/** The range in words, as error messages and the docs say it: "an integer from 1 to 10000". */
export const describeRange = (r: NumericRange): string =>
  r.kind === 'integer'
    ? `an integer from ${showBound(r.min)} to ${showBound(r.max)}`
    : `a number in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}]`

/** Hidden layers of any network: at most this many, each of `layerWidth` units. */
export const maxLayers = 8
const layerWidth = int(1, 4096)

/**
 * Every numeric field of `ExperimentConfig` and its range, by dotted path (`hidden.*`: each width).
 *
 * @category model
 */
export const numericRanges = {
  tasksPerBatch: int(1, 10_000),
  rolloutsPerTask: int(1, 10_000),
  horizon: int(0, 100_000),
  innerSteps: int(1, 100),
  innerLr: real(0, 100, true),
  outerLr: real(0, 10, true),
  gamma: real(0, 1, true),
  'hidden.*': layerWidth,
  initLogStd: real(-20, 20),
  actionScale: real(0, 1000, true),
  seed: int(0, Number.MAX_SAFE_INTEGER),
  iterations: int(1, 10_000_000),
  workers: int(0, 256),
  kernelThreads: int(0, 64),
  evalEvery: int(0, 10_000_000),
  evalTasks: int(1, 10_000),
  checkpointEvery: int(1, 10_000_000),
  snapshotEvery: int(0, 10_000_000),
  snapshotKeep: int(0, 1_000_000),
  'trpo.maxKl': real(0, 10, true),
  'trpo.cgIters': int(1, 1000),
  'trpo.damping': real(0, 1000),
  'trpo.lineSearchSteps': int(1, 100),
  'trpo.backtrack': real(0, 1, true),
  'trpo.fisherSubsample': real(0, 1, true),
  'ppo.clip': real(0, 10, true),
  'ppo.steps': int(1, 1000),
  'ppo.innerKlPenalty': real(0, 1e6),
  'metaCv.hidden.*': layerWidth,
  'metaCv.innerLr': real(0, 100, true),
  'metaCv.outerLr': real(0, 10, true),
  'metaCv.epochs': int(1, 10_000),
  'valueCv.hidden.*': layerWidth,
  'valueCv.lr': real(0, 10, true),
  'valueCv.epochs': int(1, 10_000),
  'valueCv.samples': int(1, 1000)
} as const satisfies Readonly<Record<string, NumericRange>>

const ranged = (key: keyof typeof numericRanges): t.Type<number, number, unknown> => {
  const r: NumericRange = numericRanges[key]
  const name = describeRange(r)
  return new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === 'number' && inRange(r, u),
    (u, c) => (typeof u === 'number' && inRange(r, u) ? t.success(u) : t.failure(u, c, name)),
    t.identity
  )
}

/** Hidden-layer widths: at most `maxLayers` of them, each in `numericRanges[key]`. */
const layers = (
  key: 'hidden.*' | 'metaCv.hidden.*' | 'valueCv.hidden.*'
): t.Type<ReadonlyArray<number>, ReadonlyArray<number>, unknown> => {
  const widths = t.readonlyArray(ranged(key))
  const name = `at most ${maxLayers} hidden layers`
  return new t.Type<ReadonlyArray<number>, ReadonlyArray<number>, unknown>(
    name,
    (u): u is ReadonlyArray<number> => widths.is(u) && u.length <= maxLayers,
    (u, c) => {
      if (Array.isArray(u) && u.length > maxLayers) return t.failure(u, c, `${name} (got ${u.length})`)
      return widths.validate(u, c)
    },
    t.identity
  )
}

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
  isValue: (u: unknown) => u is A,
  nameOf: (a: A) => string = (a) => a.name
): t.Type<A, string, unknown> =>
  new t.Type<A, string, unknown>(
    typeName,
    isValue,
    (u, c) => {
      const found = typeof u === 'string' ? byName(u) : isValue(u) ? u : undefined
      return found === undefined ? t.failure(u, c, expected) : t.success(found)
    },
    nameOf
  )

/**
 * The inner estimator: a name from `tmaml estimators list`, or the path of a module loaded with
 * `loadEstimatorModule` (src/estimators/module.ts), decoded to its `Estimator`; a module's estimator
 * is encoded back to its path.
 */
export const EstimatorC = named<Estimator>(
  'Estimator',
  "an estimator name (see 'tmaml estimators list') or the path of an estimator module (./my-estimator.mjs)",
  estimatorBySpec,
  EstimatorCodec.is,
  (e) => moduleOf(e) ?? e.name
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

/** A switch: JSON true or false (docs/RELIABILITY.md lists it with the numeric ranges). */
const Switch = refine(t.boolean, 'true or false', () => true, 'Switch')

const BackendC = t.keyof(
  { auto: null, native: null, wasm: null, cpu: null, tensorflow: null, 'tensorflow-gpu': null },
  "one of 'auto', 'native', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'"
)

// ---------------------------------------------------------------------------------------------
// the codec
// ---------------------------------------------------------------------------------------------

const sections = {
  trpo: t.type({
    maxKl: ranged('trpo.maxKl'),
    cgIters: ranged('trpo.cgIters'),
    damping: ranged('trpo.damping'),
    lineSearchSteps: ranged('trpo.lineSearchSteps'),
    backtrack: ranged('trpo.backtrack'),
    /**
     * The share of the batch's tasks whose meta-KL gives the conjugate-gradient Fisher-vector
     * products (rllab/garage's subsample_factor); the line search checks the KL on all tasks.
     * 1 (ProMP) uses every task.
     */
    fisherSubsample: ranged('trpo.fisherSubsample')
  }),
  ppo: t.type({
    clip: ranged('ppo.clip'),
    steps: ranged('ppo.steps'),
    innerKlPenalty: ranged('ppo.innerKlPenalty')
  }),
  /** The meta-learned control variate (paper Algorithm 1). */
  metaCv: t.type({
    hidden: layers('metaCv.hidden.*'),
    innerLr: ranged('metaCv.innerLr'),
    outerLr: ranged('metaCv.outerLr'),
    epochs: ranged('metaCv.epochs')
  }),
  /** Per-task value networks and the Q-network of the action-dependent control variate. */
  valueCv: t.type({
    hidden: layers('valueCv.hidden.*'),
    lr: ranged('valueCv.lr'),
    epochs: ranged('valueCv.epochs'),
    samples: ranged('valueCv.samples')
  })
} as const

export const ExperimentConfig = t.type(
  {
    env: EnvIdC,
    estimator: EstimatorC,
    controlVariate: controlVariateCodec(),
    outer: OuterAlgorithm,
    tasksPerBatch: ranged('tasksPerBatch'),
    rolloutsPerTask: ranged('rolloutsPerTask'),
    /** Steps per episode; 0 = the environment's default horizon. */
    horizon: ranged('horizon'),
    innerSteps: ranged('innerSteps'),
    innerLr: ranged('innerLr'),
    outerLr: ranged('outerLr'),
    gamma: ranged('gamma'),
    hidden: layers('hidden.*'),
    /** The policy's hidden activation. */
    activation: t.keyof({ tanh: null, relu: null }, "one of 'tanh', 'relu'"),
    /**
     * The policy's initial log standard deviation, or null (default): a tenth of each action
     * component's half-range (0.1 for the MuJoCo robots' [-1, 1]), the exploration of the published
     * code, whose normalize(env, 10) wrapper divides a policy of std 1 by 10.
     */
    initLogStd: t.union([ranged('initLogStd'), t.null]),
    /**
     * The policy's output a reaches the simulator as clip(a / actionScale): 10 is the convention of
     * ProMP, the Taming MAML code, garage and pytorch-maml-rl; 1 that of learn2learn (ENVS.md).
     */
    actionScale: ranged('actionScale'),
    /**
     * Scale each task's inner-step data (rewards and baselines) by 1 / the spread of its returns-to-go
     * across episodes (std of R_t - mean_e R_t), so the inner step size means the same whatever the
     * reward scale, and the same for every estimator and control variate (the reference codes
     * normalise their inner advantages).
     */
    innerNormalize: Switch,
    /** A safe integer: larger numbers cannot be told apart as doubles (2^64 would equal 0). */
    seed: ranged('seed'),
    iterations: ranged('iterations'),
    backend: BackendC,
    /** Sampler worker threads; 0 = sample in the main thread. */
    workers: ranged('workers'),
    /**
     * Threads the native backend's largest kernels split over during the outer step, when no sampler
     * worker runs (0 = the machine's cores; 1 = the main thread only). Results do not depend on it.
     */
    kernelThreads: ranged('kernelThreads'),
    /** Evaluate on held-out tasks every N iterations (0 = never). */
    evalEvery: ranged('evalEvery'),
    evalTasks: ranged('evalTasks'),
    checkpointEvery: ranged('checkpointEvery'),
    /** Keep a snapshot (policy, optimiser, control-variate state) every N iterations in snapshots/ (0 = none). */
    snapshotEvery: ranged('snapshotEvery'),
    /** Snapshots kept: the most recent N (0 = every one). */
    snapshotKeep: ranged('snapshotKeep'),
    /** Standardise advantages of the outer objective per task (ProMP does). */
    normalizeAdvantages: Switch,
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
 * standard deviation is 0.1 (the published code's exploration level for controls in [-1, 1]: its
 * normalize(env, 10) wrapper divides a policy of std 1 by 10) with the action reaching the simulator
 * unscaled, and each task's inner data are normalised (innerNormalize), as the reference codes
 * normalise their inner advantages. `initLogStd: null` takes the task distribution's own
 * (EnvSpec.initLogStd: std 0.1 for the MuJoCo robots; 1 on point2d, as MAML's point environment), not
 * one rule for every control range: the inner step moves the mean by an amount proportional to
 * 1 / std^2 in noise widths, and on point2d (controls in [-0.1, 0.1]) a tenth of the range made one
 * inner step overshoot to a post-adaptation return of -660.
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
  kernelThreads: 0,
  evalEvery: 10,
  evalTasks: 10,
  checkpointEvery: 10,
  snapshotEvery: 100,
  snapshotKeep: 20,
  normalizeAdvantages: true,
  runDir: '',
  trpo: { maxKl: 1e-2, cgIters: 10, damping: 1e-5, lineSearchSteps: 15, backtrack: 0.8, fisherSubsample: 1 },
  ppo: { clip: 0.3, steps: 5, innerKlPenalty: 5e-4 },
  metaCv: { hidden: [64, 64], innerLr: 2e-2, outerLr: 1e-3, epochs: 3 },
  valueCv: { hidden: [64, 64], lr: 1e-3, epochs: 20, samples: 4 }
}

/** A partial config whose sections may be partial too, as in a config file (`resolveConfig` merges it). */
export type ConfigPatch = Omit<Partial<ExperimentConfigJson>, keyof typeof sections> & {
  readonly [K in keyof typeof sections]?: Partial<ExperimentConfigJson[K]>
}

/**
 * learn2learn's MAML-TRPO settings where they differ from the published ones, in this project's
 * units: discount 0.95 (not 0.99), and a trust region of 0.01 on the KL averaged over action
 * components — 0.06 in this project's KL, summed over HalfCheetah's 6 controls. On halfcheetah-dir
 * (20 x 20, docs/EXPERIMENTS.md "Learning speed") they took MAML from 77.5 to 176.2 at 100
 * iterations and from 120.6 to 222.0 at 200 (means of 3 seeds); the discount alone, at max KL 0.06,
 * from 144.3 to 168.4 at 100 on seed 1.
 */
export const learn2learnTrpo = (actDim: number): ConfigPatch => ({
  gamma: 0.95,
  trpo: { maxKl: learn2learnMaxKl(actDim) }
})

/**
 * learn2learn's trust region (0.01 on the KL averaged over action components) as a bound on this
 * project's KL, which sums over the `actDim` components: 0.06 for HalfCheetah, 0.02 for point2d.
 */
export const learn2learnMaxKl = (actDim: number): number => Math.round(0.01 * actDim * 1e6) / 1e6

/** HalfCheetah's controls, the quickstart's action space. */
const halfCheetahControls = 6

/**
 * What `tmaml train` runs with no --config: halfcheetah-dir at half the published batch (20 tasks x
 * 20 episodes), MAML with TRPO (Finn et al. 2017's and learn2learn's algorithm; the fastest learner
 * measured here) with learn2learn's discount and trust region (`learn2learnTrpo`), 50 iterations —
 * about 4 minutes on 2 cores, by which the post-adaptation return is far above the pre-adaptation one
 * (README, "Evidence of learning"). Flags still override it; with another --env the trust region is
 * learn2learn's for that env's action space (`learn2learnMaxKl`).
 */
export const quickstart: ConfigPatch = {
  ...learn2learnTrpo(halfCheetahControls),
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
  // `provenance` is what a run folder's config.json records about the run (version, commit, backend):
  // a record, not a setting, so reading that file back as a config ignores it.
  const { provenance: _provenance, ...u } = user as Record<string, unknown>
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
