import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, of } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/pipelines/config.js'
import { meanReturn } from '../../src/pipelines/episodes.js'
import { recordAdaptation } from '../../src/pipelines/record.js'
import type { Sampler } from '../../src/pipelines/sampler/types.js'
import { type TrainDeps, innerLoop, startIteration, trainDeps } from '../../src/pipelines/stages.js'
import { initialState } from '../../src/pipelines/train.js'
import { useSampler } from '../support/pipelines.js'

const sampler = useSampler()

const depsFor = (s: Sampler, env: string, config: Readonly<Record<string, unknown>>, horizon: number): TrainDeps => {
  const cfg = resolveConfig({ env, horizon, rolloutsPerTask: 4, tasksPerBatch: 2, hidden: [8], ...config })
  const deps = E.isRight(cfg) ? trainDeps(cfg.right, s) : cfg
  if (E.isLeft(deps)) throw new Error('depsFor: bad config')
  return deps.right
}

const cheetah = () => depsFor(sampler(), 'halfcheetah-dir', { controlVariate: 'meta', innerLr: 0.5 }, 20)

describe('pipelines/record', () => {
  describe('recordAdaptation', () => {
    it('records the meta-policy and the policy after each inner step, one frame per step plus the reset', async () => {
      const deps = cheetah()
      const r = await recordAdaptation({
        deps,
        state: initialState(deps),
        task: { direction: -1 },
        innerSteps: 2,
        seed: 5,
        show: 2
      })
      if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
      const rec = r.right
      expect([rec.env, rec.system, rec.simulator, rec.qposDim, rec.innerSteps]).toEqual([
        'halfcheetah-dir',
        'halfcheetah',
        'mujoco',
        9,
        2
      ])
      expect(rec.steps.map((s) => s.innerStep)).toEqual([0, 1, 2])
      for (const s of rec.steps) {
        expect(s.episodes).toHaveLength(2)
        for (const e of s.episodes) {
          expect(e.qpos).toHaveLength(21)
          expect(e.rewards).toHaveLength(20)
          expect(e.return).toBeCloseTo(
            e.rewards.reduce((a, b) => a + b, 0),
            4
          )
        }
      }
      // Adaptation changed the policy: the first episode moves differently after the inner steps.
      expect(rec.steps[2].episodes[0].qpos[20]).not.toEqual(rec.steps[0].episodes[0].qpos[20])
    })

    it('records the episodes training would sample and adapt on: the same batches as the training stages', async () => {
      const deps = cheetah()
      const state = initialState(deps)
      const r = await recordAdaptation({ deps, state, task: { direction: 1 }, innerSteps: 2, seed: 11 })
      if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
      // The training stages on the same one-task context, without the recorder.
      const direct = { ...deps, cfg: { ...deps.cfg, seed: 11, innerSteps: 2 } }
      const ctx = await lastValueFrom(
        of({ ...startIteration(direct, state), tasks: [{ direction: 1 }] }).pipe(innerLoop())
      )
      expect(r.right.steps[0].meanReturn).toBe(meanReturn([ctx.inner[0][0].batch]))
      expect(r.right.steps[1].meanReturn).toBe(meanReturn([ctx.inner[0][1].batch]))
      const T = 20
      expect(r.right.steps[1].episodes[0].rewards).toEqual(Array.from(ctx.inner[0][1].batch.rewards.subarray(0, T)))
    })

    it('records positions that match the observations: halfcheetah observes qpos[1:] before each step', async () => {
      const deps = cheetah()
      const r = await recordAdaptation({
        deps,
        state: initialState(deps),
        task: { direction: 1 },
        innerSteps: 1,
        seed: 3
      })
      if (E.isLeft(r)) throw new Error(JSON.stringify(r.left))
      // Re-sample the shown episode's batch and compare its observations with the recorded frames.
      const s = await deps.sampler.sample({
        envId: 'halfcheetah-dir',
        tasks: [{ direction: 1 }],
        episodesPerTask: deps.cfg.rolloutsPerTask,
        horizon: 20,
        policy: deps.policy,
        params: [initialState(deps).policy],
        seed: 3,
        stream: [0, 'pre', 0]
      })
      if (E.isLeft(s)) throw new Error(JSON.stringify(s.left))
      const obsDim = deps.env.obsDim
      const frames = r.right.steps[0].episodes[0].qpos
      for (let t = 0; t < 20; t++) {
        const obs = Array.from(s.right[0].obs.subarray(t * obsDim, t * obsDim + 8))
        expect(obs).toEqual(frames[t].slice(1, 9).map(Math.fround))
      }
    })

    it('is reproducible: the same request gives the same recording', async () => {
      const deps = depsFor(sampler(), 'point2d', { controlVariate: 'linear' }, 30)
      const req = { deps, state: initialState(deps), task: { goal: [0.3, -0.2] }, innerSteps: 1, seed: 2 }
      const a = await recordAdaptation(req)
      const b = await recordAdaptation(req)
      expect(E.isRight(a)).toBe(true)
      expect(a).toEqual(b)
      if (E.isRight(a)) {
        expect(a.right.qposDim).toBe(2)
        const e = a.right.steps[0].episodes[0]
        expect(e.qpos).toHaveLength(e.rewards.length + 1)
      }
    })

    it('fails, naming the stream, when a replay does not reproduce what the sampler returned', async () => {
      const deps = cheetah()
      const real = deps.sampler
      const tampered: Sampler = {
        ...real,
        sample: async (req) => {
          const r = await real.sample(req)
          if (E.isRight(r)) r.right[0].rewards[3] += 1
          return r
        }
      }
      const r = await recordAdaptation({
        deps: { ...deps, sampler: tampered },
        state: initialState(deps),
        task: { direction: 1 },
        innerSteps: 1,
        seed: 1
      })
      expect(E.isLeft(r) && r.left._tag).toBe('NumericalError')
      expect(JSON.stringify(r)).toContain('0/pre/0')
    })

    it('rejects a task of another env and a bad inner-step count', async () => {
      const deps = cheetah()
      const state = initialState(deps)
      const bad = await recordAdaptation({ deps, state, task: { goal: [0, 0] }, innerSteps: 1, seed: 1 })
      expect(E.isLeft(bad) && bad.left._tag).toBe('InvalidInput')
      const steps = await recordAdaptation({ deps, state, task: { direction: 1 }, innerSteps: 0, seed: 1 })
      expect(JSON.stringify(steps)).toContain('innerSteps must be an integer in [1, 10]')
    })
  })
})
