/**
 * The `tmaml view` server: one page, its scripts, the browser builds of three.js, vega, vega-lite,
 * mujoco-js and tfjs from node_modules, a read-only JSON API over the given run folders, and
 * server-sent events when a run's metrics.jsonl grows.
 *
 * Read-only by construction: only GET and HEAD are answered (anything else is 405); the API reads
 * run folders and computes replays in memory; no route writes a file or starts a process. Files are
 * served only from inside the run folders (`safePath.ts`), the page's own folder and a fixed list of
 * vendor files. The server listens on loopback unless told otherwise, and then refuses requests whose
 * Host header names another host (a web page elsewhere cannot reach it through DNS rebinding).
 *
 * ```
 * GET /                         the page          GET /api/runs            runs: config, provenance
 * GET /page/<file>              its scripts       GET /api/fields          recorded numeric fields
 * GET /vendor/<file>            libraries         GET /api/curves?metrics=a,b&x=iteration
 * GET /runs/<i>/<path>          run files         GET /api/timings?run=i   stacked-bar spec
 * GET /runs/<i>/[<folder>/]     their listing     GET /api/tasks?run=i     tasks for the replay menu
 * GET /api/events               SSE: metrics      GET /api/model?run=i     the robot's MJCF
 * GET /api/replay?run=i&from=checkpoint|initial&task=<json>&steps=k&seed=s&show=n   a recording
 * ```
 *
 * @packageDocumentation
 */
import { createReadStream, existsSync, statSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, formatError, invalidInput, resourceError } from '../base/errors.js'
import type { Replayer } from './replay.js'
import { curves, numericFields, runSummary, timings } from './runs.js'
import { pathSegments, resolveUnder } from './safePath.js'
import { watchAppends } from './watch.js'

/** Options of `startViewServer`. */
export interface ViewOptions {
  readonly folders: ReadonlyArray<string>
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 8080; 0 picks a free port. */
  readonly port?: number
  /** How often a metrics file's size is polled, ms (default 250). */
  readonly pollMs?: number
}

/** A running server. */
export interface ViewServer {
  readonly url: string
  readonly host: string
  readonly port: number
  /** True when the address is not a loopback one (anyone who reaches the machine can read the runs). */
  readonly exposed: boolean
  readonly close: () => Promise<void>
}

/** Loopback addresses: the server's default, and the only ones it calls private. */
export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.xml': 'text/plain; charset=utf-8'
}

// The page's folder: beside this module (running from src/) or src/view/page from dist/view/ (tsc copies
// no assets), as the plot font is found.
const pageDir = (): string => {
  const candidates = [new URL('./page/', import.meta.url), new URL('../../src/view/page/', import.meta.url)].map((u) =>
    fileURLToPath(u)
  )
  return candidates.find((p) => existsSync(join(p, 'index.html'))) ?? candidates[0]
}

/** The folder of an installed package: where resolving it lands, walked up to `node_modules/<name>`. */
const packageDir = (name: string): string | undefined => {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve(name))
    while (!dir.endsWith(join('node_modules', name)) && dirname(dir) !== dir) dir = dirname(dir)
    return dir.endsWith(join('node_modules', name)) ? dir : undefined
  } catch {
    return undefined
  }
}

/** The browser builds served under /vendor/: name -> [package, file in the package]. */
const vendorFiles: Readonly<Record<string, readonly [string, string]>> = {
  'three.module.js': ['three', 'build/three.module.js'],
  'three.core.js': ['three', 'build/three.core.js'],
  'vega.min.js': ['vega', 'build/vega.min.js'],
  'vega-lite.min.js': ['vega-lite', 'build/vega-lite.min.js'],
  'mujoco_wasm.js': ['mujoco-js', 'dist/mujoco_wasm.js'],
  'tf-core.min.js': ['@tensorflow/tfjs-core', 'dist/tf-core.min.js'],
  'tf-backend-cpu.min.js': ['@tensorflow/tfjs-backend-cpu', 'dist/tf-backend-cpu.min.js']
}

const pageFiles = ['index.html', 'app.js', 'replay.js', 'style.css']

const pageCsp = [
  "default-src 'self'",
  // vega compiles its expressions with Function; mujoco-js instantiates WebAssembly.
  "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join('; ')

const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
  res.end(body)
}
const notFound = (res: ServerResponse): void => send(res, 404, 'not found\n')
const json = (res: ServerResponse, value: unknown, status = 200): void =>
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8')
const jsonError = (res: ServerResponse, e: TmamlError, status = 400): void =>
  json(res, { error: formatError(e), tag: e._tag }, status)

const sendFile = async (
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  extra: Readonly<Record<string, string>> = {}
): Promise<void> => {
  const s = await stat(file).catch(() => undefined)
  if (s === undefined || !s.isFile()) return notFound(res)
  res.writeHead(200, {
    'Content-Type': contentTypes[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': String(s.size),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...extra
  })
  if (req.method === 'HEAD') return void res.end()
  createReadStream(file).pipe(res)
}

const intParam = (p: URLSearchParams, k: string, dflt: number): number => {
  const v = p.get(k)
  return v === null ? dflt : Number.isInteger(Number(v)) ? Number(v) : NaN
}

/**
 * Start the server on `host:port` over `folders` (each must be a folder). Left when a folder is
 * missing or the port cannot be bound.
 *
 * @category server
 */
export const startViewServer = async (options: ViewOptions): Promise<E.Either<TmamlError, ViewServer>> => {
  const { folders } = options
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 8080
  if (folders.length === 0) return E.left(invalidInput('view', 'give at least one run folder'))
  for (const f of folders)
    if (!existsSync(f) || !statSync(f).isDirectory()) return E.left(resourceError(f, 'no such run folder'))
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    return E.left(invalidInput('view', `port must be an integer in [0, 65535], got ${port}`))
  const page = pageDir()
  // tfjs, MuJoCo and the training code load with the first replay, not with the server.
  let replayModule: Promise<typeof import('./replay.js')> | undefined
  let replayerMade: Replayer | undefined
  const replay = async () => {
    replayModule ??= import('./replay.js')
    const m = await replayModule
    replayerMade ??= m.makeReplayer(folders)
    return { decode: m.decodeReplayQuery, replayer: replayerMade }
  }
  const clients = new Set<ServerResponse>()
  let boundPort = port

  const broadcast = (event: string, data: unknown): void => {
    const msg = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const c of clients) c.write(msg)
  }
  const unwatch = folders.map((f, run) => {
    const file = join(f, 'metrics.jsonl')
    const size = existsSync(file) ? statSync(file).size : 0
    return watchAppends(
      file,
      size,
      (c) => {
        if (c._tag === 'Reset') return broadcast('reset', { run })
        const iterations = c.lines.flatMap((l) => {
          try {
            const it = (JSON.parse(l) as { iteration?: unknown }).iteration
            return typeof it === 'number' ? [it] : []
          } catch {
            return []
          }
        })
        broadcast('metrics', { run, iterations })
      },
      options.pollMs
    )
  })
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n')
  }, 15_000)
  heartbeat.unref()

  const allowedHosts = (): ReadonlySet<string> =>
    new Set([`${host}:${boundPort}`, `localhost:${boundPort}`, `127.0.0.1:${boundPort}`, `[::1]:${boundPort}`])

  const api = async (route: string, params: URLSearchParams, req: IncomingMessage, res: ServerResponse) => {
    const size = { width: intParam(params, 'width', 900) || 900, height: intParam(params, 'height', 420) || 420 }
    const runOf = (): number | undefined => {
      const r = intParam(params, 'run', 0)
      return Number.isInteger(r) && r >= 0 && r < folders.length ? r : undefined
    }
    switch (route) {
      case 'runs':
        return json(res, await Promise.all(folders.map((f, i) => runSummary(i, f))))
      case 'fields':
        return json(res, await numericFields(folders))
      case 'curves': {
        const metrics = (params.get('metrics') ?? 'returnPost,returnPre').split(',').filter((m) => m !== '')
        const x = params.get('x') ?? 'iteration'
        if (![...metrics, x].every((m) => /^[A-Za-z_$][\w$.-]*$/.test(m)))
          return jsonError(res, invalidInput('curves', 'metrics and x must be field names'))
        const c = await curves(folders, metrics, x, size)
        return E.isLeft(c) ? jsonError(res, c.left) : json(res, c.right)
      }
      case 'timings': {
        const run = runOf()
        return run === undefined ? notFound(res) : json(res, await timings(folders[run], { ...size, height: 300 }))
      }
      case 'tasks': {
        const run = runOf()
        if (run === undefined) return notFound(res)
        const t = await (await replay()).replayer.tasks(run)
        return E.isLeft(t) ? jsonError(res, t.left) : json(res, t.right)
      }
      case 'model': {
        const run = runOf()
        if (run === undefined) return notFound(res)
        const m = await (await replay()).replayer.model(run)
        return E.isLeft(m) ? jsonError(res, m.left) : json(res, { xml: m.right })
      }
      case 'replay': {
        const { decode, replayer } = await replay()
        const q = decode(params)
        if (E.isLeft(q)) return jsonError(res, q.left)
        const r = await replayer.record(q.right)
        return E.isLeft(r) ? jsonError(res, r.left, r.left._tag === 'InvalidInput' ? 400 : 500) : json(res, r.right)
      }
      case 'events': {
        res.writeHead(200, {
          'Content-Type': 'text/event-stream',
          'Cache-Control': 'no-store',
          Connection: 'keep-alive',
          'X-Content-Type-Options': 'nosniff'
        })
        res.write(`event: hello\ndata: ${JSON.stringify({ runs: folders.length })}\n\n`)
        clients.add(res)
        req.on('close', () => clients.delete(res))
        return
      }
      default:
        return notFound(res)
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' })
      return void res.end('read-only: only GET and HEAD\n')
    }
    if (isLoopback(host) && !allowedHosts().has(req.headers.host ?? ''))
      return send(res, 403, 'unexpected Host header\n')
    const raw = req.url ?? '/'
    const q = raw.indexOf('?')
    const pathname = q < 0 ? raw : raw.slice(0, q)
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1))
    const segs = pathSegments(pathname)
    if (segs === undefined) return notFound(res)
    const [head, ...rest] = segs
    if (head === '' && rest.length === 0)
      return sendFile(req, res, join(page, 'index.html'), { 'Content-Security-Policy': pageCsp })
    if (head === 'page' && rest.length === 1 && pageFiles.includes(rest[0]))
      return sendFile(req, res, join(page, rest[0]), { 'Content-Security-Policy': pageCsp })
    if (head === 'vendor' && rest.length === 1) {
      const v = vendorFiles[rest[0]]
      const dir = v === undefined ? undefined : packageDir(v[0])
      return dir === undefined || v === undefined ? notFound(res) : sendFile(req, res, join(dir, v[1]))
    }
    if (head === 'api' && rest.length === 1) return api(rest[0], params, req, res)
    if (head === 'runs' && rest.length >= 2 && /^\d+$/.test(rest[0])) {
      const root = folders[Number(rest[0])]
      if (root === undefined) return notFound(res)
      const target = await resolveUnder(root, rest.slice(1))
      if (target === undefined) return notFound(res)
      const wantsFolder = rest[rest.length - 1] === ''
      if (target.kind === 'folder') {
        if (!wantsFolder) return notFound(res)
        const entries = await readdir(target.path, { withFileTypes: true })
        return json(res, {
          entries: entries
            .filter((e) => e.isFile() || e.isDirectory())
            .map((e) => ({ name: e.name, kind: e.isDirectory() ? 'folder' : 'file' }))
            .sort((a, b) => a.name.localeCompare(b.name))
        })
      }
      if (wantsFolder) return notFound(res)
      // Run folders hold data, never pages: a stray .svg or .html runs no script in this origin.
      return sendFile(req, res, target.path, { 'Content-Security-Policy': 'sandbox; default-src none' })
    }
    return notFound(res)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}\n`)
      else res.end()
    })
  })
  const listening = await new Promise<E.Either<TmamlError, AddressInfo>>((resolve) => {
    server.once('error', (err) => resolve(E.left(resourceError(`view ${host}:${port}`, err.message))))
    server.listen(port, host, () => resolve(E.right(server.address() as AddressInfo)))
  })
  if (E.isLeft(listening)) {
    for (const u of unwatch) u()
    clearInterval(heartbeat)
    return listening
  }
  boundPort = listening.right.port
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return E.right({
    url: `http://${shown}:${boundPort}/`,
    host,
    port: boundPort,
    exposed: !isLoopback(host),
    close: async () => {
      for (const u of unwatch) u()
      clearInterval(heartbeat)
      for (const c of clients) c.end()
      clients.clear()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
      await replayerMade?.close()
    }
  })
}
