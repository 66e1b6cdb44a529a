/**
 * The benchmark's second workload: the training pipeline's own meta-learning computations, run
 * through src/pipelines (meta.ts's task-batched objectives, outer.ts's steps) exactly as an iteration
 * runs them, on synthetic episodes of the published batch (40 tasks x 20 episodes x horizon 100,
 * halfcheetah's 17-dimensional observations and 6 actions, policy 64-64 tanh, the tmaml estimator,
 * one inner step):
 *
 *   meta-gradient  grad_theta of vpgObjective (VPG's meta-objective through the adaptation)
 *   TRPO step      trpoStep: surrogate gradient, 10 CG iterations on the meta-KL HVP, line search
 *   PPO step       ppoStep: 5 Adam steps on the clipped objective with the inner-KL penalty
 *
 * Episodes are ragged (each ends at a random step in [T/2, T]); baselines, rewards, observations and
 * actions are seeded normals; the pre-update episodes were "sampled" with theta itself, as in a real
 * iteration. The PyTorch reference (benchmarks/reference/maml_torch.py, `--suite pipeline`)
 * recomputes everything from the same raw arrays with its own code.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { rngAt } from '../../src/base/rng.js'
import { disposeParams, valueAndGrads } from '../../src/graph/autodiff.js'
import { tmaml } from '../../src/estimators/builtins.js'
import { type ExperimentConfig, publishedDefaults } from '../../src/pipelines/config.js'
import type { EpisodeBatch, WithBaseline } from '../../src/pipelines/episodes.js'
import { type MetaProblem, makeMetaProblem, vpgObjective } from '../../src/pipelines/meta.js'
import { adamInit } from '../../src/pipelines/optim/adam.js'
import type { ArrayParams } from '../../src/graph/nn.js'
import { flatten } from '../../src/pipelines/optim/params.js'
import { ppoStep, trpoStep } from '../../src/pipelines/outer.js'
import { type PolicySpec, initPolicy, toArrays, toTensors } from '../../src/pipelines/policy.js'

export interface PipelineSize {
  readonly tasks: number
  readonly episodes: number
  readonly horizon: number
  readonly obsDim: number
  readonly actDim: number
  readonly hidden: ReadonlyArray<number>
}

/** The published batch with halfcheetah-dir's dimensions. */
export const publishedSize: PipelineSize = {
  tasks: 40,
  episodes: 20,
  horizon: 100,
  obsDim: 17,
  actDim: 6,
  hidden: [64, 64]
}

/** One task's raw episodes: obs [E, T, obsDim], actions [E, T, actDim], rewards, mask, baseline [E, T]. */
export interface RawEpisodes {
  readonly obs: Float32Array
  readonly actions: Float32Array
  readonly rewards: Float32Array
  readonly mask: Float32Array
  readonly baseline: Float32Array
}

export interface PipelineData {
  readonly size: PipelineSize
  readonly theta: ArrayParams
  readonly pre: ReadonlyArray<RawEpisodes>
  readonly post: ReadonlyArray<RawEpisodes>
  /** The hyperparameters the steps use (publishedDefaults without innerNormalize). */
  readonly cfg: ExperimentConfig
}

const normals = (rng: ReturnType<typeof rngAt>, n: number, scale = 1): Float32Array => {
  const a = new Float32Array(n)
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal()
  return a
}

const episodes = (seed: number, size: PipelineSize, task: number, phase: string): RawEpisodes => {
  const { episodes: E, horizon: T, obsDim, actDim } = size
  const rng = rngAt(seed, 'pipeline', phase, task)
  const mask = new Float32Array(E * T)
  for (let e = 0; e < E; e++) {
    const length = Math.ceil(T / 2) + rng.int(T - Math.ceil(T / 2) + 1)
    for (let t = 0; t < length; t++) mask[e * T + t] = 1
  }
  return {
    obs: normals(rng, E * T * obsDim),
    actions: normals(rng, E * T * actDim),
    rewards: normals(rng, E * T).map((r, i) => r * mask[i]),
    mask,
    baseline: normals(rng, E * T, 0.5).map((b, i) => b * mask[i])
  }
}

/** Generate the workload's numbers from a seed (no tfjs needed). */
export const makePipelineData = (seed: number, size: PipelineSize = publishedSize): PipelineData => {
  const spec: PolicySpec = { obsDim: size.obsDim, actDim: size.actDim, hidden: size.hidden, activation: 'tanh' }
  return {
    size,
    // log-std 0: the synthetic actions are N(0, 1); at std 0.1 they sit 10 std from the mean and PPO's
    // likelihood ratios overflow (ppoStep: NumericalError)
    theta: initPolicy(spec, rngAt(seed, 'pipeline', 'theta'), 0),
    pre: Array.from({ length: size.tasks }, (_, k) => episodes(seed, size, k, 'pre')),
    post: Array.from({ length: size.tasks }, (_, k) => episodes(seed, size, k, 'post')),
    // innerNormalize off: the PyTorch reference does not implement it (a per-task rescaling of the
    // inner data before the graph, which costs nothing measurable)
    cfg: { ...publishedDefaults, innerNormalize: false }
  }
}

const batchOf = (size: PipelineSize, task: number, r: RawEpisodes): EpisodeBatch => ({
  task,
  episodes: size.episodes,
  horizon: size.horizon,
  obsDim: size.obsDim,
  actDim: size.actDim,
  obs: r.obs,
  actions: r.actions,
  rewards: r.rewards,
  mask: r.mask,
  terminated: new Uint8Array(size.episodes),
  lastObs: new Float32Array(size.episodes * size.obsDim),
  diverged: 0
})

export const policySpecOf = (size: PipelineSize): PolicySpec => ({
  obsDim: size.obsDim,
  actDim: size.actDim,
  hidden: size.hidden,
  activation: 'tanh'
})

/** The iteration's MetaProblem on the active backend, as stages.ts builds it. Dispose with disposeMetaProblem. */
export const pipelineProblem = (d: PipelineData): MetaProblem => {
  const pre: ReadonlyArray<ReadonlyArray<WithBaseline>> = d.pre.map((r, k) => [
    { batch: batchOf(d.size, k, r), baseline: { shape: 'per-state', values: r.baseline }, sampledWith: d.theta }
  ])
  // Post-update episodes come from each task's adapted policy; only the outer objectives read them,
  // and those take the old adapted policies explicitly, so `sampledWith` is not used here.
  const post: ReadonlyArray<WithBaseline> = d.post.map((r, k) => ({
    batch: batchOf(d.size, k, r),
    baseline: { shape: 'per-state', values: r.baseline },
    sampledWith: d.theta
  }))
  return makeMetaProblem({
    policy: policySpecOf(d.size),
    estimator: tmaml,
    alpha: d.cfg.innerLr,
    gamma: d.cfg.gamma,
    normalizeAdvantages: d.cfg.normalizeAdvantages,
    innerNormalize: d.cfg.innerNormalize,
    pre,
    post
  })
}

/** The pipeline's computations: each returns its result flattened in sorted parameter-name order. */
export type PipelineComputation = 'metaGradient' | 'trpoStep' | 'ppoStep'
export const pipelineComputations: ReadonlyArray<PipelineComputation> = ['metaGradient', 'trpoStep', 'ppoStep']

const stepOf = (theta: ArrayParams, next: ArrayParams): Float32Array => {
  const a = flatten(theta)
  return flatten(next).map((v, i) => v - a[i])
}

/**
 * Run one computation: the meta-gradient of VPG's objective, or the parameter change of one TRPO or
 * PPO step (theta_new - theta) with the step's diagnostics.
 */
export const runPipeline = (
  m: MetaProblem,
  d: PipelineData,
  what: PipelineComputation
): { readonly result: Float32Array; readonly stats: Readonly<Record<string, number>> } => {
  if (what === 'metaGradient') {
    const theta = toTensors(d.theta)
    const { value, grads } = valueAndGrads(vpgObjective(m))(theta)
    const result = flatten(toArrays(grads))
    const stats = { surrogate: value.dataSync()[0] }
    value.dispose()
    disposeParams(grads)
    disposeParams(theta)
    return { result, stats }
  }
  const step = what === 'trpoStep' ? trpoStep : ppoStep
  const r = step(m, d.theta, adamInit(d.theta), d.cfg)
  if (E.isLeft(r)) throw new Error(`${what}: ${r.left._tag}`)
  return { result: stepOf(d.theta, r.right.params), stats: r.right.stats }
}
