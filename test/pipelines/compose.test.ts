// User code composes its own pipeline from the public stages and brings its own control variate —
// one value, and for choosing it by name one registry entry — without touching src/.
import * as E from 'fp-ts/lib/Either.js'
import { lastValueFrom, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import {
  type ControlVariateKind,
  type IterationContext,
  type TrainDeps,
  adaptPolicies,
  controlVariates,
  experimentConfigCodec,
  fitOuterBaselines,
  initialState,
  innerLoop,
  metaTrain,
  metaUpdate,
  perState,
  resolveConfig,
  returnsToGo,
  rngAt,
  rolloutPost,
  rolloutPre,
  sampleTasks,
  stage,
  statelessControlVariate,
  toRecord,
  trainDeps
} from '../../src/index.js'
import { point2dDeps, useSampler } from '../support/pipelines.js'

/** b_t for episode e = mean over the OTHER episodes of the task of their return-to-go at t. */
const leaveOneOut: ControlVariateKind = statelessControlVariate({
  name: 'leave-one-out',
  description: 'per time step, the mean return-to-go of the other episodes of the task',
  shape: 'per-state',
  baselines: ({ tasks, settings }) =>
    E.right(
      tasks.map(({ batch: b }) => {
        const R = returnsToGo(b, settings.gamma)
        const out = new Float32Array(R.length)
        for (let t = 0; t < b.horizon; t++) {
          let sum = 0
          for (let e = 0; e < b.episodes; e++) sum += R[e * b.horizon + t]
          for (let e = 0; e < b.episodes; e++) out[e * b.horizon + t] = (sum - R[e * b.horizon + t]) / (b.episodes - 1)
        }
        return perState(out)
      })
    )
})

/** A constant baseline b = c. */
const constant = (c: number): ControlVariateKind =>
  statelessControlVariate({
    name: 'constant',
    description: `b = ${c}`,
    shape: 'per-state',
    baselines: ({ tasks }) =>
      E.right(tasks.map(({ batch }) => perState(new Float32Array(batch.episodes * batch.horizon).fill(c))))
  })

const sampler = useSampler()

const config = { tasksPerBatch: 3, rolloutsPerTask: 4, iterations: 3, controlVariate: 'none' }
const depsFor = (): TrainDeps => point2dDeps(sampler(), config, 20, [16])

const run = (deps: TrainDeps): Promise<IterationContext[]> =>
  lastValueFrom(metaTrain(deps)(initialState(deps)).pipe(toArray()))

describe('composing a pipeline from public stages', () => {
  it('trains with a user-defined control variate: a value in the config, no edit of src/', async () => {
    const none = depsFor()
    const deps: TrainDeps = { ...none, cfg: { ...none.cfg, controlVariate: leaveOneOut } }
    const contexts = await run(deps)
    expect(contexts.map((c) => c.state.iteration)).toEqual([0, 1, 2])
    // The baselines the estimator saw are the user's, computed from the episodes of the record.
    const step = contexts[0].inner[0][0]
    const expected = E.getOrElseW(() => undefined)(
      leaveOneOut.evaluate({
        tasks: [step],
        policy: deps.policy,
        settings: deps.cfg,
        rng: (k, part) => rngAt(0, k, part),
        state: null
      })
    )
    expect(step.baseline).toEqual(expected?.[0])
    expect(step.baseline.values.some((b) => b !== 0)).toBe(true)
    const records = contexts.map(toRecord)
    expect(records[0].controlVariate).toBe('leave-one-out')
    expect(records.every((r) => Number.isFinite(r.returnPost) && Number.isFinite(r.stats['gradNorm']))).toBe(true)
    // Same tasks and pre-update samples as with 'none', different control variate: a different update.
    const standard = await run(none)
    expect(standard[0].inner[0][0].batch.rewards).toEqual(step.batch.rewards)
    expect(standard[0].stats['gradNorm']).not.toBe(contexts[0].stats['gradNorm'])
  })

  it('a control variate added to a registry is chosen by name, and trains (one value + one registry entry)', async () => {
    const registry = [...controlVariates, constant(-7)]
    const cfg = resolveConfig(
      { env: 'point2d', horizon: 20, hidden: [16], ...config, controlVariate: 'constant' },
      undefined,
      'test',
      experimentConfigCodec(registry)
    )
    expect(E.isRight(cfg) && cfg.right.controlVariate.name).toBe('constant')
    if (E.isLeft(cfg)) return
    const deps = trainDeps(cfg.right, sampler())
    if (E.isLeft(deps)) throw new Error('deps')
    const contexts = await run(deps.right)
    expect(contexts.map((c) => c.inner[0][0].baseline.values.every((b) => b === -7))).toEqual([true, true, true])
    expect(contexts.every((c) => Number.isFinite(c.stats['gradNorm']))).toBe(true)
    // Without the registry entry the name is rejected, naming what exists.
    const unknown = resolveConfig({ controlVariate: 'constant' })
    expect(E.isLeft(unknown) && JSON.stringify(unknown.left)).toMatch(/one of 'meta', 'value'/)
  })

  it('runs with a user-defined stage in place of the built-in control-variate stage', async () => {
    const deps = depsFor()
    const ones = stage('controlVariates', (ctx: IterationContext) =>
      ctx.step._tag !== 'Sampled'
        ? E.left({ _tag: 'InvalidInput', where: 'ones', message: 'no episodes' })
        : E.right({
            ...ctx,
            step: {
              _tag: 'Fitted',
              tasks: ctx.step.tasks.map((s) => ({
                ...s,
                baseline: perState(new Float32Array(s.batch.episodes * s.batch.horizon).fill(1))
              }))
            }
          })
    )
    const contexts = await lastValueFrom(
      metaTrain(deps, (c$) =>
        c$.pipe(
          sampleTasks(),
          innerLoop((s$) => s$.pipe(rolloutPre(), ones, adaptPolicies())),
          rolloutPost(),
          fitOuterBaselines(),
          metaUpdate()
        )
      )(initialState(deps)).pipe(toArray())
    )
    expect(contexts.map((c) => c.inner[0][0].baseline.values[0])).toEqual([1, 1, 1])
  })
})
