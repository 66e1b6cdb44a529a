// The task-batched meta-problem (one graph for all tasks) gives the numbers of the per-task
// computation (test/support/perTaskMeta.ts: one small graph per task), for every built-in estimator:
// adapted parameters, the VPG meta-gradient, TRPO's surrogate gradient and meta-KL Hessian-vector
// product, PPO's clipped objective — at the sampling parameters and away from them (where the
// inner boxes are importance weights). Two inner steps, ragged-free point2d episodes.
import * as tf from '@tensorflow/tfjs-core'
import { describe, expect, it } from 'vitest'
import { rngAt } from '../../src/base/rng.js'
import { type Params, disposeParams, gradients, hessianVectorProduct } from '../../src/graph/autodiff.js'
import { builtinEstimators } from '../../src/estimators/builtins.js'
import {
  adaptAll,
  clippedObjective,
  disposeMetaProblem,
  disposeOldAdapted,
  firstTasks,
  lrObjective,
  makeMetaProblem,
  metaKl,
  metaKlHessianProduct,
  oldAdapted,
  vpgObjective
} from '../../src/pipelines/meta.js'
import { taskParams } from '../../src/pipelines/batchedPolicy.js'
import type { ArrayParams } from '../../src/graph/nn.js'
import { axpy, flatten, unflatten } from '../../src/pipelines/optim/params.js'
import { toArrays, toTensors } from '../../src/pipelines/policy.js'
import * as ref from '../support/perTaskMeta.js'
import { iterationData } from '../support/metaProblems.js'
import { point2dDeps, useSampler } from '../support/pipelines.js'
import { randomPolicy } from './samplerSupport.js'

const sampler = useSampler()

const flat = (p: Params): Float32Array => flatten(toArrays(p))

const relErr = (a: Float32Array, b: Float32Array): number => {
  let d = 0
  let n = 0
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2
    n += b[i] ** 2
  }
  return Math.sqrt(d / Math.max(n, 1e-30))
}

const at = <A>(p: ArrayParams, f: (t: Params) => A): A => {
  const t = toTensors(p)
  try {
    return f(t)
  } finally {
    disposeParams(t)
  }
}

const grad = (p: ArrayParams, f: (t: Params) => tf.Scalar): Float32Array =>
  at(p, (t) => {
    const g = gradients(f)(t)
    const out = flat(g)
    disposeParams(g)
    return out
  })

describe('pipelines/meta (task-batched)', () => {
  for (const est of builtinEstimators) {
    it(`${est.name}: equals the per-task computation at and away from the sampling parameters`, async () => {
      const deps = point2dDeps(sampler(), { tasksPerBatch: 3, rolloutsPerTask: 4, innerSteps: 2 }, 6, [5])
      // A fixed Glorot-initialised policy (log-std -0.5), not the run's initial one: the comparison
      // must not depend on the defaults, and 0.05 away from it the importance weights stay finite.
      const data = await iterationData(deps, est, randomPolicy(deps.policy, 5))
      const args = {
        policy: deps.policy,
        estimator: est,
        alpha: deps.cfg.innerLr,
        gamma: deps.cfg.gamma,
        normalizeAdvantages: true,
        pre: data.pre,
        post: data.post
      }
      const before = tf.memory().numTensors
      const m = makeMetaProblem(args)
      const r = ref.makePerTask(args)
      const theta = data.theta
      const rng = rngAt(7, 'direction')
      const v = unflatten(
        theta,
        flatten(theta).map(() => rng.normal())
      )
      const away = axpy(theta, 0.05, v)

      // Adapted parameters, task by task.
      for (const p of [theta, away]) {
        const batched = at(p, (t) => {
          const a = adaptAll(m)(t)
          const each = [0, 1, 2].map((k) => {
            const pk = taskParams(a, k)
            const f = flat(pk)
            disposeParams(pk)
            return f
          })
          disposeParams(a)
          return each
        })
        const perTask = at(p, (t) =>
          [0, 1, 2].map((k) => {
            const a = tf.tidy(() => ref.adaptTask(r, k)(t))
            const f = flat(a)
            disposeParams(a)
            return f
          })
        )
        batched.forEach((b, k) => expect(relErr(b, perTask[k])).toBeLessThan(1e-5))
      }

      // VPG meta-gradient.
      expect(relErr(grad(theta, vpgObjective(m)), grad(theta, ref.vpgObjective(r)))).toBeLessThan(1e-4)

      // TRPO: surrogate gradient and the meta-KL Hessian-vector product; PPO away from theta_old.
      at(theta, (thetaOld) => {
        const oldB = oldAdapted(m, thetaOld)
        const oldR = ref.oldAdapted(r, thetaOld)
        expect(relErr(grad(theta, lrObjective(m, oldB)), grad(theta, ref.lrObjective(r, oldR)))).toBeLessThan(1e-4)
        const hv = at(v, (dir) => {
          const b = hessianVectorProduct(metaKl(m, oldB))(thetaOld, dir)
          const c = hessianVectorProduct(ref.metaKl(r, oldR))(thetaOld, dir)
          const out = [flat(b), flat(c)] as const
          disposeParams(b)
          disposeParams(c)
          return out
        })
        expect(relErr(hv[0], hv[1])).toBeLessThan(1e-4)
        expect(
          relErr(
            grad(away, clippedObjective(m, oldB, 0.3, 5e-4)),
            grad(away, ref.clippedObjective(r, oldR, thetaOld, 0.3, 5e-4))
          )
        ).toBeLessThan(1e-4)
        disposeOldAdapted(oldB)
        oldR.forEach(disposeParams)
      })
      disposeMetaProblem(m)
      ref.disposePerTask(r)
      expect(tf.memory().numTensors).toBe(before)
    })
  }

  it('firstTasks(m, n) is the problem of the first n tasks (TRPO Fisher subsampling)', async () => {
    const est = builtinEstimators.find((e) => e.name === 'tmaml')!
    const deps = point2dDeps(sampler(), { tasksPerBatch: 3, rolloutsPerTask: 4 }, 6, [5])
    const data = await iterationData(deps, est)
    const args = {
      policy: deps.policy,
      estimator: est,
      alpha: deps.cfg.innerLr,
      gamma: deps.cfg.gamma,
      normalizeAdvantages: true
    }
    const m = makeMetaProblem({ ...args, pre: data.pre, post: data.post })
    const sub = firstTasks(m, 2)
    const two = makeMetaProblem({ ...args, pre: data.pre.slice(0, 2), post: data.post.slice(0, 2) })
    expect(relErr(grad(data.theta, vpgObjective(sub)), grad(data.theta, vpgObjective(two)))).toBeLessThan(1e-6)
    expect(relErr(grad(data.theta, vpgObjective(sub)), grad(data.theta, vpgObjective(m)))).toBeGreaterThan(1e-3)
    at(data.theta, (t) => {
      const a = oldAdapted(sub, t)
      const b = oldAdapted(two, t)
      const v = at(data.theta, (d) => {
        const x = hessianVectorProduct(metaKl(sub, a))(t, d)
        const y = hessianVectorProduct(metaKl(two, b))(t, d)
        const r = relErr(flat(x), flat(y))
        disposeParams(x)
        disposeParams(y)
        return r
      })
      expect(v).toBeLessThan(1e-6)
      disposeOldAdapted(a)
      disposeOldAdapted(b)
    })
    ;[sub, two, m].forEach(disposeMetaProblem)
  })

  // TRPO's product J^T F J (meta.ts) against the double backward of the meta-KL: equal at theta_old,
  // where the KL's gradient in the adapted parameters is 0; away from it the dropped term
  // grad KL . d^2 theta' is not 0 and the two must differ (the comparison can fail).
  for (const innerSteps of [1, 2])
    for (const est of builtinEstimators) {
      it(`${est.name}, ${innerSteps} inner step(s): TRPO's J^T F J product is the meta-KL's Hessian at theta_old`, async () => {
        const deps = point2dDeps(sampler(), { tasksPerBatch: 3, rolloutsPerTask: 4, innerSteps }, 6, [5])
        const data = await iterationData(deps, est, randomPolicy(deps.policy, 5))
        const before = tf.memory().numTensors
        const m = makeMetaProblem({
          policy: deps.policy,
          estimator: est,
          alpha: deps.cfg.innerLr,
          gamma: deps.cfg.gamma,
          normalizeAdvantages: true,
          pre: data.pre,
          post: data.post
        })
        const rng = rngAt(11, 'direction')
        const v = unflatten(
          data.theta,
          flatten(data.theta).map(() => rng.normal())
        )
        const away = axpy(data.theta, 0.3, v)
        const both = (p: ArrayParams) =>
          at(p, (t) => {
            const old = oldAdapted(m, t)
            const out = at(v, (d) => {
              const x = metaKlHessianProduct(m, old, t)(d)
              const y = hessianVectorProduct(metaKl(m, old))(t, d)
              const r = [flat(x), flat(y)] as const
              disposeParams(x)
              disposeParams(y)
              return r
            })
            disposeOldAdapted(old)
            return out
          })
        const [x, y] = both(data.theta)
        expect(relErr(x, y)).toBeLessThan(1e-4)
        // Away from theta_old, with the old policy moved there too: the KL is again 0 at its minimum,
        // so the products must agree again; a stale theta_old (old policy at theta, product at away)
        // must not.
        const [xa, ya] = both(away)
        expect(relErr(xa, ya)).toBeLessThan(1e-4)
        const stale = at(data.theta, (t) => {
          const old = oldAdapted(m, t)
          const out = at(away, (ta) =>
            at(v, (d) => {
              const a = metaKlHessianProduct(m, old, ta)(d)
              const b = hessianVectorProduct(metaKl(m, old))(ta, d)
              const r = relErr(flat(a), flat(b))
              disposeParams(a)
              disposeParams(b)
              return r
            })
          )
          disposeOldAdapted(old)
          return out
        })
        expect(stale).toBeGreaterThan(1e-2)
        disposeMetaProblem(m)
        expect(tf.memory().numTensors).toBe(before)
      })
    }
})
