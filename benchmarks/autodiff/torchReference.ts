/**
 * Running the PyTorch reference (benchmarks/reference/maml_torch.py) on the benchmark's data: the
 * workload's arrays go to a temporary JSON + float32 file, the script computes the same quantities and
 * prints timings and results as JSON. Absent python3 or torch is a value (the benchmark skips torch).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PipelineComputation, PipelineData, RawEpisodes } from './pipelineWorkload.js'
import { type WorkloadData, cgDamping, cgIterations } from './workload.js'

/** Timings (median and min, ms) and flattened results of one formulation in torch. */
export interface TorchRun {
  readonly metaGradMs: number
  readonly metaGradMinMs: number
  readonly hvpMs: number
  readonly hvpMinMs: number
  readonly cgMs: number
  readonly cgMinMs: number
  readonly metaGrad: ReadonlyArray<number>
  readonly hvp: ReadonlyArray<number>
  readonly cg: ReadonlyArray<number>
}

export interface TorchReport {
  readonly torch: string
  readonly threads: number
  readonly blas: string
  readonly python: string
  readonly results: Readonly<Record<string, TorchRun>>
}

const script = fileURLToPath(new URL('../reference/maml_torch.py', import.meta.url))

/** The first python3 that imports torch: $TMAML_PYTHON, python3 on PATH, /usr/bin/python3. */
export const findTorchPython = (): { readonly python: string } | { readonly reason: string } => {
  const candidates = [process.env['TMAML_PYTHON'], 'python3', '/usr/bin/python3'].filter(
    (c): c is string => c !== undefined && c !== ''
  )
  const tried: string[] = []
  for (const python of [...new Set(candidates)]) {
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 })
      return { python }
    } catch {
      tried.push(python)
    }
  }
  return { reason: `no python3 with torch (tried ${tried.join(', ')}; Debian: apt-get install python3-torch)` }
}

/** Float32 arrays packed into one little-endian file, referenced from JSON as `{ offset, shape }`. */
const packer = () => {
  const chunks: Float32Array[] = []
  let offset = 0
  const put = (values: Float32Array, shape: ReadonlyArray<number>) => {
    chunks.push(values)
    const ref = { offset, shape: [...shape] }
    offset += values.length
    return ref
  }
  /** Write `workload.bin` and `workload.json` (`meta` plus the bin's name) into `dir`. */
  const write = (dir: string, meta: object): string => {
    const all = new Float32Array(offset)
    let o = 0
    for (const c of chunks) {
      all.set(c, o)
      o += c.length
    }
    writeFileSync(join(dir, 'workload.bin'), new Uint8Array(all.buffer))
    writeFileSync(join(dir, 'workload.json'), JSON.stringify({ bin: 'workload.bin', ...meta }))
    return join(dir, 'workload.json')
  }
  return { put, write }
}

/** Write the workload as `workload.json` (shapes, offsets) + `workload.bin` (little-endian float32). */
export const writeWorkload = (data: WorkloadData, dir: string): string => {
  const { put, write } = packer()
  const n = data.size.samples
  const { obsDim, actDim } = data.size
  return write(dir, {
    size: data.size,
    cg: { iterations: cgIterations, damping: cgDamping },
    params: Object.fromEntries(Object.entries(data.params).map(([k, p]) => [k, put(p.values, p.shape)])),
    direction: Object.fromEntries(Object.entries(data.direction).map(([k, v]) => [k, put(v, data.params[k].shape)])),
    tasks: data.tasks.map((t) => ({
      preObs: put(t.preObs, [n, obsDim]),
      preAct: put(t.preAct, [n, actDim]),
      preAdv: put(t.preAdv, [n]),
      postObs: put(t.postObs, [n, obsDim]),
      postAct: put(t.postAct, [n, actDim]),
      postAdv: put(t.postAdv, [n]),
      postLogpOld: put(t.postLogpOld, [n])
    }))
  })
}

/** Write the pipeline workload: theta, raw pre/post episodes per task, the hyperparameters. */
export const writePipelineWorkload = (data: PipelineData, dir: string): string => {
  const { put, write } = packer()
  const { episodes: E, horizon: T, obsDim, actDim } = data.size
  const episodes = (r: RawEpisodes) => ({
    obs: put(r.obs, [E, T, obsDim]),
    actions: put(r.actions, [E, T, actDim]),
    rewards: put(r.rewards, [E, T]),
    mask: put(r.mask, [E, T]),
    baseline: put(r.baseline, [E, T])
  })
  const { innerLr, gamma, outerLr, normalizeAdvantages, innerNormalize, innerSteps, trpo, ppo } = data.cfg
  return write(dir, {
    size: data.size,
    cfg: { innerLr, gamma, outerLr, normalizeAdvantages, innerNormalize, innerSteps, trpo, ppo },
    theta: Object.fromEntries(Object.entries(data.theta).map(([k, p]) => [k, put(p.values, p.shape)])),
    pre: data.pre.map(episodes),
    post: data.post.map(episodes)
  })
}

/** Run the reference script on the data `write` puts in a temporary directory; parsed stdout or why not. */
const runScript = <A>(
  write: (dir: string) => string,
  args: ReadonlyArray<string>
): (A & { python: string }) | string => {
  const found = findTorchPython()
  if ('reason' in found) return found.reason
  const dir = mkdtempSync(join(tmpdir(), 'tmaml-bench-'))
  try {
    const json = write(dir)
    const r = spawnSync(found.python, [script, json, ...args], {
      encoding: 'utf8',
      maxBuffer: 256 * 2 ** 20,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' }
    })
    if (r.status !== 0) return `the torch reference exited with ${r.status ?? r.signal}`
    return { ...(JSON.parse(r.stdout) as A), python: found.python }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Run the reference on `data`; a string says why it could not. */
export const runTorchReference = (
  data: WorkloadData,
  opts: { readonly reps: number; readonly cgReps: number; readonly formulations: ReadonlyArray<string> }
): TorchReport | string =>
  runScript<Omit<TorchReport, 'python'>>(
    (dir) => writeWorkload(data, dir),
    ['--reps', String(opts.reps), '--cg-reps', String(opts.cgReps), '--formulations', opts.formulations.join(',')]
  )

/** One pipeline computation in torch: median and min ms, the result (flattened), its diagnostics. */
export interface TorchPipelineRun {
  readonly ms: number
  readonly minMs: number
  readonly result: ReadonlyArray<number>
  readonly stats: Readonly<Record<string, number>>
  /** The same computation in float64 (untimed): what float32 results are measured against. */
  readonly float64: ReadonlyArray<number>
  readonly float64Stats: Readonly<Record<string, number>>
}

export interface TorchPipelineReport {
  readonly torch: string
  readonly threads: number
  readonly blas: string
  readonly python: string
  readonly results: Readonly<Record<PipelineComputation, TorchPipelineRun>>
}

/** Run the reference's pipeline suite on `data` (timed `reps` times after a warm-up); a string says why not. */
export const runTorchPipeline = (data: PipelineData, reps: number): TorchPipelineReport | string =>
  runScript<Omit<TorchPipelineReport, 'python'>>(
    (dir) => writePipelineWorkload(data, dir),
    ['--suite', 'pipeline', '--reps', String(reps)]
  )
