/**
 * `npm run bench:cv`: the learned control variates' fits, grouped (src/pipelines/controlVariates/
 * groupedValueNet.ts: every (task, half) network of an iteration in one batched graph, or one graph
 * per group on backends where that is faster) against one network at a time
 * (test/support/perTaskValueNets.ts, the direct reference), on the same synthetic batches in the same
 * run, on every backend that initialises.
 *
 *   meta   Algorithm 1 (`--cv meta`): 3 rounds of adapt-and-score over all tasks, then the baselines
 *   value  per-task value networks (`--cv value`): 20 Adam steps per network, then the baselines
 *
 * Hidden sizes and steps are the published defaults (src/pipelines/config.ts); observations are
 * HalfCheetah-sized (17). Prints the median seconds of each and the ratio grouped / per-network
 * (below 1: grouped is faster). `--json` prints one object whose `rows` are
 * `{ cv, backend, tasks, episodes, horizon, groupedSeconds, perNetworkSeconds, ratio }`.
 *
 * Flags: --backends a,b (default native,wasm,cpu) --tasks N (40) --episodes N (20)
 *        --horizons 100,20 (each is a row) --reps N (3, after one warm-up) --json.
 */
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { formatError } from '../../src/base/errors.js'
import { rngAt } from '../../src/base/rng.js'
import { BackendChoice, initBackend } from '../../src/graph/backend.js'
import { publishedDefaults } from '../../src/pipelines/config.js'
import { initMetaCv, metaValueStep } from '../../src/pipelines/controlVariates/metaValue.js'
import { fitValueBaselines } from '../../src/pipelines/controlVariates/valueNet.js'
import type { EpisodeBatch } from '../../src/pipelines/episodes.js'
import { perTaskMetaValueStep, perTaskValueBaselines } from '../../test/support/perTaskValueNets.js'
import { positiveIntFlag, usageExit } from '../flags.js'

const { values: flags } = parseArgs({
  options: {
    backends: { type: 'string', default: 'native,wasm,cpu' },
    tasks: { type: 'string', default: '40' },
    episodes: { type: 'string', default: '20' },
    horizons: { type: 'string', default: '100,20' },
    reps: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false }
  }
})

const positive = (name: string, v: string): number => positiveIntFlag('bench:cv', name, v)
const K = positive('tasks', flags.tasks)
const nE = positive('episodes', flags.episodes)
const reps = positive('reps', flags.reps)
const horizons = flags.horizons.split(',').map((h) => positive('horizons', h))
const D = 17
const backends = flags.backends.split(',')
for (const b of backends)
  if (!BackendChoice.is(b))
    usageExit('bench:cv', `--backends: unknown backend '${b}' (one of native, wasm, cpu, tensorflow)`)

const batchOf = (k: number, T: number): EpisodeBatch => {
  const r = rngAt(k, 'bench-cv')
  const fill = (n: number) => Float32Array.from({ length: n }, () => r.normal())
  return {
    task: k,
    episodes: nE,
    horizon: T,
    obsDim: D,
    actDim: 6,
    obs: fill(nE * T * D),
    actions: fill(nE * T * 6),
    rewards: fill(nE * T),
    mask: new Float32Array(nE * T).fill(1),
    terminated: new Uint8Array(nE),
    lastObs: fill(nE * D),
    diverged: 0
  }
}

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const seconds = (f: () => void): number => {
  f() // warm-up: kernels, allocations
  return median(
    Array.from({ length: reps }, () => {
      const t0 = performance.now()
      f()
      return (performance.now() - t0) / 1000
    })
  )
}

interface Row {
  readonly cv: 'meta' | 'value'
  readonly backend: string
  readonly tasks: number
  readonly episodes: number
  readonly horizon: number
  readonly groupedSeconds: number
  readonly perNetworkSeconds: number
  readonly ratio: number
}

const rows: Row[] = []
const skipped: string[] = []
const { metaCv, valueCv, gamma } = publishedDefaults
for (const backend of backends as BackendChoice[]) {
  const ok = await initBackend(backend)
  if (E.isLeft(ok)) {
    skipped.push(`${backend}: ${formatError(ok.left)}`)
    continue
  }
  for (const T of horizons) {
    const tasks = Array.from({ length: K }, (_, k) => batchOf(k, T))
    const s0 = initMetaCv(D, metaCv.hidden, rngAt(0, 'bench-cv-meta'))
    const mo = { ...metaCv, gamma }
    const vo = { hidden: valueCv.hidden, lr: valueCv.lr, epochs: valueCv.epochs, gamma }
    const rng = (k: number, h: number) => rngAt(1, 'bench-cv-value', k, h)
    const pairs = [
      ['meta', () => metaValueStep(tasks, s0, mo), () => perTaskMetaValueStep(tasks, s0, mo)],
      ['value', () => fitValueBaselines(tasks, vo, rng), () => perTaskValueBaselines(tasks, vo, rng)]
    ] as const
    for (const [cv, grouped, perNetwork] of pairs) {
      const g = seconds(grouped)
      const p = seconds(perNetwork)
      const row = {
        cv,
        backend,
        tasks: K,
        episodes: nE,
        horizon: T,
        groupedSeconds: g,
        perNetworkSeconds: p,
        ratio: g / p
      }
      rows.push(row)
      if (!flags.json)
        console.log(
          `${backend.padEnd(7)} ${cv.padEnd(6)} ${K} x ${nE} x ${String(T).padEnd(4)} grouped ${g.toFixed(3)} s` +
            `  per network ${p.toFixed(3)} s  ratio ${row.ratio.toFixed(2)}`
        )
    }
  }
}
const load = loadavg().map((x) => Number(x.toFixed(2)))
if (flags.json) console.log(JSON.stringify({ reps, loadAverage: load, skipped, rows }))
else {
  for (const s of skipped) console.log(`skipped ${s}`)
  console.log(`median of ${reps} after a warm-up; load average ${load.join(' ')}`)
}
