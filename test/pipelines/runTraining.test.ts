// runTraining / resumeTraining as a library: what `tmaml train` does, in-process, with a user's outer
// optimiser and stages, a stop through an AbortSignal, the previous checkpoint as the fallback of a
// damaged latest, snapshots with retention, a checkpoint checked against its config before any
// sampling, the policy file, and TensorBoard event files that decode.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { tap } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { formatError } from '../../src/base/errors.js'
import { rngAt } from '../../src/base/rng.js'
import { type ExperimentConfig, resolveConfig } from '../../src/pipelines/config.js'
import { vpgStep } from '../../src/pipelines/outer.js'
import type { OuterStep } from '../../src/pipelines/outerStep.js'
import { policyActions, readPolicyFile } from '../../src/pipelines/policyFile.js'
import { listSnapshots, readCheckpoint } from '../../src/pipelines/runDir.js'
import {
  type TrainingFailure,
  type TrainingOptions,
  type TrainingOutcome,
  resumeTraining,
  runTraining
} from '../../src/pipelines/runTraining.js'
import { standardIteration } from '../../src/pipelines/streaming.js'
import { maskedCrc32c, readEvents } from '../../src/pipelines/tensorboard.js'

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `tmaml-lib-${name}-`))

const config = (dir: string, extra: Record<string, unknown> = {}): ExperimentConfig => {
  const r = resolveConfig({
    env: 'point2d',
    tasksPerBatch: 2,
    rolloutsPerTask: 3,
    horizon: 8,
    hidden: [4],
    iterations: 4,
    workers: 0,
    evalEvery: 0,
    checkpointEvery: 1,
    controlVariate: 'linear',
    backend: 'wasm',
    runDir: path.join(dir, 'run'),
    ...extra
  })
  if (E.isLeft(r)) throw new Error(formatError(r.left))
  return r.right
}

const ok = (r: E.Either<TrainingFailure, TrainingOutcome>): TrainingOutcome => {
  if (E.isLeft(r)) throw new Error(formatError(r.left.error))
  return r.right
}

const lines = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)

describe('pipelines/runTraining', () => {
  beforeAll(() => {
    process.env['TMAML_BACKEND'] = 'wasm'
  })

  it('trains with a user OuterStep and stages; metrics record its name, the estimator formula and provenance', async () => {
    const dir = tmp('outer')
    let calls = 0
    const slow: OuterStep = {
      name: 'vpg-slow',
      step: (m, p, s, cfg) => {
        calls++
        return vpgStep(m, p, s, { ...cfg, outerLr: cfg.outerLr / 10 })
      }
    }
    let seen = 0
    const seenRecords: number[] = []
    const r = ok(
      await runTraining(config(dir), {
        outer: slow,
        stages: (c$) =>
          c$.pipe(
            standardIteration(),
            tap(() => seen++)
          ),
        onIteration: (rec) => seenRecords.push(rec.iteration)
      })
    )
    expect(r.status).toBe('finished')
    expect(calls).toBe(4)
    expect(seen).toBe(4)
    expect(seenRecords).toEqual([0, 1, 2, 3])
    const ls = lines(r.runDir)
    expect(ls.map((l) => l['outer'])).toEqual(['vpg-slow', 'vpg-slow', 'vpg-slow', 'vpg-slow'])
    expect(typeof ls[0]['estimatorFormula']).toBe('string')
    expect(ls[0]['backend']).toBe('wasm')
    expect(ls[0]['horizon']).toBe(8)
    expect(typeof ls[0]['wallSeconds']).toBe('number')
    expect(typeof ls[0]['time']).toBe('string')
    const cfgJson = JSON.parse(fs.readFileSync(path.join(r.runDir, 'config.json'), 'utf8')) as Record<string, unknown>
    const prov = cfgJson['provenance'] as Record<string, unknown>
    expect(prov['backend']).toBe('wasm')
    expect(prov['horizon']).toBe(8)
    expect(prov['version']).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version)
    // The config file with its provenance reads back as a config (provenance is a record, not a setting).
    expect(E.isRight(resolveConfig(cfgJson))).toBe(true)
  })

  it('stops at the next iteration boundary when its signal aborts, with a checkpoint; resume finishes the same run', async () => {
    const dir = tmp('signal')
    const stop = new AbortController()
    const opts: TrainingOptions = {
      onIteration: (rec) => (rec.iteration === 1 ? stop.abort() : undefined),
      signal: stop.signal
    }
    const r = ok(await runTraining(config(dir, { checkpointEvery: 3 }), opts))
    expect(r.status).toBe('stopped')
    expect(r.state.iteration).toBe(2)
    // Not a checkpoint iteration (every 3): the stop wrote one all the same.
    expect(r.saved.checkpoint).toBe(2)
    expect(r.saved.metricsLines).toBe(2)
    const done = ok(await resumeTraining(r.runDir))
    expect(done.status).toBe('finished')
    const whole = ok(await runTraining(config(tmp('whole'), { checkpointEvery: 3 })))
    const essence = (l: Record<string, unknown>) => [l['iteration'], l['returnPre'], l['returnPost']]
    expect(lines(done.runDir).map(essence)).toEqual(lines(whole.runDir).map(essence))
  })

  it('keeps the previous checkpoint and falls back to it when the latest is cut short', async () => {
    const dir = tmp('prev')
    const r = ok(await runTraining(config(dir, { iterations: 3 })))
    const latest = path.join(r.runDir, 'checkpoint.json')
    const text = fs.readFileSync(latest, 'utf8')
    fs.writeFileSync(latest, text.slice(0, text.length >> 1))
    const ck = readCheckpoint(r.runDir)
    expect(E.isRight(ck) && ck.right.state.iteration).toBe(2)
    expect(E.isRight(ck) && ck.right.fallback).toMatch(/not JSON.*checkpoint\.prev\.json \(iteration 2\)/)
    const messages: string[] = []
    const resumed = ok(await resumeTraining(r.runDir, { onMessage: (m) => messages.push(m) }))
    expect(messages.join('\n')).toContain('read the previous checkpoint checkpoint.prev.json (iteration 2)')
    expect(resumed.state.iteration).toBe(3)
    expect(lines(r.runDir).map((l) => l['iteration'])).toEqual([0, 1, 2])
  })

  it('writes snapshots every snapshotEvery iterations and keeps the most recent snapshotKeep', async () => {
    const dir = tmp('snap')
    const r = ok(await runTraining(config(dir, { iterations: 7, snapshotEvery: 2, snapshotKeep: 2 })))
    expect(listSnapshots(r.runDir).map((s) => s.iteration)).toEqual([4, 6])
    const keepAll = ok(await runTraining(config(tmp('snap-all'), { iterations: 4, snapshotEvery: 2, snapshotKeep: 0 })))
    expect(listSnapshots(keepAll.runDir).map((s) => s.iteration)).toEqual([0, 2, 4])
  })

  it('refuses to resume a checkpoint that does not fit its config, naming the field, before any sampling', async () => {
    const dir = tmp('mismatch')
    const r = ok(await runTraining(config(dir, { iterations: 2 })))
    const file = path.join(r.runDir, 'checkpoint.json')
    const ck = JSON.parse(fs.readFileSync(file, 'utf8')) as { config: { hidden: number[] } }
    ck.config.hidden = [5]
    fs.writeFileSync(file, JSON.stringify(ck))
    fs.rmSync(path.join(r.runDir, 'checkpoint.prev.json'))
    let sampled = 0
    const f = await resumeTraining(r.runDir, {
      iterations: 3,
      sampler: async () => {
        sampled++
        return E.left({ _tag: 'ResourceError', where: 'test', message: 'no sampler wanted' })
      }
    })
    expect(E.isLeft(f)).toBe(true)
    if (E.isLeft(f)) expect(formatError(f.left.error)).toMatch(/does not match its config[\s\S]*state\.policy\.W0/)
    expect(sampled).toBe(0)
  })

  it('writes a policy file a user can load and act with, matching the checkpoint', async () => {
    const dir = tmp('policy')
    const r = ok(await runTraining(config(dir, { iterations: 2 })))
    const p = readPolicyFile(path.join(r.runDir, 'policy.json'))
    if (E.isLeft(p)) throw new Error(formatError(p.left))
    const ck = readCheckpoint(r.runDir)
    expect(E.isRight(ck) && p.right.iteration === ck.right.state.iteration).toBe(true)
    if (E.isRight(ck))
      expect(Array.from(p.right.params['W0'].values)).toEqual(Array.from(ck.right.state.policy['W0'].values))
    const obs = new Float32Array([0.1, -0.2, 0.3, 0.4])
    const mean = policyActions(p.right, obs)
    expect(mean).toHaveLength(2 * p.right.policy.actDim)
    const a = policyActions(p.right, obs, rngAt(1, 'act'))
    const b = policyActions(p.right, obs, rngAt(1, 'act'))
    expect(Array.from(a)).toEqual(Array.from(b))
    expect(Array.from(a)).not.toEqual(Array.from(mean))
  })

  it('writes TensorBoard event files whose records pass their checksums and hold the metrics', async () => {
    // CRC-32C of "123456789" is 0xE3069283 (RFC 3720); masked as TFRecord masks it.
    const crc = 0xe3069283
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0)
    const dir = tmp('tb')
    const r = ok(await runTraining(config(dir, { iterations: 3 })))
    const files = fs.readdirSync(path.join(r.runDir, 'tensorboard'))
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^events\.out\.tfevents\.\d+\./)
    const events = readEvents(path.join(r.runDir, 'tensorboard', files[0]))
    if (E.isLeft(events)) throw new Error(formatError(events.left))
    expect(events.right[0]['fileVersion']).toBe('brain.Event:2')
    const scalars = events.right.slice(1)
    expect(scalars.map((e) => e['step'])).toEqual([0, 1, 2])
    const values = (scalars[2]['summary'] as { value: Array<{ tag: string; simpleValue: number }> }).value
    const post = lines(r.runDir)[2]['returnPost'] as number
    expect(values.find((v) => v.tag === 'returnPost')?.simpleValue).toBeCloseTo(post, 4)
    expect(values.some((v) => v.tag === 'stats/gradNorm')).toBe(true)
    const off = ok(await runTraining(config(tmp('tb-off'), { iterations: 1 }), { tensorboard: false }))
    expect(fs.existsSync(path.join(off.runDir, 'tensorboard'))).toBe(false)
  })
})
