// The training pipeline's own meta-gradient (src/pipelines/meta.ts: each task's inner step as training
// takes it, then the gradient of vpgObjective through it) equals, draw by draw, the textbook MAML
// formula for each estimator, computed here by hand in float64:
//
//   meta = mean_k (I + alpha H_k)^T g'_k,   g_k = mean_e w_g(e) grad l_e,
//   H_k = mean_e [w_1(e) hess l_e + w_2(e) grad l_e grad l_e^T],   g'_k = mean_j w_out(j) grad l'_j at theta'_k,
//
// on a one-step Gaussian bandit where grad l and hess l are closed forms: obs s = 1, action
// a = mu + sigma eps with mu = W s + b and sigma = exp(logStd); reward -(a - goal)^2. In parameters
// (W, b, logStd): grad l = (eps/sigma, eps/sigma, eps^2 - 1) and hess l has -1/sigma^2 on the (W, b)
// block, -2 eps/sigma between it and logStd, -2 eps^2 on logStd. The weights of each estimator at
// horizon 1 with a control variate c follow from its surrogate (docs/ESTIMATORS.md):
//   dice          w_g = r,     w_1 = r,     w_2 = r,        w_out = r
//   tmaml, lvc    w_g = r - c, w_1 = r - c, w_2 = r - c,    w_out = r - c   (the CV cancels DiCE's noise)
//   maml          w_g = r - c, w_1 = r - c, w_2 = 0,        w_out = r - c   (no score outer product)
//   tmaml-eq7     w_g = r,     w_1 = r,     w_2 = r + 2c,   w_out = r       ((1 - box)^2 c adds 2 c grad l grad l^T)
// A wrong step size, a missing or extra term, the wrong parameters adapted, or a baseline applied where
// the estimator has none changes the result; the tolerance covers float32 arithmetic only.
//
// Why not a statistical test against grad E[J(theta'(pre))]? With a sampled inner step every estimator
// is off from it by O(alpha^2 Var g) (docs/ESTIMATORS.md, "Meta-gradient"), and on this bandit, whose
// log-std step is heavy-tailed, that gap is far larger than any sensible Monte-Carlo error. The
// unbiasedness of the estimators themselves is tested with the step pinned, on exact tabular MDPs
// (test/estimators/unbiasedness.test.ts).
import * as E from 'fp-ts/lib/Either.js'
import { beforeAll, describe, expect, it } from 'vitest'
import type { ArrayParams } from '../../src/graph/nn.js'
import { type Rng, rngAt } from '../../src/base/rng.js'
import { estimatorByName } from '../../src/estimators/builtins.js'
import { metaGradientVector } from '../../src/experiments/metaGradients.js'
import { perState } from '../../src/pipelines/controlVariates/controlVariate.js'
import { initBackendOrThrow } from '../../src/graph/backend.js'
import type { EpisodeBatch } from '../../src/pipelines/episodes.js'
import type { PolicySpec } from '../../src/pipelines/policy.js'

const policy: PolicySpec = { obsDim: 1, actDim: 1, hidden: [], activation: 'tanh' }
const goals = [1, -0.5, 0.25, 1.5] as const
const alpha = 0.1
const episodes = 6
const c = -0.8 // the control variate of every step (pre and post), a fixed value

/** (W, b, logStd) as the pipeline's parameter record. */
const params = (w: number, b: number, ls: number): ArrayParams => ({
  W0: { shape: [1, 1], values: Float32Array.of(w) },
  b0: { shape: [1], values: Float32Array.of(b) },
  logStd: { shape: [1], values: Float32Array.of(ls) }
})

type Vec3 = [number, number, number]
type Weights = (r: number) => { g: number; h1: number; h2: number; out: number }

const weights: Readonly<Record<string, Weights>> = {
  dice: (r) => ({ g: r, h1: r, h2: r, out: r }),
  tmaml: (r) => ({ g: r - c, h1: r - c, h2: r - c, out: r - c }),
  lvc: (r) => ({ g: r - c, h1: r - c, h2: r - c, out: r - c }),
  maml: (r) => ({ g: r - c, h1: r - c, h2: 0, out: r - c }),
  'tmaml-eq7': (r) => ({ g: r, h1: r, h2: r + 2 * c, out: r })
}

const gradL = (eps: number, sigma: number): Vec3 => [eps / sigma, eps / sigma, eps * eps - 1]
const hessL = (eps: number, sigma: number): Vec3[] => {
  const m = -1 / (sigma * sigma)
  const x = (-2 * eps) / sigma
  return [
    [m, m, x],
    [m, m, x],
    [x, x, -2 * eps * eps]
  ]
}

interface Task {
  readonly goal: number
  readonly pre: ReadonlyArray<number> // actions
  readonly post: ReadonlyArray<number>
}

/** The formula above, float64. Returns [meta, adapted theta per task]. */
const byHand = (theta: Vec3, tasks: ReadonlyArray<Task>, w: Weights): Vec3 => {
  const meta: Vec3 = [0, 0, 0]
  for (const t of tasks) {
    const mu = theta[0] + theta[1]
    const sigma = Math.exp(theta[2])
    const g: Vec3 = [0, 0, 0]
    const H: Vec3[] = [
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0]
    ]
    for (const a of t.pre) {
      const eps = (a - mu) / sigma
      const ws = w(-((a - t.goal) ** 2))
      const gl = gradL(eps, sigma)
      const hl = hessL(eps, sigma)
      for (let i = 0; i < 3; i++) {
        g[i] += (ws.g * gl[i]) / t.pre.length
        for (let j = 0; j < 3; j++) H[i][j] += (ws.h1 * hl[i][j] + ws.h2 * gl[i] * gl[j]) / t.pre.length
      }
    }
    const adapted: Vec3 = [theta[0] + alpha * g[0], theta[1] + alpha * g[1], theta[2] + alpha * g[2]]
    const mu2 = adapted[0] + adapted[1]
    const sigma2 = Math.exp(adapted[2])
    const gOut: Vec3 = [0, 0, 0]
    for (const a of t.post) {
      const gl = gradL((a - mu2) / sigma2, sigma2)
      const ws = w(-((a - t.goal) ** 2))
      for (let i = 0; i < 3; i++) gOut[i] += (ws.out * gl[i]) / t.post.length
    }
    for (let j = 0; j < 3; j++) {
      let s = gOut[j]
      for (let i = 0; i < 3; i++) s += alpha * H[i][j] * gOut[i]
      meta[j] += s / tasks.length
    }
  }
  return meta
}

const batch = (actions: ReadonlyArray<number>, goal: number, task: number): EpisodeBatch => ({
  task,
  episodes: actions.length,
  horizon: 1,
  obsDim: 1,
  actDim: 1,
  obs: new Float32Array(actions.length).fill(1),
  actions: Float32Array.from(actions),
  rewards: Float32Array.from(actions, (a) => -((a - goal) ** 2)),
  mask: new Float32Array(actions.length).fill(1),
  terminated: new Uint8Array(actions.length),
  lastObs: new Float32Array(actions.length).fill(1),
  diverged: 0
})

const draw = (rng: Rng, mu: number, sigma: number): number[] =>
  Array.from({ length: episodes }, () => Math.fround(mu + sigma * rng.normal()))

describe("the pipeline's meta-gradient is each estimator's MAML formula, draw by draw (Gaussian bandit)", () => {
  beforeAll(async () => {
    await initBackendOrThrow('wasm')
  })

  for (const name of Object.keys(weights)) {
    it(name, () => {
      const estimator = estimatorByName(name)!
      const setting = { policy, estimator, innerLr: alpha, gamma: 0.99, normalizeAdvantages: false }
      for (let d = 0; d < 5; d++) {
        const rng = rngAt(5, 'bandit', name, d)
        const theta: Vec3 = [
          Math.fround(rng.normal() * 0.5),
          Math.fround(rng.normal() * 0.5),
          Math.fround(rng.uniform(-0.5, -0.2))
        ]
        const mu = theta[0] + theta[1]
        const sigma = Math.exp(theta[2])
        // Post-update actions from any distribution: the formula is an identity in the data.
        const tasks: Task[] = goals.map((goal) => ({ goal, pre: draw(rng, mu, sigma), post: draw(rng, mu, sigma) }))
        const baseline = perState(new Float32Array(episodes).fill(c))
        const sampledWith = params(...theta)
        const got = metaGradientVector(
          setting,
          sampledWith,
          tasks.map((t, k) => ({ batch: batch(t.pre, t.goal, k), baseline, sampledWith })),
          tasks.map((t, k) => ({ batch: batch(t.post, t.goal, k), baseline, sampledWith }))
        )
        if (E.isLeft(got)) throw new Error(JSON.stringify(got.left))
        const want = byHand(theta, tasks, weights[name]!)
        // float32 through ~30 ops on values of order 1-10: relative 1e-4 of the largest coordinate.
        const scale = Math.max(...want.map(Math.abs), 1)
        for (let i = 0; i < 3; i++) expect(Math.abs(got.right[i] - want[i])).toBeLessThan(1e-4 * scale)
      }
    })
  }

  it("the check tells the estimators apart: src's maml and tmaml meta-gradients differ on the same data", () => {
    const rng = rngAt(5, 'bandit', 'contrast')
    const theta: Vec3 = [0.3, 0.2, -0.5]
    const tasks: Task[] = goals.map((goal) => ({ goal, pre: draw(rng, 0.5, 0.6), post: draw(rng, 0.5, 0.6) }))
    const of = (name: string): ReadonlyArray<number> => {
      const sampledWith = params(...theta)
      const baseline = perState(new Float32Array(episodes).fill(c))
      const g = metaGradientVector(
        { policy, estimator: estimatorByName(name)!, innerLr: alpha, gamma: 0.99, normalizeAdvantages: false },
        sampledWith,
        tasks.map((t, k) => ({ batch: batch(t.pre, t.goal, k), baseline, sampledWith })),
        tasks.map((t, k) => ({ batch: batch(t.post, t.goal, k), baseline, sampledWith }))
      )
      if (E.isLeft(g)) throw new Error(JSON.stringify(g.left))
      return Array.from(g.right)
    }
    const [a, b] = [of('maml'), of('tmaml')]
    // Each is its own formula, and the two differ by far more than the tolerance of that match.
    const scale = Math.max(...b.map(Math.abs), 1)
    for (const [got, name] of [
      [a, 'maml'],
      [b, 'tmaml']
    ] as const) {
      const want = byHand(theta, tasks, weights[name]!)
      for (let i = 0; i < 3; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-4 * scale)
    }
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).toBeGreaterThan(1e-2 * scale)
  })
})
