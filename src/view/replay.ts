/**
 * Replays for the page: a run's meta-policy (from its checkpoint, or its initial state) adapted to a
 * task and recorded with the project's own rollout and adaptation code (`recordAdaptation`). The tfjs
 * backend and an in-thread sampler start on the first request; requests run one at a time (they are
 * CPU work) and recent results are kept.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type TmamlError, decodeWith, invalidInput, resourceError } from '../base/errors.js'
import { rngAt } from '../base/rng.js'
import { getEnvSpec } from '../envs/registry.js'
import { robots } from '../envs/robots.js'
import { startBackend } from '../graph/backend.js'
import { resolveConfig } from '../pipelines/config.js'
import { type Recording, recordAdaptation } from '../pipelines/record.js'
import { trainDeps } from '../pipelines/stages.js'
import { readCheckpoint } from '../pipelines/runDir.js'
import { makeSampler } from '../pipelines/sampler/index.js'
import type { Sampler } from '../pipelines/sampler/types.js'
import { initialState } from '../pipelines/train.js'

/** What the page asks to replay. */
export const ReplayQuery = t.type({
  run: t.number,
  from: t.keyof({ checkpoint: null, initial: null }),
  task: t.unknown,
  steps: t.number,
  seed: t.number,
  show: t.number
})
export type ReplayQuery = t.TypeOf<typeof ReplayQuery>

/** The replay service of a server. */
export interface Replayer {
  readonly record: (q: ReplayQuery) => Promise<E.Either<TmamlError, Recording>>
  /** A few tasks of a run's env (drawn once from a fixed stream), for the page's menu. */
  readonly tasks: (run: number) => Promise<E.Either<TmamlError, ReadonlyArray<unknown>>>
  /** The MJCF of a run's robot, or null for a JS env (the page then draws a point). */
  readonly model: (run: number) => Promise<E.Either<TmamlError, string | null>>
  readonly close: () => Promise<void>
}

const configOf = async (folder: string) => {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'))
  } catch (err) {
    return E.left(resourceError(`${folder}/config.json`, err instanceof Error ? err.message : String(err)))
  }
  return resolveConfig(
    typeof raw === 'object' && raw !== null ? { ...raw, runDir: '' } : raw,
    undefined,
    `${folder}/config.json`
  )
}

/**
 * The replay service over `folders` (indexed as the server lists them).
 *
 * @category replay
 */
export const makeReplayer = (folders: ReadonlyArray<string>): Replayer => {
  let sampler: Promise<E.Either<TmamlError, Sampler>> | undefined
  let queue: Promise<unknown> = Promise.resolve()
  const cache = new Map<string, E.Either<TmamlError, Recording>>()

  const services = (): Promise<E.Either<TmamlError, Sampler>> => {
    sampler ??= (async () => {
      const backend = await startBackend(undefined, process.env)
      if (E.isLeft(backend)) return backend
      return makeSampler({ workers: 0 })
    })()
    return sampler
  }

  const folderOf = (run: number): E.Either<TmamlError, string> =>
    Number.isInteger(run) && run >= 0 && run < folders.length
      ? E.right(folders[run])
      : E.left(invalidInput('replay', `run must be an index in [0, ${folders.length}), got ${run}`))

  const recordNow = async (q: ReplayQuery): Promise<E.Either<TmamlError, Recording>> => {
    const folder = folderOf(q.run)
    if (E.isLeft(folder)) return folder
    const s = await services()
    if (E.isLeft(s)) return s
    // A checkpoint's state, or the run's initial state from its config.
    const ck = q.from === 'checkpoint' ? readCheckpoint(folder.right) : undefined
    if (ck !== undefined && E.isLeft(ck)) return ck
    const cfg = ck !== undefined ? E.right(ck.right.config) : await configOf(folder.right)
    if (E.isLeft(cfg)) return cfg
    const deps = trainDeps(cfg.right, s.right)
    if (E.isLeft(deps)) return deps
    return recordAdaptation({
      deps: deps.right,
      state: ck !== undefined ? ck.right.state : initialState(deps.right),
      task: q.task,
      innerSteps: q.steps,
      seed: q.seed,
      show: q.show
    })
  }

  /** The config of run `run` and its environment. */
  const runEnv = async (run: number) => {
    const folder = folderOf(run)
    if (E.isLeft(folder)) return folder
    const cfg = await configOf(folder.right)
    if (E.isLeft(cfg)) return cfg
    const env = getEnvSpec(cfg.right.env)
    return E.isLeft(env) ? env : E.right({ cfg: cfg.right, env: env.right })
  }

  return {
    record: (query) => {
      const key = JSON.stringify(query)
      const hit = cache.get(key)
      if (hit !== undefined) return Promise.resolve(hit)
      const next = queue.then(() => recordNow(query))
      queue = next.catch(() => undefined)
      return next.then((r) => {
        cache.set(key, r)
        if (cache.size > 16) cache.delete(cache.keys().next().value as string)
        return r
      })
    },
    tasks: async (run) => {
      const found = await runEnv(run)
      if (E.isLeft(found)) return found
      const { cfg, env } = found.right
      const drawn = env.sampleTasks(rngAt(cfg.seed, 'view-tasks'), 8)
      const unique = [...new Map([env.defaultTask, ...drawn].map((x) => [JSON.stringify(x), x])).values()]
      return E.right(unique.slice(0, 6))
    },
    model: async (run) => {
      const found = await runEnv(run)
      if (E.isLeft(found)) return found
      const { env } = found.right
      const robot = env.simulator === 'mujoco' ? robots[env.system as keyof typeof robots] : undefined
      return E.right(robot?.xml ?? null)
    },
    close: async () => {
      const s = await sampler
      if (s !== undefined && E.isRight(s)) await s.right.close()
    }
  }
}

/** Decode the page's replay query (numbers arrive as strings). */
export const decodeReplayQuery = (params: URLSearchParams): E.Either<TmamlError, ReplayQuery> => {
  let task: unknown
  try {
    task = JSON.parse(params.get('task') ?? 'null')
  } catch {
    return E.left(invalidInput('replay', `task must be JSON (e.g. {"direction":-1}), got ${params.get('task')}`))
  }
  const num = (k: string, d: number): number => (params.get(k) === null ? d : Number(params.get(k)))
  return decodeWith(
    ReplayQuery,
    'replay query'
  )({
    run: num('run', 0),
    from: params.get('from') ?? 'checkpoint',
    task,
    steps: num('steps', 1),
    seed: num('seed', 0),
    show: num('show', 1)
  })
}
