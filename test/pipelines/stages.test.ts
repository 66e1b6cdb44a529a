// The stages as units: what the iteration context holds after each (with a fake sampler, no
// environment), the errors of stages run out of order, and — as RxJS marble tests — the order in which
// stages see contexts and how an error ends the stream.
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, map } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { invalidInput } from '../../src/base/errors.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import {
  type IterationContext,
  StageError,
  type TrainDeps,
  adaptPolicies,
  evaluate,
  fitControlVariates,
  fitOuterBaselines,
  innerLoop,
  metaUpdate,
  rolloutPost,
  rolloutPre,
  runIteration,
  sampleTasks,
  stage,
  startIteration
} from '../../src/pipelines/stages.js'
import { initialState, metaTrain } from '../../src/pipelines/train.js'
import { fakeSampler } from '../support/fakeSampler.js'
import { point2dDeps } from '../support/pipelines.js'

const depsWith = (config: Readonly<Record<string, unknown>>, sampler = fakeSampler().sampler): TrainDeps =>
  point2dDeps(
    sampler,
    { tasksPerBatch: 2, rolloutsPerTask: 4, iterations: 2, evalEvery: 0, controlVariate: 'linear', ...config },
    5,
    [4]
  )

const failure = async (p: Promise<unknown>): Promise<StageError> => {
  try {
    await p
  } catch (err) {
    if (err instanceof StageError) return err
    throw err
  }
  throw new Error('expected a StageError')
}

beforeAll(async () => {
  await initBackendOrThrow('wasm')
})

describe('pipelines/stages with a fake sampler', () => {
  it("keeps one record per task and inner step: step s + 1 samples at step s's adapted parameters", async () => {
    const fake = fakeSampler()
    const deps = depsWith({ innerSteps: 2 }, fake.sampler)
    const state = initialState(deps)
    const ctx = await lastValueFrom(
      runIteration(deps, state, (c$) => c$.pipe(sampleTasks(), innerLoop(), rolloutPost(), fitOuterBaselines()))
    )
    expect(ctx.inner.map((steps) => steps.length)).toEqual([2, 2])
    expect(fake.requests.map((r) => r.stream)).toEqual([
      [0, 'pre', 0],
      [0, 'pre', 1],
      [0, 'post']
    ])
    for (let k = 0; k < 2; k++) {
      const [s0, s1] = ctx.inner[k]
      expect(s0.sampledWith).toBe(state.policy)
      expect(s1.sampledWith).toBe(s0.adapted)
      expect(fake.requests[1].params[k]).toBe(s0.adapted)
      expect(fake.requests[2].params[k]).toBe(s1.adapted)
      expect(s1.adapted).not.toEqual(s0.adapted)
      expect(s0.baseline.shape).toBe('per-state')
    }
    expect(ctx.step._tag).toBe('Open')
    expect(ctx.post._tag === 'Fitted' && ctx.post.tasks.map((t) => t.sampledWith)).toEqual(
      ctx.inner.map((steps) => steps[1].adapted)
    )
  })

  it('a stage run out of order fails naming the stage to run first', async () => {
    const deps = depsWith({})
    const state = initialState(deps)
    const cases: ReadonlyArray<readonly [Parameters<typeof runIteration>[2], string, RegExp]> = [
      [(c$) => c$.pipe(sampleTasks(), fitControlVariates()), 'controlVariates', /run rolloutPre first/],
      [(c$) => c$.pipe(sampleTasks(), rolloutPre(), adaptPolicies()), 'adapt', /run fitControlVariates first/],
      [(c$) => c$.pipe(rolloutPre()), 'sample', /run sampleTasks first/],
      [(c$) => c$.pipe(sampleTasks(), rolloutPre(), rolloutPre()), 'sample', /not done \(run adaptPolicies\)/],
      [(c$) => c$.pipe(sampleTasks(), rolloutPost()), 'sample', /run innerLoop first/],
      [(c$) => c$.pipe(sampleTasks(), innerLoop(), rolloutPost(), metaUpdate()), 'metaUpdate', /fitOuterBaselines/]
    ]
    for (const [stages, name, why] of cases) {
      const e = await failure(lastValueFrom(runIteration(deps, state, stages)))
      expect(e.stage).toBe(name)
      expect(e.error._tag).toBe('InvalidInput')
      expect(JSON.stringify(e.error)).toMatch(why)
    }
  })

  it("a sampler's failure errors the stream with a StageError carrying it", async () => {
    const fake = fakeSampler((req) => req.stream[1] === 'post')
    const deps = depsWith({}, fake.sampler)
    const e = await failure(lastValueFrom(metaTrain(deps)(initialState(deps))))
    expect(e.stage).toBe('sample')
    expect(e.error).toEqual({ _tag: 'ResourceError', where: 'fake sampler', message: 'asked to fail on 0/post' })
  })

  it("evaluation uses the run's own control variate, never another kind", async () => {
    const evalOf = async (cv: string) => {
      const deps = depsWith({ controlVariate: cv, evalEvery: 1, evalTasks: 2, valueCv: { epochs: 3 } })
      const ctx = await lastValueFrom(runIteration(deps, initialState(deps), (c$) => c$.pipe(evaluate())))
      return [ctx.stats['evalPre'], ctx.stats['evalPost']]
    }
    const [linear, value, none] = [await evalOf('linear'), await evalOf('value'), await evalOf('none')]
    // Same held-out episodes before adaptation; each kind's own baselines, so its own adapted policy.
    expect(value[0]).toBe(linear[0])
    expect(none[0]).toBe(linear[0])
    expect(new Set([linear[1], value[1], none[1]]).size).toBe(3)
    // 'meta' without its network is an error, not some other baseline.
    const deps = depsWith({ controlVariate: 'meta', evalEvery: 1, evalTasks: 2 })
    const e = await failure(
      lastValueFrom(runIteration(deps, { ...initialState(deps), cvState: null }, (c$) => c$.pipe(evaluate())))
    )
    expect(JSON.stringify(e.error)).toMatch(/control variate 'meta'/)
  })
})

describe('pipelines/stages marble tests', () => {
  const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
  const deps = depsWith({ innerSteps: 3, iterations: 3 })
  const ctx0 = startIteration(deps, initialState(deps))
  const labelled = (ctx: IterationContext): string => String(ctx.stats['label'])
  const tagged = (label: string): IterationContext => ({ ...ctx0, stats: { label: Number(label) } })

  it('each context passes the stages in order, one context at a time', () => {
    const seen: string[] = []
    const record = (name: string) =>
      stage(name, (ctx) => {
        seen.push(`${name}${labelled(ctx)}`)
        return E.right(ctx)
      })
    scheduler().run(({ cold, expectObservable }) => {
      const in$ = cold('1-2|', { 1: tagged('1'), 2: tagged('2') })
      expectObservable(in$.pipe(record('A'), record('B'), map(labelled))).toBe('1-2|', { 1: '1', 2: '2' })
    })
    expect(seen).toEqual(['A1', 'B1', 'A2', 'B2'])
  })

  it('a failing stage errors the stream at that context; later stages and contexts never run', () => {
    const after: string[] = []
    const failOn2 = stage('picky', (ctx) =>
      labelled(ctx) === '2' ? E.left(invalidInput('picky', 'no 2s')) : E.right(ctx)
    )
    const later = stage('later', (ctx) => {
      after.push(labelled(ctx))
      return E.right(ctx)
    })
    scheduler().run(({ cold, expectObservable }) => {
      const in$ = cold('1-2-3|', { 1: tagged('1'), 2: tagged('2'), 3: tagged('3') })
      expectObservable(in$.pipe(failOn2, later, map(labelled))).toBe(
        '1-#',
        { 1: '1' },
        new StageError('picky', invalidInput('picky', 'no 2s'))
      )
    })
    expect(after).toEqual(['1'])
  })

  it('innerLoop runs its steps cfg.innerSteps times for each context', () => {
    let calls = 0
    const step = stage('step', (ctx) => {
      calls += 1
      return E.right(ctx)
    })
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('1|', { 1: tagged('1') }).pipe(innerLoop(step), map(labelled))).toBe('1|', { 1: '1' })
    })
    expect(calls).toBe(3)
  })

  it('a built-in stage on the wrong context errors the stream with a StageError', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('1|', { 1: ctx0 }).pipe(adaptPolicies())).toBe(
        '#',
        undefined,
        new StageError(
          'adapt',
          invalidInput(
            'adaptPolicies',
            'found no episodes yet, expected episodes with baselines: run fitControlVariates first'
          )
        )
      )
    })
  })

  it("metaTrain emits one context per iteration, from each one's next state, and completes at cfg.iterations", () => {
    const step = stage('fake update', (ctx) =>
      E.right({ ...ctx, next: { ...ctx.state, iteration: ctx.state.iteration + 1 } })
    )
    scheduler().run(({ expectObservable }) => {
      expectObservable(metaTrain(deps, step)(initialState(deps)).pipe(map((c) => c.state.iteration))).toBe('(abc|)', {
        a: 0,
        b: 1,
        c: 2
      })
    })
  })
})
