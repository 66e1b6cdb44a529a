// The same seed, task and actions give bit-identical trajectories: twice in one thread, across envs of
// one module, and in a worker thread (a separate MuJoCo module) against the main thread.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { recordTrajectory, type Trajectory, type TrajectoryRequest } from '../../src/envs/rollout.js'
import { envSpecs } from '../../src/envs/registry.js'
import { envWorkerPath, startEnvWorker, type EnvWorker } from '../../src/envs/workerClient.js'
import { makeEnv, must, sameBits, stepOk, text } from './support.js'

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
    let worker: EnvWorker | undefined
    beforeAll(() => {
      const path = envWorkerPath()
      if (E.isLeft(path)) throw new Error(`${text(path.left)} (the test command runs tsc before vitest)`)
      expect(existsSync(path.right)).toBe(true)
      // The worker runs dist/, this file runs src/: a stale build would make them differ for a dull reason.
      const newest = (dir: string, ext: string): number =>
        Math.max(
          ...readdirSync(dir, { recursive: true, encoding: 'utf8' })
            .filter((f) => f.endsWith(ext))
            .map((f) => statSync(join(dir, f)).mtimeMs)
        )
      const distDir = dirname(path.right)
      const srcDir = join(process.cwd(), 'src', 'envs')
      if (existsSync(srcDir) && newest(srcDir, '.ts') > newest(distDir, '.js') + 1000)
        throw new Error(`${distDir} is older than ${srcDir}: rebuild with \`npx tsc -p .\` before running these tests`)
      worker = must(startEnvWorker(path.right))
    })
    afterAll(async () => {
      await worker?.terminate()
    })

    it.each(cases)('$envId: the worker thread reproduces the main thread bit for bit', async (c) => {
      if (worker === undefined) throw new Error('no worker')
      const req = request(c.envId, 2, c.steps, 23)
      const here = must(await recordTrajectory(req))
      const there = must(await worker.trajectory(req))
      expect(same(here, there)).toBe(true)
    })

    it('an error in the worker comes back as a value naming the problem', async () => {
      if (worker === undefined) throw new Error('no worker')
      const e = await worker.trajectory({ ...request('point2d', 1, 2, 1), envId: 'no-such-env' })
      expect(E.isLeft(e) && text(e.left)).toContain("unknown environment 'no-such-env'")
    })
  })
})
