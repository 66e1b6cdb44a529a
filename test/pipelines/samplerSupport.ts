// Helpers shared by the sampler tests: policies as plain arrays and small requests.
import * as E from 'fp-ts/lib/Either.js'
import { rngAt } from '../../src/base/rng.js'
import type { ArrayParams } from '../../src/graph/nn.js'
import {
  makeSampler,
  type EpisodeBatch,
  type PolicySpec,
  type RolloutRequest,
  type Sampler,
  type SamplerEvent,
  type SamplerOptions
} from '../../src/pipelines/sampler/index.js'
import { samplerWorkerPath } from '../../src/pipelines/sampler/samplerWorker.js'
import { must, sameBits, text } from '../envs/support.js'

/** Glorot-uniform weights, biases U(-0.1, 0.1), logStd constant: a policy of `spec` drawn from `seed`. */
export const randomPolicy = (spec: PolicySpec, seed: number, logStd = -0.5): ArrayParams => {
  const rng = rngAt(seed, 'test-policy')
  const sizes = [spec.obsDim, ...spec.hidden, spec.actDim]
  const out: Record<string, { shape: number[]; values: Float32Array }> = {}
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [nIn, nOut] = [sizes[l], sizes[l + 1]]
    const lim = Math.sqrt(6 / (nIn + nOut))
    out[`W${l}`] = {
      shape: [nIn, nOut],
      values: Float32Array.from({ length: nIn * nOut }, () => rng.uniform(-lim, lim))
    }
    out[`b${l}`] = { shape: [nOut], values: Float32Array.from({ length: nOut }, () => rng.uniform(-0.1, 0.1)) }
  }
  out.logStd = { shape: [spec.actDim], values: new Float32Array(spec.actDim).fill(logStd) }
  return out
}

export const cheetahPolicy: PolicySpec = { obsDim: 17, actDim: 6, hidden: [32, 32], activation: 'tanh' }

/** A small HalfCheetah-dir request: `tasks` tasks alternating direction, `episodes` each. */
export const cheetahRequest = (tasks: number, episodes: number, horizon: number, seed = 11): RolloutRequest => ({
  envId: 'halfcheetah-dir',
  tasks: Array.from({ length: tasks }, (_, k) => ({ direction: k % 2 === 0 ? 1 : -1 })),
  episodesPerTask: episodes,
  horizon,
  policy: cheetahPolicy,
  params: [randomPolicy(cheetahPolicy, seed)],
  seed,
  stream: [0, 'pre']
})

/** Field-by-field, bit-for-bit equality of two lists of batches. */
export const sameBatches = (a: ReadonlyArray<EpisodeBatch>, b: ReadonlyArray<EpisodeBatch>): boolean =>
  a.length === b.length &&
  a.every((x, k) => {
    const y = b[k]
    return (
      x.task === y.task &&
      x.episodes === y.episodes &&
      x.horizon === y.horizon &&
      x.obsDim === y.obsDim &&
      x.actDim === y.actDim &&
      x.diverged === y.diverged &&
      sameBits(x.obs, y.obs) &&
      sameBits(x.actions, y.actions) &&
      sameBits(x.rewards, y.rewards) &&
      sameBits(x.mask, y.mask) &&
      sameBits(x.terminated, y.terminated) &&
      sameBits(x.lastObs, y.lastObs)
    )
  })

/** A sampler or a test failure; `events` collects what it reports. */
export const startSampler = async (
  opts: Omit<SamplerOptions, 'onEvent'>
): Promise<{ readonly sampler: Sampler; readonly events: SamplerEvent[] }> => {
  const events: SamplerEvent[] = []
  const s = await makeSampler({ ...opts, onEvent: (e) => events.push(e) })
  return { sampler: must(s), events }
}

/** Fail early with a useful message when the compiled worker is missing (the test command runs tsc first). */
export const requireCompiledWorker = (): void => {
  const p = samplerWorkerPath()
  if (E.isLeft(p)) throw new Error(`${text(p.left)} (the test command runs tsc before vitest)`)
}
