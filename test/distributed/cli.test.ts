// The distributed commands' usage errors: exit code 2 and a message naming the flag, before anything
// connects anywhere.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'

const tmaml = (args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, ['bin/tmaml.js', ...args], { encoding: 'utf8', timeout: 30_000 })

describe('tmaml worker / sweep usage', () => {
  it.each([
    [['worker'], /--redis URL is required/],
    [['worker', '--redis', 'http://h:1'], /scheme must be redis or rediss/],
    [['worker', '--redis', 'redis://h', '--concurrency', '0'], /--concurrency: got '0'/],
    [['sweep', '--redis', 'redis://h', '--seeds', '1-2'], /--config FILE is required/],
    [['sweep', '--redis', 'redis://h', '--config', 'x.json', '--seeds', '1-2', '--grid', 'seed=1'], /x\.json/]
  ] as const)('%j exits 2 naming the problem', (args, why) => {
    const r = tmaml(args)
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(why)
  })

  it('names a syntax error of the sweep config by file:line:column', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-sweep-')), 'base.json')
    fs.writeFileSync(file, '{\n  "env": "point2d"\n  "iterations": 3\n}\n')
    const r = tmaml(['sweep', '--redis', 'redis://h', '--config', file, '--seeds', '1-2'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`${file}:3:3: not JSON`)
  })

  it('lists worker and sweep in tmaml --help', () => {
    const r = tmaml(['--help'])
    expect(r.stdout).toMatch(/worker\s+serve rollout chunks/)
    expect(r.stdout).toMatch(/sweep\s+enqueue a sweep/)
  })
})
