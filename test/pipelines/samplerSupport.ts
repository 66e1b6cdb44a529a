// Helpers shared by the sampler tests: policies as plain arrays and small requests.
import { rngAt } from '../../src/base/rng.js'
import type { PolicyArrays, PolicySpec, RolloutRequest } from '../../src/pipelines/sampler/index.js'

/** Glorot-uniform weights, biases U(-0.1, 0.1), logStd constant: a policy of `spec` drawn from `seed`. */
export const randomPolicy = (spec: PolicySpec, seed: number, logStd = -0.5): PolicyArrays => {
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
