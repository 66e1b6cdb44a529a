/**
 * A `Sampler` without environments, for unit tests of the pipeline: for any request it returns
 * episodes of the requested shape whose observations are normal draws and whose actions come from the
 * request's policy (mean + exp(logStd) noise, `gaussianMlpMean`), with reward -||a||^2 per step and every
 * step valid. Deterministic in (seed, stream, task id, episode), like the real sampler. `sample$` emits
 * the tasks one by one, each in a macrotask of its own, in slot order or the order `arrival` gives (a
 * permutation of the slots). It records the requests it served and can fail on demand.
 *
 * @example
 * const fake = fakeSampler()
 * const deps = { ...point2dDeps(fake.sampler, {...}, 5, [4]) }
 * fake.requests  // what the stages asked for
 */
import { Observable } from 'rxjs'
import { resourceError } from '../../src/base/errors.js'
import { rngAt } from '../../src/base/rng.js'
import { gaussianMlpMean } from '../../src/pipelines/sampler/jsPolicy.js'
import { SampleError, streamSampler, taskIdsOf } from '../../src/pipelines/sampler/stream.js'
import type { EpisodeBatch, RolloutRequest, Sampler } from '../../src/pipelines/sampler/types.js'

export interface FakeSampler {
  readonly sampler: Sampler
  /** Every request served, in order. */
  readonly requests: ReadonlyArray<RolloutRequest>
}

const episodesOf = (req: RolloutRequest, slot: number): EpisodeBatch => {
  const { obsDim, actDim } = req.policy
  const { episodesPerTask: nE, horizon: T } = req
  const params = req.params.length === 1 ? req.params[0] : req.params[slot]
  const k = taskIdsOf(req)[slot]
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

/** How a request's slots arrive: a permutation of `0 .. slots - 1`. */
export type Arrival = (req: RolloutRequest, slots: number) => ReadonlyArray<number>

/** A fake sampler; `failOn(req)` makes a request fail with a `ResourceError`. */
export const fakeSampler = (
  failOn: (req: RolloutRequest) => boolean = () => false,
  arrival: Arrival = (_, n) => [...Array(n).keys()]
): FakeSampler => {
  const requests: RolloutRequest[] = []
  return {
    requests,
    sampler: streamSampler({
      workers: 0,
      sample$: (req) =>
        new Observable<EpisodeBatch>((sub) => {
          requests.push(req)
          if (failOn(req))
            return sub.error(new SampleError(resourceError('fake sampler', `asked to fail on ${req.stream.join('/')}`)))
          const order = [...arrival(req, req.tasks.length)]
          const timer = setInterval(() => {
            const slot = order.shift()
            if (slot === undefined) {
              clearInterval(timer)
              return sub.complete()
            }
            sub.next(episodesOf(req, slot))
          }, 0)
          return () => clearInterval(timer)
        }),
      close: async () => undefined
    })
  }
}
