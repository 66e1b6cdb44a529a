// `tmaml envs list|bench`: output and usage errors (exit code 2).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compileNativeBench, nativeMujocoHeader } from '../../src/envs/nativeBench.js'
import { robots } from '../../src/envs/robots.js'
import { must } from './support.js'

const tmaml = (args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, ['bin/tmaml.js', ...args], { encoding: 'utf8', timeout: 120_000 })

describe('tmaml envs', () => {
  it('list --json gives every environment with its sizes, horizon and task description', () => {
    const r = tmaml(['envs', 'list', '--json'])
    expect(r.status).toBe(0)
    const rows = JSON.parse(r.stdout) as Array<{
      id: string
      obsDim: number
      actDim: number
      horizon: number
      description: string
    }>
    expect(rows).toHaveLength(13)
    const ant = rows.find((x) => x.id === 'ant-goal')
    expect(ant).toMatchObject({ obsDim: 111, actDim: 8, horizon: 200 })
    expect(ant?.description).toContain('U[-3, 3]^2')
  })

  it('list prints a table', () => {
    const r = tmaml(['envs', 'list'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/humanoid-dir2d\s+376\s+17\s+200/)
  })

  it.each([
    [['envs'], 'missing sub-command'],
    [['envs', 'frobnicate'], "unknown sub-command 'frobnicate'"],
    [['envs', 'list', '--verbose'], "Unknown option '--verbose'"],
    [['envs', 'bench', '--steps', 'many'], "--steps must be a positive integer, got 'many'"],
    [['envs', 'bench', '--steps', '0'], '--steps must be a positive integer'],
    [['envs', 'bench', '--env', 'cartpole'], "unknown environment 'cartpole'"],
    [['envs', 'bench', '--repeats', '-1'], '--repeats']
  ])('%j is a usage error: exit code 2 and a message', (args, message) => {
    const r = tmaml(args)
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(message)
    expect(r.stderr).toContain('usage: tmaml envs')
  })

  it('bench --json measures one thread and 1 and 2 workers, with progress on stderr', () => {
    const r = tmaml([
      'envs',
      'bench',
      '--json',
      '--steps',
      '300',
      '--env',
      'point2d',
      '--env',
      'swimmer',
      '--skip-native'
    ])
    expect(r.status).toBe(0)
    const rows = JSON.parse(r.stdout) as Array<{
      env: string
      stepsPerSec: number
      workers: Record<string, number>
      nativeStepsPerSec: number | null
      ratio: number | null
    }>
    expect(rows.map((x) => x.env)).toEqual(['point2d', 'swimmer-vel'])
    for (const row of rows) {
      expect(row.stepsPerSec).toBeGreaterThan(0)
      expect(Object.keys(row.workers).sort()).toEqual(['1', '2'])
      expect(row.nativeStepsPerSec).toBeNull()
      expect(row.ratio).toBeNull()
    }
    expect(r.stderr).toContain('envs bench: swimmer-vel')
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
