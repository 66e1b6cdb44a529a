/**
 * `npm run bench:autodiff`: median wall time of one MAML meta-gradient and one meta-KL
 * Hessian-vector product (workload.ts) on each available backend, in one process, with ratios
 * against the wasm run measured in the same invocation. Also prints how far each backend's result
 * is from wasm's (a sanity check that all of them compute the same thing).
 *
 * Flags: --reps N (timed repetitions per backend, default 5; the cpu backend uses min(N, 3)),
 *        --backends a,b (default: every backend that initialises), --json.
 */
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { type BackendChoice, initBackend } from '../../src/graph/backend.js'
import { disposeParams } from '../../src/graph/autodiff.js'
import { disposeWorkload, flatten, makeWorkloadData, metaGradient, metaKlHvp, toTensors } from './workload.js'

interface Row {
  readonly backend: string
  readonly metaGradMs: number
  readonly hvpMs: number
  readonly metaGradRelErrVsWasm: number | null
  readonly hvpRelErrVsWasm: number | null
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

const relErr = (a: Float32Array, b: Float32Array): number => {
  let num = 0
  let den = 0
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2
    den += b[i] ** 2
  }
  return Math.sqrt(num / Math.max(den, 1e-30))
}

const timeMs = (reps: number, f: () => void): number => {
  f() // warm-up: kernel compilation, allocations
  const times: number[] = []
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now()
    f()
    times.push(performance.now() - t0)
  }
  return median(times)
}

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '5' },
      backends: { type: 'string' },
      json: { type: 'boolean', default: false }
    }
  })
  const reps = Number(values.reps)
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${values.reps}`)
  const wanted = (values.backends?.split(',') ?? ['wasm', 'cpu', 'tensorflow']) as BackendChoice[]
  const data = makeWorkloadData(1)
  const rows: Row[] = []
  let reference: { grad: Float32Array; hvp: Float32Array } | null = null
  for (const b of wanted) {
    const info = await initBackend(b)
    if (E.isLeft(info)) {
      console.error(`skip ${b}: ${'message' in info.left ? info.left.message : info.left._tag}`)
      continue
    }
    process.stderr.write(`${b}: running...\n`)
    const w = toTensors(data)
    const n = b === 'cpu' ? Math.min(reps, 3) : reps
    const grad = metaGradient(w)
    const hvp = metaKlHvp(w)
    const gradFlat = flatten(grad)
    const hvpFlat = flatten(hvp)
    disposeParams(grad)
    disposeParams(hvp)
    const metaGradMs = timeMs(n, () => disposeParams(metaGradient(w)))
    const hvpMs = timeMs(n, () => disposeParams(metaKlHvp(w)))
    if (reference === null && b === 'wasm') reference = { grad: gradFlat, hvp: hvpFlat }
    rows.push({
      backend: info.right.active,
      metaGradMs,
      hvpMs,
      metaGradRelErrVsWasm: reference === null ? null : relErr(gradFlat, reference.grad),
      hvpRelErrVsWasm: reference === null ? null : relErr(hvpFlat, reference.hvp)
    })
    disposeWorkload(w)
    process.stderr.write(
      `${b}: meta-gradient ${metaGradMs.toFixed(0)} ms, meta-KL HVP ${hvpMs.toFixed(0)} ms (${tf.memory().numTensors} tensors live)\n`
    )
  }
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2))
    return
  }
  const wasm = rows.find((r) => r.backend === 'wasm')
  console.log(
    `MAML meta-gradient and meta-KL HVP: policy ${data.size.obsDim}-${data.size.hidden.join('-')}-${data.size.actDim} tanh, ${data.size.tasks} tasks x ${data.size.samples} + ${data.size.samples} samples; median of ${reps} (cpu: ${Math.min(reps, 3)})`
  )
  console.log('| backend | meta-gradient ms | x wasm | meta-KL HVP ms | x wasm | rel. diff vs wasm (grad / hvp) |')
  console.log('|---|---|---|---|---|---|')
  for (const r of rows) {
    const ratio = (x: number, y: number | undefined) => (y === undefined ? '-' : (x / y).toFixed(2))
    const diff =
      r.metaGradRelErrVsWasm === null
        ? '-'
        : `${r.metaGradRelErrVsWasm.toExponential(1)} / ${r.hvpRelErrVsWasm?.toExponential(1)}`
    console.log(
      `| ${r.backend} | ${r.metaGradMs.toFixed(0)} | ${ratio(r.metaGradMs, wasm?.metaGradMs)} | ${r.hvpMs.toFixed(0)} | ${ratio(r.hvpMs, wasm?.hvpMs)} | ${diff} |`
    )
  }
  const cpu = rows.find((r) => r.backend === 'cpu')
  if (wasm !== undefined && cpu !== undefined)
    console.log(
      `wasm/cpu time ratio: meta-gradient ${(wasm.metaGradMs / cpu.metaGradMs).toFixed(3)}, meta-KL HVP ${(wasm.hvpMs / cpu.hvpMs).toFixed(3)}`
    )
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
