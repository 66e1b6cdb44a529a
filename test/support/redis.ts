/**
 * A Redis server of the test's own: Debian's redis-server (installed by .ci/run) on a free loopback
 * port, no persistence, stopped by the test. `hasRedis` is false where it is not installed; suites
 * then skip with a message saying so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import * as net from 'node:net'

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

/** Resolve once `PING` on 127.0.0.1:`port` answers (with `password` if given), or reject after `ms`. */
const waitPing = (port: number, password: string | undefined, ms: number): Promise<void> => {
  const deadline = Date.now() + ms
  const once = (): Promise<boolean> =>
    new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1')
      let buf = ''
      sock.setTimeout(500, () => {
        sock.destroy()
        resolve(false)
      })
      sock.on('connect', () => sock.write(`${password !== undefined ? `AUTH ${password}\r\n` : ''}PING\r\n`))
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

/** Start a redis-server on a free loopback port; `password` sets `requirepass`. */
export const startRedis = async (password?: string): Promise<TestRedis> => {
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
      ...(password !== undefined ? ['--requirepass', password] : [])
    ]
    proc = spawn(redisServerPath, args, { stdio: 'ignore' })
    await waitPing(port, password, 10_000)
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
  return { port, url: `redis://127.0.0.1:${port}`, stop, start }
}
