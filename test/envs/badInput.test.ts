// Bad input is rejected before anything is written, naming the environment and the index; a diverging
// simulation is reported, the env reset, and no reward is ever NaN.
import type * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import type { TmamlError } from '../../src/base/errors.js'
import { rngAt } from '../../src/base/rng.js'
import { envSpecs, getEnvSpec, type EnvSpec } from '../../src/envs/registry.js'
import { getMujoco } from '../../src/envs/mujoco.js'
import { makeMujocoCore } from '../../src/envs/mujocoEnv.js'
import { humanoidDir, type Readings } from '../../src/envs/rewards.js'
import { robots, type Robot } from '../../src/envs/robots.js'
import { DirectionTask, sampleDirections } from '../../src/envs/tasks.js'
import { makeVecEnv, resolveOptions, type Family, type StepResult, type VecEnv } from '../../src/envs/vecEnv.js'
import { makeEnv, must, mustFail, sameBits, stepOk, text } from './support.js'

const opened: Array<VecEnv<unknown>> = []
const open = async <T>(spec: EnvSpec<T>, n: number, autoReset: 'auto' | 'manual' = 'auto'): Promise<VecEnv<T>> => {
  const env = await makeEnv(spec, { n, autoReset })
  opened.push(env as VecEnv<unknown>)
  return env
}
afterAll(() => opened.forEach((e) => e.dispose()))

const allStates = <T>(env: VecEnv<T>): Float64Array[] => Array.from({ length: env.n }, (_, i) => must(env.getState(i)))

const randomActions = (seed: number, n: number, actDim: number): Float32Array => {
  const rng = rngAt(seed, 'actions')
  return Float32Array.from({ length: n * actDim }, () => rng.uniform(-1, 1))
}

describe('envs/VecEnv input checks', () => {
  describe('step', () => {
    it.each([
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity]
    ])('rejects %s naming the env id, env index and component, and changes nothing', async (_name, bad) => {
      const spec = envSpecs['ant-goal']
      const env = await open(spec, 3)
      const twin = await open(spec, 3) // never sees the bad action
      must(env.reset(4))
      must(twin.reset(4))
      const warm = randomActions(1, 3, 8)
      stepOk(env, warm)
      stepOk(twin, warm)
      const before = allStates(env)
      const obsBefore = env.observations()
      const actions = randomActions(2, 3, 8)
      actions[2 * 8 + 5] = bad // env 2, component 5
      const e = mustFail(env.step(actions))
      expect(e._tag).toBe('InvalidInput')
      expect(text(e)).toContain('ant-goal')
      expect(text(e)).toContain('env 2')
      expect(text(e)).toContain('component 5')
      expect(text(e)).toContain('flat index 21')
      // Untouched: same states and observations, and the next valid step matches the twin bit for bit.
      allStates(env).forEach((s, i) => expect(sameBits(s, before[i])).toBe(true))
      expect(sameBits(env.observations(), obsBefore)).toBe(true)
      const good = randomActions(3, 3, 8)
      const a = stepOk(env, good)
      const b = stepOk(twin, good)
      expect(sameBits(a.obs, b.obs)).toBe(true)
      expect(sameBits(a.reward, b.reward)).toBe(true)
    })

    it.each([
      ['too short', 17],
      ['too long', 19],
      ['empty', 0]
    ])('rejects an action array that is %s, saying how many numbers it expects', async (_name, length) => {
      const env = await open(envSpecs['halfcheetah-vel'], 3)
      must(env.reset(1))
      const before = allStates(env)
      const e = mustFail(env.step(new Float32Array(length)))
      expect(text(e)).toContain('halfcheetah-vel')
      expect(text(e)).toContain('expected 18 action numbers (3 envs x 6)')
      expect(text(e)).toContain(`got ${length}`)
      allStates(env).forEach((s, i) => expect(sameBits(s, before[i])).toBe(true))
    })

    it('rejects a non-integer or out-of-range discrete action of the tabular MDP', async () => {
      const env = await open(envSpecs['tabular-mdp'], 2)
      must(env.reset(1))
      for (const bad of [0.5, 2, -1]) {
        const e = mustFail(env.step([0, bad]))
        expect(text(e)).toContain('tabular-mdp')
        expect(text(e)).toContain('env 1')
        expect(text(e)).toContain('action index in 0..1')
      }
      expect(stepOk(env, [1, 0]).active).toEqual(Uint8Array.of(1, 1))
    })

    it('refuses to step before the first reset and after dispose', async () => {
      const env = await makeEnv(envSpecs.point2d, { n: 1 })
      expect(text(mustFail(env.step([0, 0])))).toContain('reset() before the first step()')
      must(env.reset(0))
      env.dispose()
      env.dispose() // idempotent
      expect(env.isDisposed()).toBe(true)
      expect(text(mustFail(env.step([0, 0])))).toContain('disposed')
      expect(text(mustFail(env.reset(0)))).toContain('disposed')
    })
  })

  describe('tasks, states, options', () => {
    it('setTasks rejects a wrong count or an invalid task, naming its index, and keeps the old tasks', async () => {
      const env = await open(envSpecs['swimmer-vel'], 2)
      const old = env.tasks()
      expect(text(mustFail(env.setTasks([{ velocity: 1 }])))).toContain('expected one task per env (2), got 1')
      const bad = mustFail(env.setTasks([{ velocity: 1 }, { velocity: NaN }]))
      expect(text(bad)).toContain('swimmer-vel')
      expect(text(bad)).toContain('task 1')
      expect(env.tasks()).toEqual(old)
    })

    it('a dynamically chosen env checks tasks with the codec (wrong shape, wrong MDP size)', async () => {
      const spec = must(getEnvSpec('ant-dir2d'))
      expect(text(mustFail(await spec.make({ n: 1, tasks: [{ direction: [3, 4] }] })))).toContain('task 0')
      const env = must(await spec.make({ n: 1 }))
      opened.push(env)
      expect(text(mustFail(env.setTasks([{ velocity: 1 }])))).toContain('task 0')
      const tab = must(await must(getEnvSpec('tabular-mdp')).make({ n: 1 }))
      opened.push(tab)
      const big = envSpecs['tabular-mdp'].sampleTasks(rngAt(0), 1)[0]
      expect(
        text(
          mustFail(
            tab.setTasks([
              { ...big, nStates: 4, initial: [1, 0, 0, 0], transition: Array(32).fill(0.25), reward: Array(8).fill(0) }
            ])
          )
        )
      ).toContain('4 states x 2 actions, this env 3 x 2')
    })

    it('setState rejects wrong lengths and non-finite entries, naming the env', async () => {
      const env = await open(envSpecs['walker-dir'], 2)
      must(env.reset(2))
      const s = must(env.getState(1))
      expect(text(mustFail(env.setState(1, s.subarray(1))))).toContain('env 1: expected a state of 18 numbers, got 17')
      s[4] = NaN
      expect(text(mustFail(env.setState(1, s)))).toContain('env 1: state entry 4 is NaN')
      expect(text(mustFail(env.getState(2)))).toContain('env index 2 is not in [0, 2)')
    })

    it('make rejects bad options and reset rejects a wrong number of seeds', async () => {
      const spec = envSpecs.point1d
      expect(text(mustFail(await spec.make({ n: 0 })))).toContain('n must be an integer >= 1, got 0')
      expect(text(mustFail(await spec.make({ n: 2, horizon: 2.5 })))).toContain('horizon must be an integer >= 1')
      expect(text(mustFail(await spec.make({ n: 2, tasks: [{ goal: 0 }] })))).toContain('one task per env (2), got 1')
      const env = await open(spec, 2)
      expect(text(mustFail(env.reset([1])))).toContain('one Rng or seed per env (2), got 1')
      expect(text(mustFail(env.reset(NaN)))).toContain('the seed must be finite')
    })

    // JavaScript callers are not type-checked: null, a string or a plain object where an array or a
    // seed belongs is an InvalidInput naming the method, never a TypeError from inside the env.
    type Call = (env: VecEnv<unknown>) => E.Either<TmamlError, unknown>
    it.each<readonly [string, Call, string]>([
      ['reset(null)', (env) => env.reset(null as never), 'point2d.reset'],
      ['reset([1, null])', (env) => env.reset([1, null] as never), 'env 1: expected a seed'],
      ['reset({})', (env) => env.reset({} as never), 'expected a seed (a finite number) or an array'],
      ['resetEnv(0, null)', (env) => env.resetEnv(0, null as never), 'point2d.resetEnv'],
      ['resetEnv(0, {next})', (env) => env.resetEnv(0, { next: () => 0 } as never), 'an Rng'],
      ['setState(0, null)', (env) => env.setState(0, null as never), 'expected a state of 2 numbers'],
      ['setState(0, ["a", 1])', (env) => env.setState(0, ['a', 1] as never), 'state entry 0 is a'],
      ['setTasks(null)', (env) => env.setTasks(null as never), 'expected an array of 2 tasks'],
      ['setTasks("ab")', (env) => env.setTasks('ab' as never), 'expected an array of 2 tasks'],
      ['step(null)', (env) => env.step(null as never), 'actions must be an array']
    ])('%s is an InvalidInput, not an exception', async (_name, call, message) => {
      const env = (await open(envSpecs.point2d, 2)) as VecEnv<unknown>
      must(env.reset(1))
      const before = env.observations()
      const e = mustFail(call(env))
      expect(e._tag).toBe('InvalidInput')
      expect(text(e)).toContain(message)
      expect(sameBits(env.observations(), before)).toBe(true)
    })

    it('make rejects options that are not an object and tasks that are not an array', async () => {
      const spec = envSpecs.point2d
      expect(text(mustFail(await spec.make(null as never)))).toContain('expected options { n')
      expect(text(mustFail(await spec.make({ n: 1, tasks: null as never })))).toContain('tasks must be an array')
    })

    it('rejects a task parameter beyond 1e6, whose rewards would overflow float32', async () => {
      const env = await open(envSpecs.point2d, 1)
      const e = mustFail(env.setTasks([{ goal: [1e300, 0] }]))
      expect(text(e)).toContain('task 0')
      expect(text(mustFail(await envSpecs['halfcheetah-vel'].make({ n: 1, tasks: [{ velocity: -2e6 }] })))).toContain(
        'task 0'
      )
      must(env.setTasks([{ goal: [1e6, -1e6] }]))
      must(env.reset(1))
      const r = stepOk(env, [0, 0])
      expect(Number.isFinite(Math.fround(r.reward[0]))).toBe(true)
    })
  })
})

describe('envs/VecEnv divergence', () => {
  // Walker2d's root x slide has no damping, stiffness or armature: from a position just below MuJoCo's
  // "huge" threshold (1e10), a velocity of 10 m/s crosses it at a chosen sub-step (0.002 s each).
  const blowUp = (s: Float64Array, crossAtSubstep: number): void => {
    s[9] = 10 // qvel[0]
    s[0] = 1e10 - (crossAtSubstep - 0.5) * 0.02 // x crosses 1e10 during sub-step `crossAtSubstep`
  }

  it.each([
    ['MuJoCo warns (bad qpos caught by mj_checkPos at the next sub-step)', 2, 'QPOS'],
    ['the state scan catches it (crossed at the last sub-step)', 4, 'qpos[0] = 10000000000.0']
  ])('%s: reported with env id and index, env reset, reward 0, others untouched', async (_name, at, cause) => {
    const spec = envSpecs['walker-dir']
    const env = await open(spec, 3)
    const twin = await open(spec, 3)
    must(env.reset(7))
    must(twin.reset(7))
    const s = must(env.getState(1))
    blowUp(s, at)
    must(env.setState(1, s))
    const res = stepOk(env, randomActions(4, 3, 6))
    const ref = stepOk(twin, randomActions(4, 3, 6))
    expect(Array.from(res.diverged)).toEqual([0, 1, 0])
    expect(res.done[1]).toBe(1)
    expect(res.reward[1]).toBe(0)
    expect(res.reward.every(Number.isFinite)).toBe(true)
    expect(res.obs.every(Number.isFinite)).toBe(true)
    expect(res.events).toHaveLength(1)
    expect(res.events[0].env).toBe(1)
    expect(res.events[0].kind).toBe('diverged')
    expect(res.events[0].message).toContain('walker-dir: env 1 diverged')
    expect(res.events[0].message).toContain(cause)
    // Env 1 was reset from its stream: a fresh episode state (x within the reset noise of 0).
    const after = must(env.getState(1))
    expect(after.every(Number.isFinite)).toBe(true)
    expect(Math.abs(after[0])).toBeLessThan(0.01)
    // The other envs did exactly what they would have done.
    for (const i of [0, 2]) {
      expect(sameBits(res.obs.subarray(i * 17, (i + 1) * 17), ref.obs.subarray(i * 17, (i + 1) * 17))).toBe(true)
      expect(res.reward[i]).toBe(ref.reward[i])
    }
    // And env 1 keeps running.
    const next = stepOk(env, randomActions(5, 3, 6))
    expect(next.diverged[1]).toBe(0)
    expect(Number.isFinite(next.reward[1])).toBe(true)
  })

  it('in manual mode a diverged env is reset and then frozen until reset()', async () => {
    const env = await open(envSpecs['walker-vel'], 2, 'manual')
    must(env.reset(8))
    const s = must(env.getState(0))
    blowUp(s, 2)
    must(env.setState(0, s))
    const res = stepOk(env, randomActions(6, 2, 6))
    expect(res.diverged[0]).toBe(1)
    const frozen = must(env.getState(0))
    const next = stepOk(env, randomActions(7, 2, 6))
    expect(Array.from(next.active)).toEqual([0, 1])
    expect(next.reward[0]).toBe(0)
    expect(sameBits(must(env.getState(0)), frozen)).toBe(true)
    must(env.reset(9))
    expect(Array.from(stepOk(env, randomActions(8, 2, 6)).active)).toEqual([1, 1])
  })

  it('a Humanoid hit by an absurd velocity (qacc blow-up) never yields a NaN reward', async () => {
    const env = await open(envSpecs['humanoid-dir'], 2)
    must(env.reset(10))
    const s = must(env.getState(0))
    for (let k = 24; k < 47; k++) s[k] = 5e9 * (k % 2 === 0 ? 1 : -1)
    must(env.setState(0, s))
    let diverged = 0
    for (let t = 0; t < 5; t++) {
      const res = stepOk(env, randomActions(t, 2, 17))
      expect(res.reward.every(Number.isFinite)).toBe(true)
      expect(res.obs.every(Number.isFinite)).toBe(true)
      diverged += res.diverged[0]
      expect(res.diverged[1]).toBe(0)
    }
    expect(diverged).toBeGreaterThanOrEqual(1)
  })
})

describe('envs/VecEnv simulator limits', () => {
  // The Humanoid with a deliberately small arena: too many contacts is a MuJoCo warning (reported as a
  // `warning` event), a stack overflow is a MuJoCo error thrown mid-step (reported as a divergence).
  const withArena = (memory: string): Robot => ({
    ...robots.humanoid,
    xml: robots.humanoid.xml.replace('<size memory="1M"/>', `<size memory="${memory}"/>`)
  })
  const family: Family<Readings, DirectionTask> = {
    id: 'humanoid-dir',
    description: 'humanoid with a small arena',
    taskCodec: DirectionTask,
    sampleTasks: sampleDirections,
    defaultTask: { direction: 1 },
    reward: humanoidDir
  }
  const run = async (memory: string): Promise<StepResult[]> => {
    const core = must(makeMujocoCore<DirectionTask>(await getMujoco(), withArena(memory), 1))
    const settings = must(resolveOptions('humanoid-dir', { n: 1, horizon: 10_000, terminateWhenUnhealthy: false }, 200))
    const env = must(makeVecEnv(core, family, settings))
    try {
      must(env.reset(1))
      const results: StepResult[] = []
      for (let t = 0; t < 600; t++) {
        const a = Array.from({ length: 17 }, (_, k) => 0.4 * Math.sin(5 * t * (k + 1)))
        const res = stepOk(env, a)
        results.push(res)
        if (res.events.length > 0) break
      }
      return results
    } finally {
      env.dispose()
    }
  }

  it('a full contact buffer becomes a warning event naming the env', async () => {
    const results = await run('12K')
    const events = results.flatMap((r) => r.events)
    expect(events.length).toBeGreaterThan(0)
    expect(events[0].kind).toBe('warning')
    expect(events[0].message).toContain('humanoid-dir: env 0: MuJoCo: Too many contacts')
  })

  it('a MuJoCo error thrown mid-step (arena stack overflow) is a divergence, not an exception', async () => {
    const results = await run('40K')
    const last = results[results.length - 1]
    expect(last.diverged[0]).toBe(1)
    expect(last.events[0].message).toContain('out of memory')
    expect(last.events[0].message).toContain('raise <size memory>')
    expect(results.every((r) => r.reward.every(Number.isFinite))).toBe(true)
  })
})
