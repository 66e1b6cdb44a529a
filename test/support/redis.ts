/**
 * A Redis server of the test's own: Debian's redis-server (installed by .ci/run) on a free loopback
 * port, no persistence, stopped by the test. `hasRedis` is false where it is not installed; suites
 * then skip with a message saying so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import * as tls from 'node:tls'

const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
/** The redis-server executable, or undefined. */
export const redisServerPath: string | undefined = which.status === 0 ? which.stdout.trim() || undefined : undefined
export const hasRedis = redisServerPath !== undefined
export const noRedisMessage =
  'redis-server is not installed (apt-get install redis-server; .ci/run does): the Redis tests are skipped'

/** A free TCP port on 127.0.0.1 (the kernel's choice; released before it is returned). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })

/** Files of a test CA and a server certificate for 127.0.0.1 it signed. */
export interface TestCerts {
  readonly ca: string
  readonly cert: string
  readonly key: string
}

/** Make a CA and a certificate for IP 127.0.0.1 with openssl; undefined when openssl is missing. */
export const makeTestCerts = (): TestCerts | undefined => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-tls-'))
  const f = (n: string): string => path.join(dir, n)
  const ext = f('ext.cnf')
  fs.writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\n')
  // Arguments split on spaces: the temp folder's path has none.
  const run = (args: string): boolean => spawnSync('openssl', args.split(' '), { stdio: 'ignore' }).status === 0
  const ec = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2'
  const ok =
    run(`req -x509 ${ec} -subj /CN=tmaml-test-CA -keyout ${f('ca.key')} -out ${f('ca.pem')}`) &&
    run(`req ${ec} -subj /CN=127.0.0.1 -keyout ${f('server.key')} -out ${f('server.csr')}`) &&
    run(
      `x509 -req -in ${f('server.csr')} -CA ${f('ca.pem')} -CAkey ${f('ca.key')} -CAcreateserial -days 2 ` +
        `-extfile ${ext} -out ${f('server.pem')}`
    )
  return ok ? { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') } : undefined
}

/** Resolve once `PING` on 127.0.0.1:`port` answers (with `password` if given), or reject after `ms`. */
const waitPing = (
  port: number,
  password: string | undefined,
  certs: TestCerts | undefined,
  ms: number
): Promise<void> => {
  const deadline = Date.now() + ms
  const once = (): Promise<boolean> =>
    new Promise((resolve) => {
      const sock =
        certs === undefined
          ? net.connect(port, '127.0.0.1')
          : tls.connect({ port, host: '127.0.0.1', ca: fs.readFileSync(certs.ca) })
      let buf = ''
      sock.setTimeout(500, () => {
        sock.destroy()
        resolve(false)
      })
      sock.on(certs === undefined ? 'connect' : 'secureConnect', () =>
        sock.write(`${password !== undefined ? `AUTH ${password}\r\n` : ''}PING\r\n`)
      )
      sock.on('data', (d) => {
        buf += d.toString()
        if (buf.includes('+PONG')) {
          sock.destroy()
          resolve(true)
        }
      })
      sock.on('error', () => resolve(false))
    })
  const loop = async (): Promise<void> => {
    while (Date.now() < deadline) {
      if (await once()) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`redis-server on port ${port} did not answer within ${ms} ms`)
  }
  return loop()
}

/** A running test server. */
export interface TestRedis {
  readonly port: number
  readonly url: string
  /** Stop it (SIGTERM, no persistence: everything in it is lost). */
  readonly stop: () => Promise<void>
  /** Start it again on the same port (empty). */
  readonly start: () => Promise<void>
}

/**
 * Start a redis-server on a free loopback port; `password` sets `requirepass`; with `certs` it speaks
 * TLS only (`rediss://`).
 */
export const startRedis = async (password?: string, certs?: TestCerts): Promise<TestRedis> => {
  if (redisServerPath === undefined) throw new Error(noRedisMessage)
  const port = await freePort()
  let proc: ChildProcess | undefined
  const start = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      ...(password !== undefined ? ['--requirepass', password] : []),
      ...(certs !== undefined
        ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key]
        : []),
      ...(certs !== undefined ? ['--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no'] : [])
    ]
    proc = spawn(redisServerPath, args, { stdio: 'ignore' })
    await waitPing(port, password, certs, 10_000)
  }
  const stop = async (): Promise<void> => {
    const p = proc
    proc = undefined
    if (p === undefined || p.exitCode !== null) return
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve())
      p.kill('SIGTERM')
    })
  }
  await start()
  return { port, url: `${certs !== undefined ? 'rediss' : 'redis'}://127.0.0.1:${port}`, stop, start }
}

/** A `tmaml worker` process of the test (compiled CLI), with its log lines. */
export interface WorkerProcess {
  readonly proc: ChildProcess
  readonly lines: string[]
  /** Resolve with the first line (past or future) matching `re`; reject after `ms`. */
  readonly waitFor: (re: RegExp, ms?: number) => Promise<string>
  /** SIGKILL, and wait for the exit. */
  readonly kill9: () => Promise<void>
  /** SIGTERM, and wait for the exit; resolves to the exit code. */
  readonly stop: () => Promise<number | null>
}

/** Start `node bin/tmaml.js worker --redis <url> ...args` and wait until it serves. */
export const startWorkerProcess = async (url: string, args: ReadonlyArray<string>): Promise<WorkerProcess> => {
  const proc = spawn(process.execPath, ['bin/tmaml.js', 'worker', '--redis', url, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TMAML_BACKEND: 'wasm' }
  })
  const lines: string[] = []
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = []
  let pending = ''
  proc.stderr?.on('data', (d: Buffer) => {
    pending += d.toString()
    const parts = pending.split('\n')
    pending = parts.pop() ?? ''
    for (const l of parts) {
      lines.push(l)
      for (const w of [...waiters])
        if (w.re.test(l)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(l)
        }
    }
  })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const waitFor = (re: RegExp, ms = 30_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const seen = lines.find((l) => re.test(l))
      if (seen !== undefined) return resolve(seen)
      const timer = setTimeout(
        () => reject(new Error(`worker: no line ${re} within ${ms} ms:\n${lines.join('\n')}`)),
        ms
      )
      waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(timer)
          resolve(l)
        }
      })
    })
  const w: WorkerProcess = {
    proc,
    lines,
    waitFor,
    kill9: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await exited
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
      return exited
    }
  }
  await waitFor(/serving/)
  return w
}
