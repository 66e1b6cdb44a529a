/**
 * A `Sampler` without environments, for unit tests of the pipeline: for any request it returns
 * episodes of the requested shape whose observations are normal draws and whose actions come from the
 * request's policy (mean + exp(logStd) noise, `gaussianMlpMean`), with reward -||a||^2 per step and every
 * step valid. Deterministic in (seed, stream, task, episode), like the real sampler. It records the
 * requests it served and can fail on demand.
 *
 * @example
 * const fake = fakeSampler()
 * const deps = { ...point2dDeps(fake.sampler, {...}, 5, [4]) }
 * fake.requests  // what the stages asked for
 */
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, resourceError } from '../../src/base/errors.js'
import { rngAt } from '../../src/base/rng.js'
import { gaussianMlpMean } from '../../src/pipelines/sampler/jsPolicy.js'
import type { EpisodeBatch, RolloutRequest, Sampler } from '../../src/pipelines/sampler/types.js'

export interface FakeSampler {
  readonly sampler: Sampler
  /** Every request served, in order. */
  readonly requests: ReadonlyArray<RolloutRequest>
}

const episodesOf = (req: RolloutRequest, k: number): EpisodeBatch => {
  const { obsDim, actDim } = req.policy
  const { episodesPerTask: nE, horizon: T } = req
  const params = req.params.length === 1 ? req.params[0] : req.params[k]
  const obs = new Float32Array(nE * T * obsDim)
  const actions = new Float32Array(nE * T * actDim)
  const rewards = new Float32Array(nE * T)
  for (let e = 0; e < nE; e++) {
    const rng = rngAt(req.seed, 'fake', ...req.stream, k, e)
    for (let i = 0; i < T * obsDim; i++) obs[e * T * obsDim + i] = rng.normal()
  }
  const mean = gaussianMlpMean(req.policy, params, obs)
  const std = Array.from(params['logStd'].values, Math.exp)
  for (let e = 0; e < nE; e++) {
    const rng = rngAt(req.seed, 'fake', ...req.stream, k, e, 'action')
    for (let t = 0; t < T; t++) {
      let r = 0
      for (let c = 0; c < actDim; c++) {
        const i = (e * T + t) * actDim + c
        actions[i] = mean[i] + std[c] * rng.normal()
        r -= actions[i] ** 2
      }
      rewards[e * T + t] = r
    }
  }
  return {
    task: k,
    episodes: nE,
    horizon: T,
    obsDim,
    actDim,
    obs,
    actions,
    rewards,
    mask: new Float32Array(nE * T).fill(1),
    terminated: new Uint8Array(nE),
    lastObs: new Float32Array(nE * obsDim),
    diverged: 0
  }
}

/** A fake sampler; `failOn(req)` makes a request fail with a `ResourceError`. */
export const fakeSampler = (failOn: (req: RolloutRequest) => boolean = () => false): FakeSampler => {
  const requests: RolloutRequest[] = []
  return {
    requests,
    sampler: {
      workers: 0,
      sample: async (req): Promise<E.Either<TmamlError, ReadonlyArray<EpisodeBatch>>> => {
        requests.push(req)
        if (failOn(req)) return E.left(resourceError('fake sampler', `asked to fail on ${req.stream.join('/')}`))
        return E.right(req.tasks.map((_, k) => episodesOf(req, k)))
      },
      close: async () => undefined
    }
  }
}
