// The streamed iteration against the sequential stages: the same records and states, bit for bit, for
// each outer optimiser and both kinds of control variate (fitted per task as episodes arrive, or the
// meta-learned one that waits for all), with one and two inner steps, tasks arriving in shuffled
// orders, on every backend; and it does stream: a task's post-update episodes are requested before the
// pre-update ones of the others are all in.
import { Subject, defer, lastValueFrom, tap, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import type { EpisodeBatch, Sampled } from '../../src/pipelines/episodes.js'
import type { RolloutRequest } from '../../src/pipelines/sampler/types.js'
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../../src/base/errors.js'
import { resolveConfig } from '../../src/pipelines/config.js'
import { makeSampler } from '../../src/pipelines/sampler/makeSampler.js'
import { streamSampler } from '../../src/pipelines/sampler/stream.js'
import type { Sampler } from '../../src/pipelines/sampler/types.js'
import type { ControlVariateKind, InOrderFit } from '../../src/pipelines/controlVariates/controlVariate.js'
import { metaControlVariate } from '../../src/pipelines/controlVariates/metaValue.js'
import {
  type IterationContext,
  StageError,
  type TrainDeps,
  runIteration,
  sampleTasks,
  trainDeps
} from '../../src/pipelines/stages.js'
import {
  asTheyCome,
  groupLimit,
  sequentialIteration,
  standardIteration,
  streamedAdaptation
} from '../../src/pipelines/streaming.js'
import { initialState, metaTrain, toRecord } from '../../src/pipelines/train.js'
import { availableBackends } from '../support/backends.js'
import { type Arrival, fakeSampler } from '../support/fakeSampler.js'
import { point2dDeps } from '../support/pipelines.js'

/** Equal numbers bit for bit (typed arrays element-wise), recursively; the path of the first difference. */
const firstDifference = (a: unknown, b: unknown, path = ''): string | null => {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) ? null : `${path}: ${a} vs ${b}`
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = a as unknown as ArrayLike<number>
    const y = b as unknown as ArrayLike<number>
    if (x.length !== y.length) return `${path}: length ${x.length} vs ${y.length}`
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return `${path}[${i}]: ${x[i]} vs ${y[i]}`
    return null
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`)
      if (d !== null) return d
    }
    return null
  }
  return Object.is(a, b) ? null : `${path}: ${String(a)} vs ${String(b)}`
}

/** A different order of arrival for each request, drawn from its stream. */
const shuffled: Arrival = (req, n) => {
  const rng = rngAt(5, 'arrival', ...req.stream, ...(req.taskIds ?? []))
  const order = [...Array(n).keys()]
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return order
}

const config = (over: Readonly<Record<string, unknown>>) => ({
  tasksPerBatch: 5,
  rolloutsPerTask: 4,
  iterations: 2,
  evalEvery: 2,
  evalTasks: 2,
  trpo: { cgIters: 2, lineSearchSteps: 3 },
  ppo: { steps: 2 },
  metaCv: { hidden: [8], epochs: 2 },
  valueCv: { hidden: [8], epochs: 3 },
  ...over
})

/**
 * HalfCheetah's sizes (17-d observations, 6-d actions; the fake sampler simulates nothing) with 120
 * steps per task: large enough for tfjs-wasm's single-batch matMul to round differently.
 */
const cheetahDeps = (sampler: Sampler, over: Readonly<Record<string, unknown>>): TrainDeps => {
  const cfg = resolveConfig({
    env: 'halfcheetah-dir',
    horizon: 30,
    hidden: [32, 32],
    ...config(over),
    rolloutsPerTask: 6
  })
  if (E.isLeft(cfg)) throw new Error(formatError(cfg.left))
  const deps = trainDeps(cfg.right, sampler)
  if (E.isLeft(deps)) throw new Error(formatError(deps.left))
  return deps.right
}

/** Records (without timings) and final states of two iterations, and the requests made. */
const train = async (over: Readonly<Record<string, unknown>>, streamed: boolean, arrival?: Arrival) => {
  const fake = fakeSampler(undefined, arrival)
  const deps = cheetahDeps(fake.sampler, over)
  const ctxs = await lastValueFrom(
    metaTrain(deps, streamed ? standardIteration() : sequentialIteration())(initialState(deps)).pipe(toArray())
  )
  const records = ctxs.map((c) => {
    const { timings, ...rest } = toRecord(c)
    expect(Object.keys(timings)).toEqual(expect.arrayContaining(['sample', 'controlVariates', 'adapt', 'metaUpdate']))
    return rest
  })
  return { records, states: ctxs.map((c) => c.next), contexts: ctxs, requests: fake.requests }
}

/** A fake sampler that logs each request (`request <phase> <task ids>`) and each batch (`<phase> <task>`). */
const logged = (arrival?: Arrival): { readonly sampler: Sampler; readonly log: string[] } => {
  const log: string[] = []
  const fake = fakeSampler(undefined, arrival)
  const sampler = streamSampler({
    workers: 0,
    sample$: (req) =>
      defer(() => {
        log.push(`request ${req.stream[1]} ${(req.taskIds ?? []).join(',')}`)
        return fake.sampler.sample$(req).pipe(tap((b) => log.push(`${req.stream[1]} ${b.task}`)))
      }),
    close: fake.sampler.close
  })
  return { sampler, log }
}

const cases: ReadonlyArray<Readonly<Record<string, unknown>>> = [
  { outer: 'vpg', controlVariate: 'linear' },
  { outer: 'trpo', controlVariate: 'meta', innerSteps: 2 },
  { outer: 'ppo', controlVariate: 'value', innerNormalize: true },
  { outer: 'vpg', controlVariate: 'action-dependent', innerSteps: 2, estimator: 'dice' }
]

describe('pipelines/streaming', async () => {
  for (const backend of await availableBackends())
    describe(`streamedAdaptation on ${backend}`, () => {
      // TRPO through the meta-learned control variate is ~20 s on the plain JS backend: there, the others.
      const here = backend === 'cpu' ? cases.filter((c) => c.outer !== 'trpo') : cases
      it.each(here)('gives the sequential stages bit for bit, whatever the arrival order: %o', async (over) => {
        await initBackendOrThrow(backend)
        const want = await train(over, false)
        for (const arrival of [undefined, shuffled]) {
          const got = await train(over, true, arrival)
          expect(firstDifference(got.records, want.records)).toBeNull()
          expect(firstDifference(got.states, want.states)).toBeNull()
          // The context holds what the sequential stages leave: per task and step, the same records.
          for (const [i, c] of got.contexts.entries()) {
            expect(firstDifference(c.inner, want.contexts[i].inner)).toBeNull()
            expect(firstDifference(c.post, want.contexts[i].post)).toBeNull()
          }
        }
      })
    })

  it('requests post-update episodes of the first adapted tasks before the rest of the pre-update ones are in', async () => {
    await initBackendOrThrow('wasm')
    const { sampler, log } = logged()
    const deps = cheetahDeps(sampler, { controlVariate: 'linear', tasksPerBatch: 8 })
    const ctx = await lastValueFrom(
      runIteration(deps, initialState(deps), (c$) => c$.pipe(sampleTasks(), streamedAdaptation()))
    )
    expect(log[0]).toBe('request pre 0,1,2,3,4,5,6,7')
    const posts = log.filter((x) => x.startsWith('request post'))
    // Several post-update requests, of at most a quarter of the tasks, together each task once, the
    // first made while the pre-update episodes were still coming (the fake emits one per macrotask).
    expect(posts.length).toBeGreaterThan(1)
    expect(posts.every((r) => r.split(' ')[2].split(',').length <= groupLimit(8))).toBe(true)
    expect(posts.flatMap((r) => r.split(' ')[2].split(',').map(Number)).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(log.indexOf(posts[0])).toBeLessThan(log.indexOf('pre 7'))
    expect(ctx.post._tag === 'Fitted' && ctx.post.tasks.map((t) => t.batch.task)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('feeds the meta-learned control variate each task as soon as it and those before it are in', async () => {
    await initBackendOrThrow('wasm')
    const { sampler, log } = logged((req, n) => (req.stream[1] === 'pre' ? [1, 0, 2, 3, 4, 5] : [...Array(n).keys()]))
    const meta = metaControlVariate
    const watched: ControlVariateKind = {
      ...meta,
      inOrder: (setup) =>
        E.map((f: InOrderFit): InOrderFit => ({ ...f, add: (t) => (log.push(`add ${t.batch.task}`), f.add(t)) }))(
          (meta.inOrder as NonNullable<ControlVariateKind['inOrder']>)(setup)
        )
    }
    const base = cheetahDeps(sampler, { tasksPerBatch: 6 })
    const deps = { ...base, cfg: { ...base.cfg, controlVariate: watched } }
    await lastValueFrom(runIteration(deps, initialState(deps), (c$) => c$.pipe(sampleTasks(), streamedAdaptation())))
    const at = (x: string): number => log.indexOf(x)
    // Task 1 arrives first and waits for task 0; tasks are added before the last pre-update one is in.
    expect(log.slice(0, 5)).toEqual(['request pre 0,1,2,3,4,5', 'pre 1', 'pre 0', 'add 0', 'add 1'])
    expect(at('add 4')).toBeLessThan(at('pre 5'))
    expect(log.filter((x) => x.startsWith('add')).map((x) => Number(x.slice(4)))).toEqual([0, 1, 2, 3, 4, 5])
    // Then baselines and adaptation a group (two tasks) at a time, each group's post-update episodes
    // requested as soon as it is adapted.
    expect(log.filter((x) => x.startsWith('request post'))).toEqual([
      'request post 0,1',
      'request post 2,3',
      'request post 4,5'
    ])
    expect(log.filter((x) => x.startsWith('post'))).toHaveLength(6)
  })

  it('with the real sampler on two threads, HalfCheetah: the sequential stages bit for bit', async () => {
    await initBackendOrThrow('wasm')
    const s = await makeSampler({ workers: 2, chunksPerWorker: 3 })
    if (E.isLeft(s)) throw new Error(formatError(s.left))
    try {
      for (const cv of ['linear', 'meta']) {
        const cfg = resolveConfig({
          ...config({ controlVariate: cv }),
          env: 'halfcheetah-dir',
          horizon: 20,
          hidden: [16]
        })
        if (E.isLeft(cfg)) throw new Error(formatError(cfg.left))
        const deps = trainDeps(cfg.right, s.right)
        if (E.isLeft(deps)) throw new Error(formatError(deps.left))
        const run = (stages: typeof standardIteration) =>
          lastValueFrom(metaTrain(deps.right, stages())(initialState(deps.right)).pipe(toArray()))
        const [want, got] = [await run(sequentialIteration), await run(standardIteration)]
        const strip = (cs: ReadonlyArray<IterationContext>) => cs.map((c) => ({ ...toRecord(c), timings: {} }))
        expect(firstDifference(strip(got), strip(want))).toBeNull()
        expect(
          firstDifference(
            got.map((c) => c.next),
            want.map((c) => c.next)
          )
        ).toBeNull()
      }
    } finally {
      await s.right.close()
    }
  })

  it('asTheyCome groups what arrived meanwhile, in task order, at most max at a time', async () => {
    const src = new Subject<Sampled>()
    const item = (task: number): Sampled => ({ batch: { task } as EpisodeBatch, sampledWith: {} })
    const groups = lastValueFrom(src.pipe(asTheyCome(2), toArray()))
    for (const task of [3, 0, 2]) src.next(item(task))
    // The first flush takes two of the three; task 1 arrives before the second.
    await new Promise((r) => setImmediate(r))
    src.next(item(1))
    src.complete()
    expect((await groups).map((g) => g.map((x) => x.batch.task))).toEqual([
      [0, 2],
      [1, 3]
    ])
  })

  it('fails with a StageError naming the stage when run out of order or when sampling fails', async () => {
    await initBackendOrThrow('wasm')
    const deps = point2dDeps(fakeSampler().sampler, config({}), 6, [8])
    const noTasks = lastValueFrom(runIteration(deps, initialState(deps), streamedAdaptation()))
    await expect(noTasks).rejects.toThrow(StageError)
    await expect(noTasks).rejects.toMatchObject({ stage: 'streamedAdaptation' })
    const failing = fakeSampler((req: RolloutRequest) => req.stream[1] === 'post')
    const d2 = point2dDeps(failing.sampler, config({ controlVariate: 'linear' }), 6, [8])
    const e = lastValueFrom(
      runIteration(d2, initialState(d2), (c$) => c$.pipe(sampleTasks(), streamedAdaptation()))
    ) as Promise<IterationContext>
    await expect(e).rejects.toMatchObject({ stage: 'sample', error: { _tag: 'ResourceError' } })
  })
})
