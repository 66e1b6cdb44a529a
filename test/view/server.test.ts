// The view server over HTTP: what it serves, what it refuses (paths out of the run folders by every
// route we know, other methods, foreign Host headers), live events, and that nothing it answers
// writes into the run folders.
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ViewServer, startViewServer } from '../../src/view/server.js'
import { tinyRun } from '../support/viewRun.js'

const dir = mkdtempSync(join(tmpdir(), 'tmaml-view-server-'))
const secret = 'TOP-SECRET-CONTENT'
let run = ''
let server: ViewServer

interface Reply {
  readonly status: number
  readonly body: string
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
}

/** A raw request: the path goes out exactly as written (no client-side normalisation). */
const get = (path: string, options: { method?: string; host?: string } = {}): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        headers: { host: options.host ?? `127.0.0.1:${server.port}` }
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
      }
    )
    req.on('error', reject)
    req.end()
  })

const snapshot = (folder: string): string =>
  JSON.stringify(
    readdirSync(folder, { recursive: true, withFileTypes: false })
      .map(String)
      .sort()
      .map((f) => [f, statSync(join(folder, f)).mtimeMs, statSync(join(folder, f)).size])
  )

beforeAll(async () => {
  run = tinyRun(dir)
  writeFileSync(join(dir, 'secret.txt'), secret)
  mkdirSync(join(dir, 'other'))
  writeFileSync(join(dir, 'other', 'data.txt'), secret)
  symlinkSync(join(dir, 'secret.txt'), join(run, 'link-out'))
  symlinkSync(join(dir, 'other'), join(run, 'dir-out'))
  const s = await startViewServer({ folders: [run], port: 0, pollMs: 50 })
  if (E.isLeft(s)) throw new Error(JSON.stringify(s.left))
  server = s.right
})
afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('view/server', () => {
  it('listens on loopback by default and prints a URL there', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`)
    expect(server.exposed).toBe(false)
  })

  it('serves the page, its scripts, the vendored libraries and files of the run folder', async () => {
    const page = await get('/')
    expect(page.status).toBe(200)
    expect(page.body).toContain('/page/app.js')
    for (const f of [
      '/page/app.js',
      '/page/replay.js',
      '/vendor/three.module.js',
      '/vendor/three.core.js',
      '/vendor/vega.min.js',
      '/vendor/vega-lite.min.js',
      '/vendor/mujoco_wasm.js',
      '/vendor/tf-core.min.js'
    ])
      expect([f, (await get(f, { method: 'HEAD' })).status]).toEqual([f, 200])
    const metrics = await get('/runs/0/metrics.jsonl')
    expect(metrics.status).toBe(200)
    expect(metrics.body).toBe(readFileSync(join(run, 'metrics.jsonl'), 'utf8'))
    expect(metrics.headers['content-security-policy']).toContain('sandbox')
    const listing = JSON.parse((await get('/runs/0/')).body) as { entries: Array<{ name: string }> }
    expect(listing.entries.map((e) => e.name)).toEqual(
      expect.arrayContaining(['config.json', 'metrics.jsonl', 'checkpoint.json'])
    )
  })

  it('answers 404 to every way out of the run folder: ../, encoded, double-encoded, absolute, symlinks', async () => {
    const attempts = [
      '/runs/0/../secret.txt',
      '/runs/0/..%2fsecret.txt',
      '/runs/0/%2e%2e/secret.txt',
      '/runs/0/%2E%2E%2Fsecret.txt',
      '/runs/0/%252e%252e%252fsecret.txt',
      '/runs/0/..%5csecret.txt',
      `/runs/0/${encodeURIComponent(join(dir, 'secret.txt'))}`,
      `/runs/0/${join(dir, 'secret.txt')}`,
      `/runs/0//${join(dir, 'secret.txt')}`,
      '/runs/0/link-out',
      '/runs/0/dir-out/data.txt',
      '/runs/0/dir-out/',
      '/runs/1/',
      '/runs/',
      '/runs/-1/metrics.jsonl',
      '/page/../../package.json',
      '/page/server.ts',
      '/vendor/../package.json',
      '/vendor/package.json',
      '/api/../runs/0/metrics.jsonl',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      `/${join(dir, 'secret.txt')}`
    ]
    for (const p of attempts) {
      const r = await get(p)
      expect([p, r.status]).toEqual([p, 404])
      expect(r.body).not.toContain(secret)
    }
  })

  it('lists no folder outside the run folders and no folder without the trailing slash', async () => {
    for (const p of ['/runs/0/dir-out/', '/page/', '/vendor/', '/api/', '/runs/0'])
      expect([p, (await get(p)).status]).toEqual([p, 404])
  })

  it('answers only GET and HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'])
      for (const p of ['/api/runs', '/api/replay', '/runs/0/metrics.jsonl']) {
        const r = await get(p, { method })
        expect([method, p, r.status]).toEqual([method, p, 405])
        expect(r.headers['allow']).toBe('GET, HEAD')
      }
  })

  it('refuses a Host header that is not this loopback server (DNS rebinding)', async () => {
    expect((await get('/api/runs', { host: 'evil.example' })).status).toBe(403)
    expect((await get('/api/runs', { host: `localhost:${server.port}` })).status).toBe(200)
  })

  it('answers the API: runs with config and provenance, fields, curve and timing specs, tasks, model', async () => {
    const runs = JSON.parse((await get('/api/runs')).body) as Array<{
      iterations: number
      config: { env: string }
      provenance: Record<string, unknown>
    }>
    expect(runs).toHaveLength(1)
    expect(runs[0].iterations).toBe(3)
    expect(runs[0].config.env).toBe('halfcheetah-dir')
    expect(runs[0].provenance['checkpoint iteration']).toBe(3)
    const fields = JSON.parse((await get('/api/fields')).body) as string[]
    expect(fields.slice(0, 2)).toEqual(['returnPost', 'returnPre'])
    expect(fields).toContain('stats.gradNorm')
    const c = JSON.parse((await get('/api/curves?metrics=returnPost,returnPre')).body) as {
      series: Array<{ points: number }>
    }
    expect(c.series.map((s) => s.points)).toEqual([3, 3])
    const stat = JSON.parse((await get('/api/curves?metrics=stats.gradNorm')).body) as {
      series: Array<{ points: number }>
    }
    expect(stat.series.map((s) => s.points)).toEqual([3])
    expect((await get('/api/curves?metrics=x%3Dy')).status).toBe(400)
    expect(JSON.parse((await get('/api/timings?run=0')).body)).toHaveProperty('mark')
    expect(JSON.parse((await get('/api/tasks?run=0')).body)).toEqual(
      expect.arrayContaining([{ direction: 1 }, { direction: -1 }])
    )
    expect(JSON.parse((await get('/api/model?run=0')).body).xml).toContain('<mujoco')
    expect((await get('/api/nothing')).status).toBe(404)
  })

  it('records a replay, and no request it answers changes the run folder', async () => {
    const before = snapshot(run)
    const task = encodeURIComponent(JSON.stringify({ direction: -1 }))
    const r = await get(`/api/replay?run=0&from=checkpoint&task=${task}&steps=2&seed=1&show=1`)
    expect(r.status).toBe(200)
    const rec = JSON.parse(r.body) as { steps: Array<{ episodes: Array<{ qpos: number[][] }> }> }
    expect(rec.steps).toHaveLength(3)
    expect(rec.steps[0].episodes[0].qpos).toHaveLength(21)
    const bad = await get(`/api/replay?run=0&task=${encodeURIComponent('{"goal":[0,0]}')}`)
    expect(bad.status).toBe(400)
    for (const p of [
      '/api/runs',
      '/api/fields',
      '/api/curves',
      '/api/timings?run=0',
      '/api/tasks?run=0',
      '/api/model?run=0',
      '/runs/0/',
      '/'
    ])
      await get(p)
    expect(snapshot(run)).toBe(before)
  })

  it('sends an event when metrics.jsonl grows', async () => {
    const event = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: '/api/events', headers: { host: `127.0.0.1:${server.port}` } },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => {
            text += c
            if (text.includes('event: hello') && !text.includes('appended')) {
              text += '<appended>'
              appendFileSync(
                join(run, 'metrics.jsonl'),
                JSON.stringify({ iteration: 3, returnPre: 1, returnPost: 2 }) + '\n'
              )
            }
            const m = /event: metrics\ndata: (.*)\n/.exec(text)
            if (m !== null) {
              req.destroy()
              resolve(m[1])
            }
          })
        }
      )
      req.on('error', reject)
      req.end()
    })
    expect(JSON.parse(event)).toEqual({ run: 0, iterations: [3] })
  })
})

describe('view/server source', () => {
  it('has no way to write files or run commands', () => {
    const dirOf = join(process.cwd(), 'src', 'view')
    const sources = readdirSync(dirOf, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => [f, readFileSync(join(dirOf, f), 'utf8')] as const)
    const forbidden =
      /child_process|worker_threads|\bwriteFile|appendFile|\bmkdir|\brm\(|rmSync|unlink|rename|createWriteStream|\bexec\(|\bspawn\(/
    expect(sources.filter(([, s]) => forbidden.test(s)).map(([f]) => f)).toEqual([])
  })
})
