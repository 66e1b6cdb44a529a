/**
 * `npm run bench:autodiff`: two suites, each on every available tfjs backend and in PyTorch
 * (benchmarks/reference/maml_torch.py: same data, float32, one thread, its own code) when python3 with
 * torch is installed, all in this one invocation.
 *
 *   workload  one MAML meta-gradient, one meta-KL Hessian-vector product and 10 conjugate-gradient
 *             iterations on that HVP (workload.ts), each in two formulations (per-task loop and
 *             batched over tasks);
 *   pipeline  the training pipeline's own computations (pipelineWorkload.ts: src/pipelines/meta.ts
 *             and outer.ts at the published batch): the VPG meta-gradient through the tmaml
 *             adaptation, one TRPO step (CG + line search), one PPO step.
 *
 * Prints the median ms of each, the ratio to torch's time in the same run, and the relative
 * difference of each result from torch's (||a - b|| / ||b||), or from the first tfjs backend when
 * torch is absent. `--json` prints one object whose `rows` are
 * `{ name, backend, ms, torchMs, ratio, minMs, relDiff, against }` (plus `formulation` in the workload suite).
 *
 * Flags: --suites workload,pipeline (default both),
 *        --reps N (timed repetitions of meta-gradient and HVP, default 5; cpu: 1),
 *        --cg-reps N (timed CG runs, default 1, the first one also giving the result; cpu: none
 *        unless --cg-cpu),
 *        --pipeline-reps N (timed repetitions of each pipeline computation after a warm-up, default 3;
 *        the pipeline suite skips the cpu backend),
 *        --tasks N --episodes N --horizon N (pipeline batch, default 40 x 20 x 100),
 *        --backends a,b (default native,wasm,cpu,tensorflow: those that initialise),
 *        --formulations per-task,batched, --no-torch, --json.
 */
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { type BackendChoice, initBackend } from '../../src/graph/backend.js'
import { type Params, disposeParams } from '../../src/graph/autodiff.js'
import { disposeMetaProblem } from '../../src/pipelines/meta.js'
import {
  type PipelineComputation,
  makePipelineData,
  pipelineComputations,
  pipelineProblem,
  publishedSize,
  runPipeline
} from './pipelineWorkload.js'
import { positiveIntFlag } from '../flags.js'
import { type TorchPipelineReport, type TorchReport, runTorchPipeline, runTorchReference } from './torchReference.js'
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

/** One pipeline computation on one backend. */
interface PipelineRow {
  readonly backend: string
  readonly computation: PipelineComputation
  readonly timing: Timing
  readonly result: Float32Array
  readonly stats: Readonly<Record<string, number>>
}

const pipelineLabels: Readonly<Record<PipelineComputation, string>> = {
  metaGradient: 'pipeline meta-gradient (VPG, tmaml)',
  trpoStep: 'pipeline TRPO step (CG + line search)',
  ppoStep: 'pipeline PPO step'
}

/** The JSON row every suite reports. */
interface JsonRow {
  readonly name: string
  readonly formulation?: Formulation
  readonly backend: string
  readonly ms: number
  readonly minMs: number
  readonly torchMs: number | null
  readonly ratio: number | null
  readonly relDiff: number | null
  readonly against: string | null
  /** Pipeline rows with torch: ours and torch's float32 results against torch's float64 result. */
  readonly relDiffFloat64?: number
  readonly torchRelDiffFloat64?: number
  readonly stats?: Readonly<Record<string, number>>
  readonly torchStats?: Readonly<Record<string, number>>
}

const positiveInt = (flag: string, v: string): number => positiveIntFlag('bench:autodiff', flag, v)

/** The workload suite: rows per backend and formulation, and torch's report. */
const workloadSuite = async (
  wanted: ReadonlyArray<BackendChoice>,
  forms: ReadonlyArray<Formulation>,
  o: { readonly reps: number; readonly cgReps: number; readonly torch: boolean; readonly cgCpu: boolean }
): Promise<{ rows: Row[]; torch: TorchReport | null }> => {
  const data = makeWorkloadData(1)
  let torch: TorchReport | null = null
  if (o.torch) {
    process.stderr.write('torch: running the reference (workload)...\n')
    const t = runTorchReference(data, { reps: o.reps, cgReps: o.cgReps, formulations: forms })
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
      const n = slow ? 1 : o.reps
      const g = measure(n, () => metaGradient(w, form))
      const h = measure(n, () => metaKlHvp(w, form))
      const c = slow && !o.cgCpu ? null : measure(slow ? 1 : o.cgReps, () => metaKlCg(w, form), true)
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
  return { rows, torch }
}

/** The pipeline suite: one row per backend and computation (the cpu backend is skipped: minutes per step). */
const pipelineSuite = async (
  wanted: ReadonlyArray<BackendChoice>,
  o: {
    readonly reps: number
    readonly torch: boolean
    readonly tasks: number
    readonly episodes: number
    readonly horizon: number
  }
): Promise<{ rows: PipelineRow[]; torch: TorchPipelineReport | null; size: string }> => {
  const size = { ...publishedSize, tasks: o.tasks, episodes: o.episodes, horizon: o.horizon }
  const data = makePipelineData(1, size)
  let torch: TorchPipelineReport | null = null
  if (o.torch) {
    process.stderr.write('torch: running the reference (pipeline)...\n')
    const t = runTorchPipeline(data, o.reps)
    if (typeof t === 'string') process.stderr.write(`skip torch: ${t}\n`)
    else torch = t
  }
  const rows: PipelineRow[] = []
  for (const b of wanted.filter((x) => x !== 'cpu')) {
    const info = await initBackend(b)
    if (E.isLeft(info)) {
      process.stderr.write(`skip ${b}: ${'message' in info.left ? info.left.message : info.left._tag}\n`)
      continue
    }
    const m = pipelineProblem(data)
    for (const c of pipelineComputations) {
      const first = runPipeline(m, data, c) // warm-up, and the result
      const times: number[] = []
      for (let r = 0; r < o.reps; r++) {
        const t0 = performance.now()
        runPipeline(m, data, c)
        times.push(performance.now() - t0)
      }
      const timing = { median: median(times), min: Math.min(...times) }
      rows.push({ backend: info.right.active, computation: c, timing, result: first.result, stats: first.stats })
      process.stderr.write(
        `${b} ${pipelineLabels[c]}: ${timing.median.toFixed(0)} ms (${tf.memory().numTensors} tensors live)\n`
      )
    }
    disposeMetaProblem(m)
  }
  const { obsDim, hidden, actDim, tasks, episodes, horizon } = size
  return {
    rows,
    torch,
    size: `policy ${obsDim}-${hidden.join('-')}-${actDim} tanh, ${tasks} tasks x ${episodes} episodes x horizon ${horizon} (ragged), tmaml, one inner step`
  }
}

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      suites: { type: 'string', default: 'workload,pipeline' },
      reps: { type: 'string', default: '5' },
      'cg-reps': { type: 'string', default: '1' },
      'pipeline-reps': { type: 'string', default: '3' },
      tasks: { type: 'string', default: String(publishedSize.tasks) },
      episodes: { type: 'string', default: String(publishedSize.episodes) },
      horizon: { type: 'string', default: String(publishedSize.horizon) },
      backends: { type: 'string' },
      formulations: { type: 'string' },
      'no-torch': { type: 'boolean', default: false },
      'cg-cpu': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false }
    }
  })
  const suites = new Set(values.suites.split(','))
  for (const x of suites) if (x !== 'workload' && x !== 'pipeline') throw new Error(`unknown suite '${x}'`)
  const reps = positiveInt('reps', values.reps)
  const cgReps = positiveInt('cg-reps', values['cg-reps'])
  const wanted = (values.backends?.split(',') ?? ['native', 'wasm', 'cpu', 'tensorflow']) as BackendChoice[]
  const forms = (values.formulations?.split(',') ?? allFormulations) as Formulation[]
  for (const f of forms) if (!allFormulations.includes(f)) throw new Error(`unknown formulation '${f}'`)
  const loadBefore = loadavg()[0]
  const torchWanted = !values['no-torch']

  const wl = suites.has('workload')
    ? await workloadSuite(wanted, forms, { reps, cgReps, torch: torchWanted, cgCpu: values['cg-cpu'] })
    : null
  const pl = suites.has('pipeline')
    ? await pipelineSuite(wanted, {
        reps: positiveInt('pipeline-reps', values['pipeline-reps']),
        torch: torchWanted,
        tasks: positiveInt('tasks', values.tasks),
        episodes: positiveInt('episodes', values.episodes),
        horizon: positiveInt('horizon', values.horizon)
      })
    : null
  const loadAfter = loadavg()[0]
  const rows = wl?.rows ?? []
  const torch = wl?.torch ?? null

  const torchOf = (f: Formulation) => torch?.results[f]
  const reference = (r: Row) => {
    const t = torchOf(r.formulation)
    if (t !== undefined) return { metaGrad: t.metaGrad, hvp: t.hvp, cg: t.cg, name: 'torch' }
    const first = rows.find((x) => x.formulation === r.formulation)
    return first === undefined || first === r
      ? null
      : { metaGrad: first.results.metaGrad, hvp: first.results.hvp, cg: first.results.cg ?? [], name: first.backend }
  }
  const pipelineReference = (r: PipelineRow) => {
    const t = pl?.torch?.results[r.computation]
    if (t !== undefined) return { result: t.result, name: 'torch', ms: t.ms, stats: t.stats, float64: t.float64 }
    const first = pl?.rows.find((x) => x.computation === r.computation)
    return first === undefined || first === r
      ? null
      : { result: first.result, name: first.backend, ms: null, stats: first.stats, float64: null }
  }

  if (values.json) {
    const workloadRows: JsonRow[] = rows.flatMap((r) => {
      const ref = reference(r)
      const t = torchOf(r.formulation)
      const one = (
        name: string,
        timing: Timing | null,
        result: Float32Array | null,
        want: ArrayLike<number> | undefined,
        torchMs: number | undefined
      ): JsonRow[] =>
        timing === null
          ? []
          : [
              {
                name,
                formulation: r.formulation,
                backend: r.backend,
                ms: timing.median,
                minMs: timing.min,
                torchMs: torchMs ?? null,
                ratio: torchMs === undefined ? null : timing.median / torchMs,
                relDiff: ref === null || result === null || want === undefined ? null : relDiff(result, want),
                against: ref?.name ?? null
              }
            ]
      return [
        ...one('workload meta-gradient', r.metaGrad, r.results.metaGrad, ref?.metaGrad, t?.metaGradMs),
        ...one('workload meta-KL HVP', r.hvp, r.results.hvp, ref?.hvp, t?.hvpMs),
        ...one(`workload ${cgIterations} CG iterations`, r.cg, r.results.cg, ref?.cg, t?.cgMs)
      ]
    })
    const pipelineRows: JsonRow[] = (pl?.rows ?? []).map((r) => {
      const ref = pipelineReference(r)
      const torchMs = ref?.name === 'torch' ? ref.ms : null
      return {
        name: pipelineLabels[r.computation],
        backend: r.backend,
        ms: r.timing.median,
        minMs: r.timing.min,
        torchMs,
        ratio: torchMs === null ? null : r.timing.median / torchMs,
        relDiff: ref === null ? null : relDiff(r.result, ref.result),
        against: ref?.name ?? null,
        ...(ref?.float64 != null
          ? { relDiffFloat64: relDiff(r.result, ref.float64), torchRelDiffFloat64: relDiff(ref.result, ref.float64) }
          : {}),
        stats: r.stats,
        ...(ref !== null ? { torchStats: ref.stats } : {})
      }
    })
    const torchInfo = torch ?? pl?.torch ?? null
    console.log(
      JSON.stringify(
        {
          machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', loadAverage: [loadBefore, loadAfter] },
          torch:
            torchInfo === null ? null : { version: torchInfo.torch, threads: torchInfo.threads, blas: torchInfo.blas },
          pipeline: pl?.size ?? null,
          rows: [...workloadRows, ...pipelineRows]
        },
        null,
        2
      )
    )
    return
  }

  const ms = (x: number | undefined | null) => (x === undefined || x === null ? '-' : x.toFixed(0))
  const ratio = (x: number | undefined, y: number | undefined | null) =>
    x === undefined || y === undefined || y === null ? '-' : (x / y).toFixed(2)
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; 1-min load average ${loadBefore.toFixed(1)} at start, ` +
      `${loadAfter.toFixed(1)} at end (other processes share the cores: compare rows of one run)`
  )
  const torchInfo = torch ?? pl?.torch ?? null
  if (torchInfo !== null)
    console.log(
      `torch ${torchInfo.torch}, ${torchInfo.threads} thread, BLAS ${torchInfo.blas} (${torchInfo.python}); x torch = time / torch's time in the same run`
    )
  const native = rows.find((r) => r.backend === 'native')
  if (native !== undefined) console.log(`native: ${native.notes.join(', ')}`)
  if (wl !== null) {
    const size = makeWorkloadData(1).size
    console.log(
      `\nworkload: MAML meta-gradient, meta-KL HVP and ${cgIterations} CG iterations: policy ${size.obsDim}-${size.hidden.join('-')}-${size.actDim} tanh, ` +
        `${size.tasks} tasks x ${size.samples} + ${size.samples} samples, float32; median ms of ${reps} ` +
        `(CG: ${cgReps}; cpu: 1, no CG)`
    )
    console.log(
      '| backend | formulation | meta-gradient ms | x torch | meta-KL HVP ms | x torch | CG ms | x torch | rel. diff (grad / hvp / cg) |'
    )
    console.log('|---|---|---|---|---|---|---|---|---|')
    if (torch !== null)
      for (const f of forms) {
        const t = torchOf(f)
        if (t !== undefined)
          console.log(
            `| torch | ${f} | ${ms(t.metaGradMs)} | 1.00 | ${ms(t.hvpMs)} | 1.00 | ${ms(t.cgMs)} | 1.00 | - |`
          )
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
      const best = (xs: ReadonlyArray<number | undefined>) =>
        Math.min(...xs.filter((x): x is number => x !== undefined))
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
  if (pl !== null) {
    console.log(`\npipeline (src/pipelines, ${pl.size}); median ms of ${values['pipeline-reps']} after a warm-up`)
    console.log(
      '| computation | backend | ms | torch ms | x torch | rel. diff vs torch | vs float64: ours / torch float32 | notes |'
    )
    console.log('|---|---|---|---|---|---|---|---|')
    for (const r of pl.rows) {
      const ref = pipelineReference(r)
      const notes =
        r.computation === 'trpoStep'
          ? `line search ${r.stats['lineSearch']}${ref !== null ? ` (${ref.name} ${ref.stats['lineSearch']})` : ''}`
          : ''
      console.log(
        `| ${pipelineLabels[r.computation]} | ${r.backend} | ${ms(r.timing.median)} | ${ms(ref?.name === 'torch' ? ref.ms : null)} | ` +
          `${ratio(r.timing.median, ref?.name === 'torch' ? ref.ms : null)} | ${ref === null ? '-' : relDiff(r.result, ref.result).toExponential(1)}${ref !== null && ref.name !== 'torch' ? ` (vs ${ref.name})` : ''} | ` +
          `${ref?.float64 != null ? `${relDiff(r.result, ref.float64).toExponential(1)} / ${relDiff(ref.result, ref.float64).toExponential(1)}` : '-'} | ${notes} |`
      )
    }
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
