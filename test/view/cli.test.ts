// `tmaml view` as a command: prints its URL, warns when not on loopback, stops on SIGINT; usage errors.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const dir = mkdtempSync(join(tmpdir(), 'tmaml-view-cli-'))
writeFileSync(join(dir, 'metrics.jsonl'), '{"iteration":0,"returnPre":1,"returnPost":2}\n')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Start `tmaml view`, resolve with its URL line and what it wrote to stderr by then. */
const start = (args: ReadonlyArray<string>): Promise<{ child: ChildProcess; url: string; stderr: () => string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/tmaml.js', 'view', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()))
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /tmaml view: (http:\/\/\S+)/.exec(out)
      if (m !== null) resolve({ child, url: m[1], stderr: () => err })
    })
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)))
  })

const status = (url: string): Promise<number> =>
  new Promise((resolve, reject) => get(url, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject))

const exitCode = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => child.once('exit', (c) => resolve(c)))

describe('tmaml view', () => {
  it('prints a loopback URL, serves the page there, and exits 0 on SIGINT', async () => {
    const { child, url, stderr } = await start([dir, '--port', '0'])
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(await status(url)).toBe(200)
    expect(stderr()).not.toContain('warning')
    const exited = exitCode(child)
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  })

  it('warns when --host is not a loopback address', async () => {
    const { child, url, stderr } = await start([dir, '--port', '0', '--host', '0.0.0.0'])
    expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/)
    expect(stderr()).toMatch(/warning: listening on 0\.0\.0\.0, not loopback/)
    const exited = exitCode(child)
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  })

  it('exits 1 for a missing run folder and 2 without one or with a bad port', () => {
    const run = (args: string[]) => spawnSync(process.execPath, ['bin/tmaml.js', 'view', ...args], { encoding: 'utf8' })
    const missing = run([join(dir, 'nope'), '--port', '0'])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toContain('no such run folder')
    expect(run([]).status).toBe(2)
    expect(run([dir, '--port', 'x']).status).toBe(2)
  })
})
