// Memory across meta-iterations: every tensor an iteration creates (inner adaptation, control
// variates, meta-gradient, TRPO's Hessian-vector products and line search, PPO's inner steps) is
// disposed, so the live tensor count after each iteration is the same as after the first; and
// nothing keeps an iteration's context or episode arrays once later iterations ran, so the JS heap
// and ArrayBuffers after a full GC stay flat over many iterations.
import * as v8 from 'node:v8'
import * as vm from 'node:vm'
import * as tf from '@tensorflow/tfjs-core'
import { lastValueFrom, map, tap, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { initialState, metaTrain } from '../../src/index.js'
import { point2dDeps, useSampler } from '../support/pipelines.js'

const sampler = useSampler()

describe('pipelines: no tensor leak across iterations', () => {
  for (const [outer, cv] of [
    ['vpg', 'meta'],
    ['trpo', 'value'],
    ['ppo', 'action-dependent']
  ] as const) {
    it(`${outer} with the ${cv} control variate: numTensors flat over 5 iterations`, async () => {
      const d = point2dDeps(
        sampler(),
        { tasksPerBatch: 2, rolloutsPerTask: 4, iterations: 5, outer, controlVariate: cv },
        10,
        [8]
      )
      const counts = await lastValueFrom(
        metaTrain(d)(initialState(d)).pipe(
          map(() => tf.memory().numTensors),
          toArray()
        )
      )
      expect(counts).toHaveLength(5)
      // The first iteration may allocate lasting state (e.g. kernels' cached constants); none after.
      expect(counts.slice(1)).toEqual(counts.slice(1).map(() => counts[1]))
    })
  }
})

describe('pipelines: nothing retained across iterations (after a full GC)', () => {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  const collect = async (): Promise<void> => {
    // WeakRefs made in a job stay alive until it ends: let it end, then collect (twice: finalisers).
    await new Promise((resolve) => setImmediate(resolve))
    gc()
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }

  it("an iteration's context and its episode arrays are collected once later iterations ran", async () => {
    const d = point2dDeps(
      sampler(),
      { tasksPerBatch: 4, rolloutsPerTask: 4, iterations: 12, controlVariate: 'meta', evalEvery: 3, evalTasks: 2 },
      25,
      [8]
    )
    const refs: Array<{ readonly iteration: number; readonly ref: WeakRef<object> }> = []
    await lastValueFrom(
      metaTrain(d)(initialState(d)).pipe(
        tap((ctx) => {
          if (ctx.post._tag !== 'Fitted') throw new Error(`post-update episodes ${ctx.post._tag}, expected Fitted`)
          const post = ctx.post.tasks[0]
          for (const target of [ctx, ctx.post, post.batch.rewards, ctx.inner[0][0].batch.obs, post.baseline.values])
            refs.push({ iteration: ctx.state.iteration, ref: new WeakRef(target) })
        })
      )
    )
    await collect()
    // The last iterations may still be referenced (the stream's last value, the sampler's last result).
    const kept = refs.filter((r) => r.iteration < 9 && r.ref.deref() !== undefined).map((r) => r.iteration)
    expect(kept).toEqual([])
    expect(refs.length).toBe(60)
  })

  it('heap and ArrayBuffers after a full GC are flat over 100 iterations', async () => {
    const d = point2dDeps(
      sampler(),
      { tasksPerBatch: 4, rolloutsPerTask: 4, iterations: 100, controlVariate: 'linear', evalEvery: 10, evalTasks: 2 },
      25,
      [8]
    )
    // Readings after a full GC at the end of iterations 20-29 and 90-99. One reading can catch a
    // transient buffer (a sampler message in flight: 64 kB one iteration, 440 kB the next, back the
    // iteration after), so each window keeps its smallest; retained data raises every reading after it.
    const low = {
      early: { arrayBuffers: Infinity, heapUsed: Infinity },
      late: { arrayBuffers: Infinity, heapUsed: Infinity }
    }
    await lastValueFrom(
      metaTrain(d)(initialState(d)).pipe(
        tap((ctx) => {
          const it = ctx.state.iteration
          const w = it >= 20 && it < 30 ? low.early : it >= 90 ? low.late : null
          if (w === null) return
          gc()
          const m = process.memoryUsage()
          w.arrayBuffers = Math.min(w.arrayBuffers, m.arrayBuffers)
          w.heapUsed = Math.min(w.heapUsed, m.heapUsed)
        })
      )
    )
    // An iteration's episodes are ~11 kB of ArrayBuffers per phase: keeping one per iteration would
    // add > 700 kB over these 70 iterations. The heap may still grow a little as V8 compiles hot code.
    expect(low.late.arrayBuffers - low.early.arrayBuffers).toBeLessThan(100_000)
    expect(low.late.heapUsed - low.early.heapUsed).toBeLessThan(1_000_000)
  })
})
