// `tmaml envs list`: output and usage errors (exit code 2).
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

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
    [['envs', 'bench'], "unknown sub-command 'bench'"]
  ])('%j is a usage error: exit code 2 and a message', (args, message) => {
    const r = tmaml(args)
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(message)
    expect(r.stderr).toContain('usage: tmaml envs')
  })
})
