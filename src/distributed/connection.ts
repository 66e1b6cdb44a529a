/**
 * Where the Redis server is, and connections to it. A target is parsed from a URL
 * (`redis://[user:password@]host[:port][/db]`, or `rediss://...` for TLS) plus two environment
 * variables that keep secrets off the command line (where `ps` and shell history would show them):
 * `TMAML_REDIS_PASSWORD` (used when the URL has no password) and `TMAML_REDIS_CA` (a PEM file of the
 * certificate authority a `rediss://` server's certificate is checked against; without it, the
 * system's CAs). Passwords never appear in messages (`target.shown`).
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import { isIP } from 'node:net'
import * as E from 'fp-ts/lib/Either.js'
import { Redis, type RedisOptions } from 'ioredis'
import { invalidInput, resourceError, type TmamlError } from '../base/errors.js'

/**
 * A Redis server to connect to.
 *
 * @category model
 */
export interface RedisTarget {
  /** The URL with its password replaced by `***`, for messages. */
  readonly shown: string
  readonly host: string
  readonly port: number
  readonly db: number
  readonly username: string | undefined
  readonly password: string | undefined
  /** TLS (`rediss://`), with this CA when given (PEM), else the system's. */
  readonly tls: { readonly ca: string | undefined } | undefined
}

/**
 * Parse a Redis URL (and the `TMAML_REDIS_PASSWORD` / `TMAML_REDIS_CA` variables of `env`).
 *
 * @category constructors
 */
export const parseRedisTarget = (
  url: string,
  env: Readonly<Record<string, string | undefined>> = process.env
): E.Either<TmamlError, RedisTarget> => {
  const bad = (why: string): E.Either<TmamlError, never> =>
    E.left(
      invalidInput(
        '--redis',
        `${why}; expected redis://[user:password@]host[:port][/db] or rediss://... (TLS), e.g. redis://10.0.0.5:6379`
      )
    )
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return bad(`'${url.replace(/:[^:@/]*@/, ':***@')}' is not a URL`)
  }
  const shown = u.password !== '' ? url.replace(`:${u.password}@`, ':***@') : url
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return bad(`${shown}: the scheme must be redis or rediss`)
  if (u.hostname === '') return bad(`${shown}: no host`)
  if (u.search !== '' || u.hash !== '') return bad(`${shown}: query strings and fragments are not supported`)
  const port = u.port === '' ? 6379 : Number(u.port)
  const dbText = u.pathname.replace(/^\//, '')
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) return bad(`${shown}: the path must be a database number`)
  const caFile = env['TMAML_REDIS_CA']
  let ca: string | undefined
  if (caFile !== undefined && caFile !== '') {
    if (u.protocol !== 'rediss:') return bad(`TMAML_REDIS_CA is set but ${shown} is not a rediss:// (TLS) URL`)
    try {
      ca = fs.readFileSync(caFile, 'utf8')
    } catch (err) {
      return E.left(resourceError(`TMAML_REDIS_CA ${caFile}`, err instanceof Error ? err.message : String(err)))
    }
  }
  const password = u.password !== '' ? decodeURIComponent(u.password) : env['TMAML_REDIS_PASSWORD'] || undefined
  return E.right({
    shown,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db: dbText === '' ? 0 : Number(dbText),
    username: u.username !== '' ? decodeURIComponent(u.username) : undefined,
    password,
    tls: u.protocol === 'rediss:' ? { ca } : undefined
  })
}

/** How a connection behaves while the server is unreachable. */
export type ConnectionRole =
  /** BullMQ workers and their blocking reads: commands wait for the reconnection (BullMQ requires it). */
  | 'worker'
  /** The learner: commands fail at once while disconnected, so it can notice, report and retry. */
  | 'client'

/** An ioredis connection to `target` (it connects in the background and reconnects by itself). */
export const connect = (target: RedisTarget, role: ConnectionRole, name: string): Redis => {
  const opts: RedisOptions = {
    host: target.host,
    port: target.port,
    db: target.db,
    username: target.username,
    password: target.password,
    connectionName: name,
    // Reconnect quickly after a server restart, at most every 2 s.
    retryStrategy: (times) => Math.min(100 * times, 2000),
    ...(target.tls !== undefined
      ? {
          tls: {
            // SNI takes host names only; an IP address is checked against the certificate all the same.
            ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
            ...(target.tls.ca !== undefined ? { ca: target.tls.ca } : {})
          }
        }
      : {}),
    ...(role === 'worker' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false })
  }
  const r = new Redis(opts)
  // Errors are reported by the commands that fail; without a listener ioredis prints each one.
  r.on('error', () => undefined)
  return r
}

/** Wait until `r` is ready; a `Left` naming the server and the last error after `timeoutMs`. */
export const waitReady = (r: Redis, target: RedisTarget, timeoutMs: number): Promise<E.Either<TmamlError, void>> =>
  new Promise((resolve) => {
    if (r.status === 'ready') return resolve(E.right(undefined))
    let last = ''
    const onError = (err: Error): void => {
      last = err.message
    }
    const done = (v: E.Either<TmamlError, void>): void => {
      clearTimeout(timer)
      r.off('ready', onReady)
      r.off('error', onError)
      resolve(v)
    }
    const onReady = (): void => done(E.right(undefined))
    const timer = setTimeout(
      () =>
        done(
          E.left(
            resourceError(
              `redis ${target.shown}`,
              `cannot connect within ${Math.round(timeoutMs / 1000)} s${last !== '' ? ` (${last})` : ''}; ` +
                'is redis-server running there, and are the host, port, password (TMAML_REDIS_PASSWORD) and TLS (rediss://, TMAML_REDIS_CA) right?'
            )
          )
        ),
      timeoutMs
    )
    r.on('ready', onReady)
    r.on('error', onError)
  })
