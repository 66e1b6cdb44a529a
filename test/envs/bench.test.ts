// The environment benchmark (benchmarks/envs): its report's shape on a toy run, its usage errors, and
// the native comparison program (compiled with gcc where Debian's libmujoco-dev is installed).
import { existsSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { compileNativeBench, nativeMujocoHeader } from '../../benchmarks/envs/nativeBench.js'
import { run } from '../../benchmarks/envs/run.js'
import { robots } from '../../src/envs/robots.js'
import { must } from './support.js'

const captured = async (argv: ReadonlyArray<string>) => {
  let out = ''
  let err = ''
  vi.spyOn(console, 'log').mockImplementation((...xs: unknown[]) => void (out += `${xs.join(' ')}\n`))
  vi.spyOn(console, 'error').mockImplementation((...xs: unknown[]) => void (err += `${xs.join(' ')}\n`))
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s)
    return true
  })
  const code = await run(argv)
  vi.restoreAllMocks()
  return { code, out, err }
}

describe('benchmarks/envs', () => {
  afterEach(() => vi.restoreAllMocks())

  it.each([
    [['--steps', 'many'], "--steps must be a positive integer, got 'many'"],
    [['--steps', '0'], '--steps must be a positive integer'],
    [['--env', 'cartpole'], "unknown environment 'cartpole'"],
    [['--repeats', '-1'], '--repeats']
  ])('%j is a usage error: exit code 2 and a message', async (argv, message) => {
    const r = await captured(argv)
    expect(r.code).toBe(2)
    expect(r.err).toContain(message)
    expect(r.err).toContain('usage: tsx benchmarks/envs/run.ts')
  })

  it('--json measures one thread and, through the sampler, 1 and 2 workers, with progress on stderr', async () => {
    const r = await captured(['--json', '--steps', '300', '--repeats', '1', '--env', 'swimmer', '--skip-native'])
    expect(r.code, r.err).toBe(0)
    const rows = JSON.parse(r.out) as Array<{
      env: string
      stepsPerSec: number
      workers: Record<string, number>
      nativeStepsPerSec: number | null
      ratio: number | null
    }>
    expect(rows.map((x) => x.env)).toEqual(['swimmer-vel'])
    expect(rows[0].stepsPerSec).toBeGreaterThan(0)
    expect(Object.keys(rows[0].workers).sort()).toEqual(['1', '2'])
    expect(Object.values(rows[0].workers).every((x) => x > 0)).toBe(true)
    expect(rows[0].nativeStepsPerSec).toBeNull()
    expect(r.err).toContain('envs bench: swimmer-vel')
  })

  it.skipIf(!existsSync(nativeMujocoHeader))('the native benchmark compiles and steps the same MJCF', () => {
    const bench = must(compileNativeBench())
    try {
      const t = must(bench.run(robots.ant, 200, 100, 1))
      expect(t.steps).toBe(200)
      expect(t.seconds).toBeGreaterThan(0)
      expect(t.version).toMatch(/^\d+\.\d+\.\d+$/)
    } finally {
      bench.cleanup()
    }
  })
})
