// Task codecs (decode at the boundary, errors naming the field), seeded samplers and the registry.
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type * as t from 'io-ts'
import { decodeWith, formatError, type TmamlError } from '../../src/base/errors.js'
import { rngAt } from '../../src/base/rng.js'
import { envIds, envSpecs, getEnvSpec, isEnvId } from '../../src/envs/registry.js'
import {
  Direction2dTask,
  DirectionTask,
  Goal2dTask,
  sampleDirections,
  sampleDirections2d,
  sampleGoals2d,
  sampleTabularMdps,
  sampleVelocities,
  TabularMdpTask,
  VelocityTask
} from '../../src/envs/tasks.js'
import { must, mustFail, text } from './support.js'

describe('envs/tasks', () => {
  describe('codecs', () => {
    it('accept valid tasks', () => {
      expect(DirectionTask.is({ direction: -1 })).toBe(true)
      expect(VelocityTask.is({ velocity: 1.5 })).toBe(true)
      expect(Direction2dTask.is({ direction: [0.6, 0.8] })).toBe(true)
      expect(Goal2dTask.is({ goal: [-3, 2.5] })).toBe(true)
    })

    const decoder =
      <A>(codec: t.Type<A, unknown, unknown>) =>
      (u: unknown): E.Either<TmamlError, unknown> =>
        decodeWith(codec, 'task')(u)
    it.each([
      ['DirectionTask', decoder(DirectionTask), { direction: 0 }, 'direction'],
      ['VelocityTask', decoder(VelocityTask), { velocity: 'fast' }, 'velocity'],
      ['VelocityTask (NaN)', decoder(VelocityTask), { velocity: NaN }, 'a number from -1000000 to 1000000'],
      ['Goal2dTask (1e300)', decoder(Goal2dTask), { goal: [0, 1e300] }, 'goal.1: got 1e+300'],
      ['Direction2dTask (not unit)', decoder(Direction2dTask), { direction: [1, 1] }, 'x^2 + y^2 = 1'],
      ['Goal2dTask (missing)', decoder(Goal2dTask), {}, 'goal']
    ])('reject a bad %s, naming the field', (_name, decode, value, mention) => {
      const e = mustFail(decode(value))
      expect(formatError(e)).toContain(mention)
    })

    it('TabularMdpTask rejects inconsistent sizes and rows that are not distributions, naming the field', () => {
      const m = sampleTabularMdps(rngAt(0), 1, 2, 2)[0]
      expect(TabularMdpTask.is(m)).toBe(true)
      const short = mustFail(decodeWith(TabularMdpTask, 'mdp')({ ...m, reward: [1, 2, 3] }))
      expect(formatError(short)).toContain('reward')
      expect(formatError(short)).toContain('expected nStates*nActions = 4')
      const bad = mustFail(decodeWith(TabularMdpTask, 'mdp')({ ...m, transition: [1, 0, 0.5, 0.6, 1, 0, 0, 1] }))
      expect(formatError(bad)).toContain('transition')
      expect(formatError(bad)).toContain('sum to 1.1')
    })
  })

  describe('samplers', () => {
    it('are pure functions of the stream: the same path gives the same tasks, another path others', () => {
      expect(sampleVelocities(rngAt(1, 'tasks'), 5, 0, 2)).toEqual(sampleVelocities(rngAt(1, 'tasks'), 5, 0, 2))
      expect(sampleVelocities(rngAt(2, 'tasks'), 5, 0, 2)).not.toEqual(sampleVelocities(rngAt(1, 'tasks'), 5, 0, 2))
    })

    it('draw from the distributions of ENVS.md', () => {
      const dirs = sampleDirections(rngAt(3), 4000)
      const plus = dirs.filter((d) => d.direction === 1).length
      expect(Math.abs(plus - 2000)).toBeLessThan(4 * Math.sqrt(1000)) // Bernoulli(1/2): sd sqrt(n/4)
      const vs = sampleVelocities(rngAt(4), 2000, 0, 2).map((t) => t.velocity)
      expect(Math.min(...vs)).toBeGreaterThanOrEqual(0)
      expect(Math.max(...vs)).toBeLessThan(2)
      const d2 = sampleDirections2d(rngAt(5), 2000)
      d2.forEach((t) => expect(Math.hypot(...t.direction)).toBeCloseTo(1, 12))
      expect(Math.abs(d2.reduce((a, t) => a + t.direction[0], 0) / 2000)).toBeLessThan(4 * Math.sqrt(0.5 / 2000))
      const goals = sampleGoals2d(rngAt(6), 2000, -3, 3).flatMap((t) => t.goal)
      expect(Math.min(...goals)).toBeGreaterThanOrEqual(-3)
      expect(Math.max(...goals)).toBeLessThan(3)
      expect(() => sampleVelocities(rngAt(0), -1, 0, 1)).toThrow(RangeError)
    })

    it('registry samplers give tasks their own codec accepts', () => {
      for (const id of envIds) {
        const spec = must(getEnvSpec(id))
        const tasks = spec.sampleTasks(rngAt(7, id), 20)
        expect(tasks).toHaveLength(20)
        tasks.forEach((t) => expect(spec.taskCodec.is(t)).toBe(true))
        expect(spec.taskCodec.is(spec.defaultTask)).toBe(true)
        expect(E.isRight(spec.taskCodec.decode(JSON.parse(JSON.stringify(tasks[0]))))).toBe(true) // JSON round trip
      }
    })
  })

  describe('registry', () => {
    it('holds the 13 environments of the issue with consistent sizes and bounds', () => {
      expect([...envIds].sort()).toEqual(
        [
          'halfcheetah-dir',
          'halfcheetah-vel',
          'ant-dir',
          'ant-dir2d',
          'ant-goal',
          'walker-dir',
          'walker-vel',
          'swimmer-vel',
          'humanoid-dir',
          'humanoid-dir2d',
          'point1d',
          'point2d',
          'tabular-mdp'
        ].sort()
      )
      for (const id of envIds) {
        const s = envSpecs[id]
        expect(s.id).toBe(id)
        expect(s.actionLow).toHaveLength(s.actDim)
        expect(s.actionHigh).toHaveLength(s.actDim)
        s.actionLow.forEach((lo, k) => expect(lo).toBeLessThan(s.actionHigh[k]))
        expect(s.description.length).toBeGreaterThan(20)
      }
      expect(envSpecs['halfcheetah-vel'].horizon).toBe(100)
      expect(envSpecs['ant-goal'].horizon).toBe(200)
      expect(envSpecs['walker-vel'].horizon).toBe(200)
      expect(envSpecs['humanoid-dir'].horizon).toBe(200)
    })

    it('getEnvSpec names the unknown id and lists the known ones', () => {
      const e = mustFail(getEnvSpec('cartpole'))
      expect(text(e)).toContain("unknown environment 'cartpole'")
      expect(text(e)).toContain('ant-goal')
      expect(isEnvId('ant-goal')).toBe(true)
      expect(isEnvId('ant')).toBe(false)
    })
  })
})
