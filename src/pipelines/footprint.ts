/**
 * How much memory a training run will need, from its config alone, before anything is allocated: a
 * run whose batch cannot fit is refused with this estimate instead of crashing hours later (or at
 * once with a RangeError from deep inside tfjs).
 *
 * The estimate is a coarse upper bound of the peak resident size, per part: the episode batches of
 * an iteration (with the sampler's copy), the tensors the autodiff tape keeps through the inner
 * steps and the outer gradient, the per-task adapted parameters, the control-variate networks' fits
 * and a fixed runtime base (Node, tfjs, one MuJoCo module per thread). Its factors were measured:
 * see docs/RELIABILITY.md, "Bounded inputs".
 *
 * @example
 * const f = estimateFootprint(cfg, { obsDim: 17, actDim: 6, horizon: 100 })
 * f.bytes // e.g. 1.1e9 for halfcheetah-dir at 20 tasks x 20 episodes
 *
 * @packageDocumentation
 */
import * as os from 'node:os'
import type { ExperimentConfig } from './config.js'

/** The dimensions of the environment a config runs on. */
export interface EnvDims {
  readonly obsDim: number
  readonly actDim: number
  /** The horizon in effect (the config's, or the env's default when the config says 0). */
  readonly horizon: number
}

/** A memory estimate in bytes, with the parts it adds up. */
export interface Footprint {
  readonly bytes: number
  readonly parts: Readonly<Record<'runtime' | 'episodes' | 'autodiff' | 'parameters' | 'controlVariates', number>>
}

const f32 = 4
/** Node + tfjs + the main thread's MuJoCo module, and each worker thread's own module and heap. */
const runtimeBase = 300e6
const perWorker = 80e6
/**
 * Tensors the tape keeps per unit and sample, through the inner steps and the outer gradient. TRPO's
 * meta-KL products (J^T F J, src/pipelines/meta.ts) keep less than the meta-gradient does (measured
 * at 20 x 20 x 100: 450 MB of live native arrays at the product's peak against 569 MB for the VPG
 * meta-gradient; the double backward they replaced kept 1.83 GB), so TRPO needs no extra factor.
 */
const tapeFactor = 14
/** The same for a control-variate network's fit (first order only). */
const cvTapeFactor = 6

const sum = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0)

/** Parameters of an MLP `inDim -> hidden... -> outDim`. */
const mlpParams = (inDim: number, hidden: ReadonlyArray<number>, outDim: number): number => {
  const dims = [inDim, ...hidden, outDim]
  let n = 0
  for (let l = 0; l + 1 < dims.length; l++) n += dims[l] * dims[l + 1] + dims[l + 1]
  return n
}

/**
 * The estimated peak memory of a run of `cfg` on an environment of `dims`.
 *
 * @category estimates
 */
export const estimateFootprint = (cfg: ExperimentConfig, dims: EnvDims): Footprint => {
  const { obsDim: o, actDim: a, horizon: T } = dims
  const K = cfg.tasksPerBatch
  const E = cfg.rolloutsPerTask
  const S = cfg.innerSteps
  // Samples of one iteration: one pre-update batch per inner step and the post-update batch.
  const samples = (S + 1) * K * E * T
  const evalSamples = cfg.evalEvery > 0 ? 2 * cfg.evalTasks * E * T : 0
  // obs, actions, reward, mask, baseline per step; the sampler's chunks are a second copy.
  const episodes = 2 * f32 * (o + a + 3) * (samples + evalSamples)
  const widths = o + sum(cfg.hidden) + 2 * a
  const autodiff = tapeFactor * f32 * widths * samples
  const P = mlpParams(o, cfg.hidden, a) + a
  // Adapted parameters per task and inner step, with their gradients; Adam's moments.
  const parameters = f32 * P * (4 * K * (S + 1) + 3)
  const taskSamples = K * E * T
  // A control variate of the user's own is estimated as the cheap ones (it names no network here).
  const cv = cfg.controlVariate.name
  const controlVariates =
    cv === 'meta'
      ? cvTapeFactor * f32 * (o + sum(cfg.metaCv.hidden) + 1) * taskSamples
      : cv === 'value'
        ? cvTapeFactor * f32 * (o + sum(cfg.valueCv.hidden) + 1) * taskSamples
        : cv === 'action-dependent'
          ? cvTapeFactor * f32 * (o + a + sum(cfg.valueCv.hidden) + 1) * taskSamples * cfg.valueCv.samples
          : f32 * 16 * taskSamples
  const runtime = runtimeBase + perWorker * cfg.workers
  const parts = { runtime, episodes, autodiff, parameters, controlVariates }
  return { bytes: sum(Object.values(parts)), parts }
}

/** Bytes as people read them: "312 MB", "1.4 GB", "3.2 TB". */
export const formatBytes = (n: number): string => {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
  let u = 0
  let x = n
  while (x >= 1000 && u < units.length - 1) {
    x /= 1000
    u++
  }
  return `${x >= 100 || u === 0 ? x.toFixed(0) : x.toFixed(1)} ${units[u]}`
}

/**
 * The memory this process may use: `TMAML_MEMORY_LIMIT_MB` when set (a share of a machine used by
 * others, or a container limit Node cannot see), otherwise the machine's total or a smaller container
 * (cgroup) limit when Node knows one.
 */
export const memoryLimit = (env: Readonly<Record<string, string | undefined>> = process.env): number => {
  const mb = Number(env['TMAML_MEMORY_LIMIT_MB'] ?? '')
  if (env['TMAML_MEMORY_LIMIT_MB'] !== undefined && Number.isFinite(mb) && mb > 0) return mb * 1e6
  const total = os.totalmem()
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.()
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total
}
