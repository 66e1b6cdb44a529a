// The same seed, task and actions give bit-identical trajectories: twice in one thread, across envs of
// one module, and in a worker thread (a separate MuJoCo module, through the sampler's worker threads,
// the project's one worker layer) against the main thread.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { envSpecs } from '../../src/envs/registry.js'
import { makeSampler } from '../../src/pipelines/sampler/index.js'
import { samplerWorkerPath } from '../../src/pipelines/sampler/samplerWorker.js'
import type { Sampler } from '../../src/pipelines/sampler/types.js'
import { randomPolicy, sameBatches } from '../pipelines/samplerSupport.js'
import {
  type Trajectory,
  type TrajectoryRequest,
  makeEnv,
  must,
  recordTrajectory,
  sameBits,
  stepOk,
  text
} from './support.js'

const request = (envId: keyof typeof envSpecs, n: number, steps: number, seed: number): TrajectoryRequest => {
  const spec = envSpecs[envId]
  const rng = rngAt(seed, 'actions')
  const discrete = spec.discreteActions
  // Actions beyond the bounds too, so that clipping is part of what must agree.
  const actions = Float32Array.from({ length: steps * n * spec.actDim }, (_, k) =>
    discrete !== undefined
      ? rng.int(discrete)
      : 1.3 * rng.uniform(spec.actionLow[k % spec.actDim], spec.actionHigh[k % spec.actDim])
  )
  return { envId, n, tasks: [...spec.sampleTasks(rngAt(seed, 'tasks'), n)], seed, steps, actions }
}

const same = (a: Trajectory, b: Trajectory): boolean =>
  sameBits(a.obs, b.obs) && sameBits(a.reward, b.reward) && sameBits(a.done, b.done) && sameBits(a.state, b.state)

// Horizons are long enough for episodes to end (Walker, Humanoid fall; tabular resets every 3 steps).
const cases = [
  { envId: 'halfcheetah-vel', steps: 120 },
  { envId: 'ant-goal', steps: 120 },
  { envId: 'walker-dir', steps: 150 },
  { envId: 'swimmer-vel', steps: 120 },
  { envId: 'humanoid-dir2d', steps: 80 },
  { envId: 'point1d', steps: 30 },
  { envId: 'point2d', steps: 30 },
  { envId: 'tabular-mdp', steps: 30 }
] as const

describe('envs/determinism', () => {
  describe('one thread', () => {
    it.each(cases)('$envId: the same request twice gives bit-identical obs, rewards, dones and states', async (c) => {
      const req = request(c.envId, 3, c.steps, 17)
      const a = must(await recordTrajectory(req))
      const b = must(await recordTrajectory(req))
      expect(same(a, b)).toBe(true)
      expect(a.reward.every(Number.isFinite)).toBe(true)
    })

    it('a different seed gives a different trajectory', async () => {
      const a = must(await recordTrajectory(request('walker-dir', 2, 20, 1)))
      const b = must(await recordTrajectory({ ...request('walker-dir', 2, 20, 1), seed: 2 }))
      expect(sameBits(a.obs, b.obs)).toBe(false)
    })

    it('envs of one module do not interact: env i of a batch equals a lone env seeded rngAt(seed, i)', async () => {
      const spec = envSpecs['ant-dir']
      const batch = await makeEnv(spec, { n: 3, tasks: [{ direction: 1 }, { direction: -1 }, { direction: 1 }] })
      const lone = await makeEnv(spec, { n: 1, tasks: [{ direction: -1 }] })
      try {
        must(batch.reset(5))
        must(lone.reset([rngAt(5, 1)]))
        const rng = rngAt(3)
        for (let t = 0; t < 60; t++) {
          const actions = Float32Array.from({ length: 24 }, () => rng.uniform(-1, 1))
          const all = stepOk(batch, actions)
          const one = stepOk(lone, actions.subarray(8, 16))
          expect(sameBits(all.obs.subarray(111, 222), one.obs)).toBe(true)
          expect(all.reward[1]).toBe(one.reward[0])
        }
      } finally {
        batch.dispose()
        lone.dispose()
      }
    })
  })

  describe('across worker threads', () => {
    let here: Sampler | undefined
    let there: Sampler | undefined
    beforeAll(async () => {
      const path = samplerWorkerPath()
      if (E.isLeft(path)) throw new Error(`${text(path.left)} (the test command runs tsc before vitest)`)
      expect(existsSync(path.right)).toBe(true)
      // The worker runs dist/, this file runs src/: a stale build would make them differ for a dull reason.
      const newest = (dir: string, ext: string): number =>
        Math.max(
          ...readdirSync(dir, { recursive: true, encoding: 'utf8' })
            .filter((f) => f.endsWith(ext))
            .map((f) => statSync(join(dir, f)).mtimeMs)
        )
      const dist = join(dirname(path.right), '..', '..')
      for (const folder of ['envs', join('pipelines', 'sampler')]) {
        const srcDir = join(process.cwd(), 'src', folder)
        if (existsSync(srcDir) && newest(srcDir, '.ts') > newest(join(dist, folder), '.js') + 1000)
          throw new Error(`dist/${folder} is older than src/${folder}: rebuild with \`npx tsc -p .\` first`)
      }
      here = must(await makeSampler({ workers: 0 }))
      there = must(await makeSampler({ workers: 1 }))
    })
    afterAll(async () => {
      await here?.close()
      await there?.close()
    })

    it.each(cases.filter((c) => envSpecs[c.envId].discreteActions === undefined))(
      '$envId: a worker thread reproduces the main thread bit for bit',
      async (c) => {
        if (here === undefined || there === undefined) throw new Error('no samplers')
        const spec = envSpecs[c.envId]
        const policy = { obsDim: spec.obsDim, actDim: spec.actDim, hidden: [8], activation: 'tanh' as const }
        // Unit noise: actions beyond the bounds too, so that clipping is part of what must agree.
        const req = {
          envId: c.envId,
          tasks: [...spec.sampleTasks(rngAt(23, 'tasks'), 2)],
          episodesPerTask: 2,
          horizon: Math.min(c.steps, spec.horizon),
          policy,
          params: [randomPolicy(policy, 23, 0)],
          seed: 23,
          stream: ['determinism']
        }
        const a = must(await here.sample(req))
        const b = must(await there.sample(req))
        expect(sameBatches(a, b)).toBe(true)
        expect(a.every((x) => x.rewards.every(Number.isFinite))).toBe(true)
      }
    )
  })
})
