// MuJoCo handles are never garbage-collected: these tests show that the envs free what they allocate.
// The measure is `heapInUse` (bytes allocated on the wasm heap, to within one 16 KiB block) and the
// heap size itself. Bound: live bytes may move by at most 64 KiB over a whole run, i.e. a leak of more
// than ~7 bytes per reset/step cycle, or of anything per create/dispose cycle (an MjData arena alone is
// 32 KiB to 1 MiB), fails. A negative control shows the measure catches a real leak.
import { beforeAll, describe, expect, it } from 'vitest'
import { getMujoco, heapBytes, heapInUse, type Mujoco } from '../../src/envs/mujoco.js'
import { envSpecs, type EnvSpec } from '../../src/envs/registry.js'
import type { VecEnv } from '../../src/envs/vecEnv.js'
import { makeEnv, must, stepOk } from './support.js'

const bound = 64 * 1024

let mj: Mujoco
beforeAll(async () => {
  mj = await getMujoco()
})

/** Live-byte growth and heap-size growth over `body` (after the first probe). */
const growth = async (body: () => Promise<void> | void): Promise<{ live: number; heap: number }> => {
  const before = heapInUse(mj)
  const heapAfterProbe = heapBytes(mj)
  await body()
  const heapBeforeProbe = heapBytes(mj)
  const after = heapInUse(mj)
  return { live: after.liveBytes - before.liveBytes, heap: heapBeforeProbe - heapAfterProbe }
}

const robotSpecs: ReadonlyArray<EnvSpec<unknown>> = [
  envSpecs['halfcheetah-dir'],
  envSpecs['ant-goal'],
  envSpecs['walker-vel'],
  envSpecs['swimmer-vel'],
  envSpecs['humanoid-dir2d']
] as ReadonlyArray<EnvSpec<unknown>>

describe('envs/resources', () => {
  it('10,000 reset/step cycles keep the wasm heap flat', async () => {
    const env = await makeEnv(envSpecs['swimmer-vel'], { n: 1 })
    const cycle = (k: number): void => {
      must(env.reset(k))
      stepOk(env, [0.7, -0.4])
    }
    for (let k = 0; k < 200; k++) cycle(k) // warm-up
    const g = await growth(() => {
      for (let k = 0; k < 10_000; k++) cycle(k)
    })
    env.dispose()
    expect(g.heap).toBe(0)
    expect(Math.abs(g.live)).toBeLessThanOrEqual(bound)
  })

  it('1,000 divergences (warning counters read, env reset) keep the wasm heap flat', async () => {
    const env = await makeEnv(envSpecs['walker-dir'], { n: 2 })
    must(env.reset(1))
    const diverge = (): void => {
      const s = must(env.getState(0))
      s[9] = 10
      s[0] = 1e10 - 0.03 // crosses MuJoCo's 1e10 at the 2nd sub-step: a MuJoCo warning, then our reset
      must(env.setState(0, s))
      const res = stepOk(env, new Float32Array(12))
      if (res.diverged[0] !== 1) throw new Error('expected a divergence')
    }
    for (let k = 0; k < 20; k++) diverge()
    const g = await growth(() => {
      for (let k = 0; k < 1000; k++) diverge()
    })
    env.dispose()
    expect(g.heap).toBe(0)
    expect(Math.abs(g.live)).toBeLessThanOrEqual(bound)
  })

  it('100 create/dispose cycles (all five robots, 4 envs each) keep the wasm heap flat', async () => {
    const cycle = async (k: number): Promise<void> => {
      const spec = robotSpecs[k % robotSpecs.length]
      const env = await makeEnv(spec, { n: 4 })
      must(env.reset(k))
      stepOk(env, new Float32Array(4 * spec.actDim))
      env.dispose()
    }
    for (let k = 0; k < 10; k++) await cycle(k) // warm-up
    const g = await growth(async () => {
      for (let k = 0; k < 100; k++) await cycle(k)
    })
    expect(g.heap).toBe(0)
    expect(Math.abs(g.live)).toBeLessThanOrEqual(bound)
  })

  it('negative control: envs that are not disposed show up as growth far beyond the bound', async () => {
    const leaked: Array<VecEnv<unknown>> = []
    const g = await growth(async () => {
      for (let k = 0; k < 3; k++) leaked.push(await makeEnv(robotSpecs[1], { n: 4 }))
    })
    leaked.forEach((e) => e.dispose())
    expect(g.live).toBeGreaterThan(10 * bound)
  })
})
