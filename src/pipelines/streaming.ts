/**
 * The meta-iteration as a stream: the sequential stages `innerLoop() -> rolloutPost() ->
 * fitOuterBaselines()` as one operator, `streamedAdaptation()`, whose context is theirs bit for bit,
 * while the sampler's threads and the main thread work at the same time.
 *
 * 1. The pre-update episodes of every task are requested at once (`Sampler.sample$`); each task's batch
 *    arrives as soon as its last chunk is in.
 * 2. A control variate that fits tasks one by one (`ControlVariateKind.perTask`: the linear, value,
 *    action-dependent ones and none) is fitted on each task as it arrives, and the tasks that arrived
 *    while the main thread was busy are adapted together in one task-batched graph (at most a quarter
 *    of the batch). The meta-learned control variate (Algorithm 1) learns one network from every task:
 *    it is fed each task as soon as that task and those before it are in (`inOrder`: its first round's
 *    gradients are summed in task order, as the sequential fit sums them), learns once the last is in,
 *    and then gives baselines, and the tasks are adapted, a quarter of the batch at a time. A control
 *    variate of neither kind is fitted on all tasks once they are in, as the sequential stage does.
 * 3. A group's next episodes (the next inner step's, or the post-update ones) are requested as soon as
 *    its adapted parameters exist, for those tasks alone (`RolloutRequest.taskIds`: the same episodes a
 *    request for all would draw); post-update batches get their outer baselines as they arrive.
 * 4. The meta-update (next stage) waits for every post-update batch: its objectives — VPG's as well as
 *    TRPO's and PPO's — are one graph over all tasks, which is what makes them fast, and accumulating
 *    per-task gradients would round differently.
 *
 * Why the numbers do not depend on arrival: every random number comes from its path (episodes, fits);
 * shared state (the meta-learned network) is updated from the tasks in task order; and a task's
 * adaptation in a batched graph does not depend on the other tasks in it. That last fact holds for
 * groups of two or more tasks on every backend tested (cpu, wasm, native); tfjs-wasm computes a
 * single-batch matMul another way (XNNPACK) whose sums round differently, so with two or more tasks a
 * group of one is adapted beside a copy of itself. test/pipelines/streaming.test.ts checks the whole
 * iteration against the sequential stages for every outer optimiser and control variate kind, with
 * tasks arriving in shuffled orders, on each backend.
 *
 * Timings: `controlVariates` and `adapt` are main-thread seconds; `sample` is the rest of the stream's
 * wall time (the main thread waiting for episodes), so the stages still add up to the iteration.
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import {
  Observable,
  type OperatorFunction,
  catchError,
  concatMap,
  defer,
  finalize,
  from,
  map,
  mergeMap,
  tap,
  throwError,
  timer,
  toArray
} from 'rxjs'
import { type TmamlError, invalidInput } from '../base/errors.js'
import type { ArrayParams } from '../graph/nn.js'
import {
  type ControlVariateKind,
  type InOrderFit,
  checkBaselines,
  evaluateControlVariate,
  fitControlVariate
} from './controlVariates/controlVariate.js'
import { linearControlVariate } from './controlVariates/linearFeature.js'
import type { Sampled, WithBaseline } from './episodes.js'
import { SampleError } from './sampler/stream.js'
import {
  type InnerStepRecord,
  type IterationContext,
  StageError,
  adaptOnce,
  checkBatches,
  currentParams,
  cvInput,
  evaluate,
  expectAt,
  fitOuterBaselines,
  innerKlOf,
  innerLoop,
  innerStepsDone,
  metaUpdate,
  rolloutPost,
  rolloutRequest,
  sampleTasks
} from './stages.js'

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** The most tasks adapted in one graph: a quarter of the batch, and at least two when there are two. */
export const groupLimit = (tasks: number): number => (tasks <= 1 ? 1 : Math.max(2, Math.ceil(tasks / 4)))

const byTask = <A extends Sampled>(xs: ReadonlyArray<A>): ReadonlyArray<A> =>
  [...xs].sort((a, b) => a.batch.task - b.batch.task)

/** `Right`'s value, or the stage's failure thrown into the stream. */
const orFail = <A>(stage: string, r: E.Either<TmamlError, A>): A => {
  if (E.isLeft(r)) throw new StageError(stage, r.left)
  return r.right
}

/**
 * Groups of what arrived while the consumer was busy: each arrival schedules a flush (a macrotask, so
 * the sampler's threads get their next chunks first); a flush emits at most `max` of the waiting items,
 * in task order, and the consumer's work on them delays the next flush, which takes what came meanwhile.
 */
export const asTheyCome =
  <A extends Sampled>(max: number): OperatorFunction<A, ReadonlyArray<A>> =>
  (source$) =>
    new Observable<ReadonlyArray<A>>((sub) => {
      const waiting: A[] = []
      let ended = false
      let flushing: ReturnType<typeof setImmediate> | undefined
      const flush = (): void => {
        flushing = undefined
        const sorted = byTask(waiting)
        const group = sorted.slice(0, max)
        waiting.splice(0, waiting.length, ...sorted.slice(max))
        if (group.length > 0) sub.next(group)
        if (waiting.length > 0) schedule()
        else if (ended) sub.complete()
      }
      const schedule = (): void => {
        flushing ??= setImmediate(flush)
      }
      const subscription = source$.subscribe({
        next: (a) => {
          waiting.push(a)
          schedule()
        },
        error: (err: unknown) => sub.error(err),
        complete: () => {
          ended = true
          if (flushing === undefined && waiting.length === 0) sub.complete()
        }
      })
      return () => {
        subscription.unsubscribe()
        if (flushing !== undefined) clearImmediate(flushing)
      }
    })

/** The items in task order 0, 1, 2, ..., each as soon as it and those before it are in. */
export const inTaskOrder =
  <A extends Sampled>(): OperatorFunction<A, A> =>
  (source$) =>
    new Observable<A>((sub) => {
      const held = new Map<number, A>()
      let next = 0
      return source$.subscribe({
        next: (a) => {
          held.set(a.batch.task, a)
          for (let x = held.get(next); x !== undefined; x = held.get(next)) {
            held.delete(next)
            next += 1
            sub.next(x)
          }
        },
        error: (err: unknown) => sub.error(err),
        complete: () =>
          held.size === 0 ? sub.complete() : sub.error(new Error(`inTaskOrder: task ${next} never came (a bug)`))
      })
    })

/** `xs` in consecutive groups of at most `size`. */
const groupsOf = <A>(xs: ReadonlyArray<A>, size: number): ReadonlyArray<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(xs.length / size) }, (_, g) => xs.slice(g * size, (g + 1) * size))

// ---------------------------------------------------------------------------------------------
// the stream
// ---------------------------------------------------------------------------------------------

/** Main-thread seconds by stage name, added up while the stream runs. */
type Busy = Record<'controlVariates' | 'adapt', number>

const timed = <A>(busy: Busy, name: keyof Busy, f: () => A): A => {
  const t0 = performance.now()
  try {
    return f()
  } finally {
    busy[name] += (performance.now() - t0) / 1000
  }
}

/** The streamed part of one iteration, from a context with its tasks and no inner step yet. */
const streamIteration = (ctx: IterationContext): Observable<IterationContext> => {
  const { deps } = ctx
  const { cfg } = deps
  const cv = cfg.controlVariate
  const it = ctx.state.iteration
  const K = ctx.tasks.length
  const S = cfg.innerSteps
  const limit = groupLimit(K)
  const busy: Busy = { controlVariates: 0, adapt: 0 }
  const inner: InnerStepRecord[][] = ctx.tasks.map(() => [])
  let cvState = ctx.state.cvState
  let cvStats: Readonly<Record<string, number>> = {}

  /** Episodes of `tasks` (ids) at `params`, each task's batch as it arrives, checked for NaN/Infinity. */
  const rollout$ = (
    ids: ReadonlyArray<number>,
    params: ReadonlyArray<ArrayParams>,
    stream: ReadonlyArray<string | number>
  ): Observable<Sampled> => {
    const paramsOf = new Map(ids.map((id, i) => [id, params[i]]))
    const req = rolloutRequest(
      deps,
      ids.map((id) => ctx.tasks[id]),
      params,
      stream,
      ids
    )
    return deps.sampler.sample$(req).pipe(
      catchError((err: unknown) =>
        throwError(() => (err instanceof SampleError ? new StageError('sample', err.error) : err))
      ),
      map((batch) => {
        orFail('sample', checkBatches(`rollouts ${stream.join('/')}`, [batch]))
        return { batch, sampledWith: paramsOf.get(batch.task) as ArrayParams }
      })
    )
  }

  /** One inner step on `fitted` (tasks in order), as one graph: a lone task of a larger batch beside a copy of itself. */
  const adaptGroup = (fitted: ReadonlyArray<WithBaseline>): ReadonlyArray<InnerStepRecord> =>
    timed(busy, 'adapt', () => {
      const graph = fitted.length === 1 && K > 1 ? [fitted[0], fitted[0]] : fitted
      const r = orFail(
        'adapt',
        adaptOnce(
          deps,
          graph,
          graph.map((f) => f.batch.task)
        )
      )
      return fitted.map((f, i) => ({ ...f, adapted: r.adapted[i] }))
    })

  /**
   * Inner step `s` with a control variate fitted in task order: each task added as soon as it and the
   * tasks before it are in; the state learnt after the last; then baselines and adaptation a group at a
   * time, each group in its own macrotask so that its next episodes reach the threads before the next
   * group's work.
   */
  const inOrderStep =
    (
      s: number,
      start: NonNullable<ControlVariateKind['inOrder']>
    ): OperatorFunction<Sampled, ReadonlyArray<InnerStepRecord>> =>
    (pre$) =>
      defer(() => {
        // Made at the first arrival: the previous step has learnt its state by then.
        let started: InOrderFit | undefined
        const fit = (): InOrderFit =>
          (started ??= orFail('controlVariates', start({ ...cvInput(deps, cv, [], cvState, [it, s]), tasks: K })))
        return pre$.pipe(
          inTaskOrder(),
          tap((task) => timed(busy, 'controlVariates', () => fit().add(task))),
          toArray(),
          mergeMap((all) => {
            const learned = timed(busy, 'controlVariates', () => orFail('controlVariates', fit().learn()))
            cvState = learned.state
            cvStats = learned.stats
            return from(groupsOf(all, limit)).pipe(
              concatMap((group) =>
                timer(0).pipe(
                  map(() => {
                    const baselines = timed(busy, 'controlVariates', () =>
                      orFail(
                        'controlVariates',
                        checkBaselines(
                          cv,
                          group,
                          group.map((g) => fit().baseline(g.batch.task))
                        )
                      )
                    )
                    return adaptGroup(group.map((g, i) => ({ ...g, baseline: baselines[i] })))
                  })
                )
              )
            )
          }),
          finalize(() => started?.dispose())
        )
      })

  /** Inner step `s` on its tasks' pre-update episodes as they arrive: groups of adapted tasks. */
  const innerStep =
    (s: number): OperatorFunction<Sampled, ReadonlyArray<InnerStepRecord>> =>
    (pre$) =>
      cv.perTask === true
        ? pre$.pipe(
            asTheyCome(limit),
            map((group) =>
              adaptGroup(
                timed(busy, 'controlVariates', () =>
                  group.map((g) => {
                    const input = cvInput(deps, cv, [g], cvState, [it, s], [g.batch.task])
                    return { ...g, baseline: orFail('controlVariates', fitControlVariate(cv, input)).baselines[0] }
                  })
                )
              )
            )
          )
        : cv.inOrder !== undefined
          ? inOrderStep(s, cv.inOrder)(pre$)
          : pre$.pipe(
              toArray(),
              mergeMap((arrived) => {
                const all = byTask(arrived)
                const fitted = timed(busy, 'controlVariates', () =>
                  orFail('controlVariates', fitControlVariate(cv, cvInput(deps, cv, all, cvState, [it, s])))
                )
                cvState = fitted.state
                cvStats = fitted.stats
                const withBaselines = all.map((a, k) => ({ ...a, baseline: fitted.baselines[k] }))
                // One group per macrotask: the post-update requests of the first reach the threads first.
                return from(groupsOf(withBaselines, limit)).pipe(
                  concatMap((g) => timer(0).pipe(map(() => adaptGroup(g))))
                )
              })
            )

  /** The post-update batch with its outer baseline (linear features, per task). */
  const outerBaseline = (p: Sampled): WithBaseline =>
    timed(busy, 'controlVariates', () => {
      const input = cvInput(deps, linearControlVariate, [p], null, [it, 'post'], [p.batch.task])
      return { ...p, baseline: orFail('controlVariates', evaluateControlVariate(linearControlVariate, input))[0] }
    })

  return defer(() => {
    const t0 = performance.now()
    let episodes$ = rollout$(
      ctx.tasks.map((_, k) => k),
      currentParams(ctx),
      [it, 'pre', 0]
    )
    for (let s = 0; s < S; s++) {
      const next = s + 1 < S ? [it, 'pre', s + 1] : [it, 'post']
      episodes$ = episodes$.pipe(
        innerStep(s),
        tap((group) => group.forEach((r) => (inner[r.batch.task][s] = r))),
        mergeMap((group) =>
          rollout$(
            group.map((r) => r.batch.task),
            group.map((r) => r.adapted),
            next
          )
        )
      )
    }
    return episodes$.pipe(
      map(outerBaseline),
      toArray(),
      map((posts): IterationContext => {
        const last = inner.map((steps) => steps[S - 1])
        const innerKl = timed(busy, 'adapt', () =>
          innerKlOf(
            deps,
            last,
            last.map((r) => r.adapted)
          )
        )
        const wall = (performance.now() - t0) / 1000
        const add = (name: string, seconds: number): number => (ctx.timings[name] ?? 0) + seconds
        return {
          ...ctx,
          state: { ...ctx.state, cvState },
          inner,
          post: { _tag: 'Fitted', tasks: byTask(posts) },
          stats: { ...ctx.stats, ...cvStats, innerKl },
          timings: {
            ...ctx.timings,
            sample: add('sample', Math.max(0, wall - busy.controlVariates - busy.adapt)),
            controlVariates: add('controlVariates', busy.controlVariates),
            adapt: add('adapt', busy.adapt)
          }
        }
      })
    )
  })
}

// ---------------------------------------------------------------------------------------------
// stages
// ---------------------------------------------------------------------------------------------

const ready = (ctx: IterationContext): E.Either<TmamlError, IterationContext> => {
  const where = 'streamedAdaptation'
  if (ctx.tasks.length === 0) return E.left(invalidInput(where, 'no tasks: run sampleTasks first'))
  if (innerStepsDone(ctx) > 0) return E.left(invalidInput(where, 'inner steps already done: it runs all of them'))
  const step = expectAt(ctx.step, 'Open', where, 'an inner step is in progress')
  if (E.isLeft(step)) return step
  const post = expectAt(ctx.post, 'Open', where, 'the post-update episodes are already there')
  return E.map(() => ctx)(post)
}

/**
 * `innerLoop() -> rolloutPost() -> fitOuterBaselines()` as one stream (see the module's notes): the
 * same context, bit for bit, with sampling and the main thread's work overlapping.
 */
export const streamedAdaptation = (): OperatorFunction<IterationContext, IterationContext> => (ctx$) =>
  ctx$.pipe(
    concatMap((ctx) => {
      const r = ready(ctx)
      return E.isLeft(r) ? throwError(() => new StageError('streamedAdaptation', r.left)) : streamIteration(r.right)
    })
  )

/** Algorithm 2's iteration stage by stage, each waiting for the previous one to finish. */
export const sequentialIteration = (): OperatorFunction<IterationContext, IterationContext> => (ctx$) =>
  ctx$.pipe(sampleTasks(), innerLoop(), rolloutPost(), fitOuterBaselines(), metaUpdate(), evaluate())

/** Algorithm 2's iteration as the CLI runs it: the adaptation streamed, then the meta-update and evaluation. */
export const standardIteration = (): OperatorFunction<IterationContext, IterationContext> => (ctx$) =>
  ctx$.pipe(sampleTasks(), streamedAdaptation(), metaUpdate(), evaluate())
