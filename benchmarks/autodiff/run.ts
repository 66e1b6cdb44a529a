/**
 * `npm run bench:autodiff`: wall time of one MAML meta-gradient, one meta-KL Hessian-vector product
 * and 10 conjugate-gradient iterations on that HVP (workload.ts), on each available tfjs backend and
 * in PyTorch (benchmarks/reference/maml_torch.py, same data, float32, one thread) when python3 with
 * torch is installed, all in this one invocation. Every computation runs in two formulations
 * (per-task loop and batched over tasks). Prints the median ms of each, the ratio to torch in the
 * same formulation, and the relative difference of each result from torch's (||a - b|| / ||b||),
 * or from the first tfjs backend when torch is absent.
 *
 * Flags: --reps N (timed repetitions of meta-gradient and HVP, default 5; cpu: 1),
 *        --cg-reps N (timed CG runs, default 1, the first one also giving the result; cpu: none
 *        unless --cg-cpu),
 *        --backends a,b (default native,wasm,cpu,tensorflow: those that initialise),
 *        --formulations per-task,batched, --no-torch, --json.
 */
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { type BackendChoice, initBackend } from '../../src/graph/backend.js'
import { type Params, disposeParams } from '../../src/graph/autodiff.js'
import { type TorchReport, runTorchReference } from './torchReference.js'
import {
  type Formulation,
  cgIterations,
  disposeWorkload,
  flatten,
  formulations as allFormulations,
  makeWorkloadData,
  metaGradient,
  metaKlCg,
  metaKlHvp,
  toTensors
} from './workload.js'

interface Timing {
  readonly median: number
  readonly min: number
}

interface Row {
  readonly backend: string
  readonly formulation: Formulation
  readonly metaGrad: Timing
  readonly hvp: Timing
  readonly cg: Timing | null
  readonly results: { readonly metaGrad: Float32Array; readonly hvp: Float32Array; readonly cg: Float32Array | null }
  readonly notes: ReadonlyArray<string>
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0
  let den = 0
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2
    den += b[i] ** 2
  }
  return Math.sqrt(num / Math.max(den, 1e-30))
}

/**
 * Run `f` once for its result, then time `reps` runs. The first run is a warm-up (JIT, buffer pool)
 * unless `timeFirst` (CG: it follows the HVP runs, which already warmed everything up).
 */
const measure = (reps: number, f: () => Params, timeFirst = false): { result: Float32Array; timing: Timing } => {
  const t0 = performance.now()
  const first = f()
  const firstMs = performance.now() - t0
  const result = flatten(first)
  disposeParams(first)
  const times: number[] = timeFirst ? [firstMs] : []
  for (let r = timeFirst ? 1 : 0; r < reps; r++) {
    const t0 = performance.now()
    disposeParams(f())
    times.push(performance.now() - t0)
  }
  return { result, timing: { median: median(times), min: Math.min(...times) } }
}

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '5' },
      'cg-reps': { type: 'string', default: '1' },
      backends: { type: 'string' },
      formulations: { type: 'string' },
      'no-torch': { type: 'boolean', default: false },
      'cg-cpu': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false }
    }
  })
  const reps = Number(values.reps)
  const cgReps = Number(values['cg-reps'])
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${values.reps}`)
  if (!Number.isInteger(cgReps) || cgReps < 1) throw new Error(`--cg-reps must be a positive integer`)
  const wanted = (values.backends?.split(',') ?? ['native', 'wasm', 'cpu', 'tensorflow']) as BackendChoice[]
  const forms = (values.formulations?.split(',') ?? allFormulations) as Formulation[]
  for (const f of forms) if (!allFormulations.includes(f)) throw new Error(`unknown formulation '${f}'`)
  const data = makeWorkloadData(1)
  const loadBefore = loadavg()[0]

  let torch: TorchReport | null = null
  if (!values['no-torch']) {
    process.stderr.write('torch: running the reference...\n')
    const t = runTorchReference(data, { reps, cgReps, formulations: forms })
    if (typeof t === 'string') process.stderr.write(`skip torch: ${t}\n`)
    else torch = t
  }

  const rows: Row[] = []
  for (const b of wanted) {
    const info = await initBackend(b)
    if (E.isLeft(info)) {
      process.stderr.write(`skip ${b}: ${'message' in info.left ? info.left.message : info.left._tag}\n`)
      continue
    }
    const w = toTensors(data)
    const slow = b === 'cpu'
    for (const form of forms) {
      process.stderr.write(`${b} ${form}: running...\n`)
      const n = slow ? 1 : reps
      const g = measure(n, () => metaGradient(w, form))
      const h = measure(n, () => metaKlHvp(w, form))
      const c = slow && !values['cg-cpu'] ? null : measure(slow ? 1 : cgReps, () => metaKlCg(w, form), true)
      rows.push({
        backend: info.right.active,
        formulation: form,
        metaGrad: g.timing,
        hvp: h.timing,
        cg: c?.timing ?? null,
        results: { metaGrad: g.result, hvp: h.result, cg: c?.result ?? null },
        notes: info.right.notes
      })
      process.stderr.write(
        `${b} ${form}: meta-gradient ${g.timing.median.toFixed(0)} ms, HVP ${h.timing.median.toFixed(0)} ms, ` +
          `CG ${c === null ? '-' : c.timing.median.toFixed(0)} ms (${tf.memory().numTensors} tensors live)\n`
      )
    }
    disposeWorkload(w)
  }

  const torchOf = (f: Formulation) => torch?.results[f]
  const reference = (r: Row) => {
    const t = torchOf(r.formulation)
    if (t !== undefined) return { metaGrad: t.metaGrad, hvp: t.hvp, cg: t.cg, name: 'torch' }
    const first = rows.find((x) => x.formulation === r.formulation)
    return first === undefined || first === r
      ? null
      : { metaGrad: first.results.metaGrad, hvp: first.results.hvp, cg: first.results.cg ?? [], name: first.backend }
  }

  if (values.json) {
    console.log(
      JSON.stringify(
        {
          torch:
            torch === null
              ? null
              : {
                  version: torch.torch,
                  threads: torch.threads,
                  blas: torch.blas,
                  timings: Object.fromEntries(
                    Object.entries(torch.results).map(([f, r]) => [
                      f,
                      { metaGradMs: r.metaGradMs, hvpMs: r.hvpMs, cgMs: r.cgMs }
                    ])
                  )
                },
          rows: rows.map((r) => {
            const ref = reference(r)
            return {
              backend: r.backend,
              formulation: r.formulation,
              metaGrad: r.metaGrad,
              hvp: r.hvp,
              cg: r.cg,
              relDiff:
                ref === null
                  ? null
                  : {
                      against: ref.name,
                      metaGrad: relDiff(r.results.metaGrad, ref.metaGrad),
                      hvp: relDiff(r.results.hvp, ref.hvp),
                      cg: r.results.cg === null ? null : relDiff(r.results.cg, ref.cg)
                    }
            }
          })
        },
        null,
        2
      )
    )
    return
  }

  const ms = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(0))
  const ratio = (x: number | undefined, y: number | undefined) =>
    x === undefined || y === undefined ? '-' : (x / y).toFixed(2)
  console.log(
    `MAML meta-gradient, meta-KL HVP and ${cgIterations} CG iterations: policy ${data.size.obsDim}-${data.size.hidden.join('-')}-${data.size.actDim} tanh, ` +
      `${data.size.tasks} tasks x ${data.size.samples} + ${data.size.samples} samples, float32; median ms of ${reps} ` +
      `(CG: ${cgReps}; cpu: 1, no CG)`
  )
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; 1-min load average ${loadBefore.toFixed(1)} at start, ` +
      `${loadavg()[0].toFixed(1)} at end (other processes share the cores: compare rows of one run)`
  )
  if (torch !== null)
    console.log(
      `torch ${torch.torch}, ${torch.threads} thread, BLAS ${torch.blas} (${torch.python}); x torch = time / torch's time in the same formulation`
    )
  const native = rows.find((r) => r.backend === 'native')
  if (native !== undefined) console.log(`native: ${native.notes.join(', ')}`)
  console.log(
    '| backend | formulation | meta-gradient ms | x torch | meta-KL HVP ms | x torch | CG ms | x torch | rel. diff (grad / hvp / cg) |'
  )
  console.log('|---|---|---|---|---|---|---|---|---|')
  if (torch !== null)
    for (const f of forms) {
      const t = torchOf(f)
      if (t !== undefined)
        console.log(`| torch | ${f} | ${ms(t.metaGradMs)} | 1.00 | ${ms(t.hvpMs)} | 1.00 | ${ms(t.cgMs)} | 1.00 | - |`)
    }
  for (const r of rows) {
    const t = torchOf(r.formulation)
    const ref = reference(r)
    const diff =
      ref === null
        ? '-'
        : `${relDiff(r.results.metaGrad, ref.metaGrad).toExponential(1)} / ${relDiff(r.results.hvp, ref.hvp).toExponential(1)} / ` +
          (r.results.cg === null ? '-' : relDiff(r.results.cg, ref.cg).toExponential(1)) +
          (ref.name === 'torch' ? '' : ` (vs ${ref.name})`)
    console.log(
      `| ${r.backend} | ${r.formulation} | ${ms(r.metaGrad.median)} | ${ratio(r.metaGrad.median, t?.metaGradMs)} | ` +
        `${ms(r.hvp.median)} | ${ratio(r.hvp.median, t?.hvpMs)} | ${ms(r.cg?.median)} | ${ratio(r.cg?.median, t?.cgMs)} | ${diff} |`
    )
  }
  if (torch !== null) {
    const best = (xs: ReadonlyArray<number | undefined>) => Math.min(...xs.filter((x): x is number => x !== undefined))
    const tr = Object.values(torch.results)
    for (const b of [...new Set(rows.map((r) => r.backend))]) {
      const mine = rows.filter((r) => r.backend === b)
      const line = (['metaGrad', 'hvp', 'cg'] as const).map((k) => {
        const ours = best(mine.map((r) => r[k]?.median))
        const theirs = best(tr.map((r) => r[`${k}Ms`]))
        return `${k === 'metaGrad' ? 'meta-gradient' : k === 'hvp' ? 'HVP' : 'CG'} ${Number.isFinite(ours) ? (ours / theirs).toFixed(2) : '-'}x`
      })
      console.log(`${b}, best formulation vs torch's best: ${line.join(', ')}`)
    }
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
