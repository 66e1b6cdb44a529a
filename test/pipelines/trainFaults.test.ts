// A run whose episodes go bad stops with a clear message, exit code 1 and an intact checkpoint: faults
// come from a poisoned sampler handed to `tmaml train`'s `run` (test/support/faultySampler.ts), not
// from hooks inside the pipeline.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { run } from '../../src/cli/train.js'
import { failureFile, readCheckpoint, readFailure, readMetrics } from '../../src/pipelines/runDir.js'
import type { RolloutRequest } from '../../src/pipelines/sampler/types.js'
import { type Poison, poisonedSamplers, withRewards } from '../support/faultySampler.js'

const small = ['--env', 'point2d', '--tasks', '3', '--rollouts', '4', '--horizon', '20', '--workers', '0']
const args = (dir: string) => [
  ...small,
  '--eval-every',
  '0',
  '--iterations',
  '4',
  '--checkpoint-every',
  '1',
  '--cv',
  'linear',
  '--run-dir',
  dir
]

/** Iteration 2's post-update episodes. */
const atIteration2Post = (req: RolloutRequest): boolean => req.stream[0] === 2 && req.stream[1] === 'post'

const faults: ReadonlyArray<readonly [string, Poison, string]> = [
  // A NaN in the rewards: the rollout check must catch it before anything learns from it.
  [
    'a NaN reward',
    (req, bs) => (atIteration2Post(req) ? withRewards(bs, (r) => r.fill(NaN, 0, 1)) : bs),
    'rollouts 2/post'
  ],
  // Finite rewards whose returns overflow float32: the episodes pass the check, the outer gradient does not.
  [
    'rewards whose returns overflow float32',
    (req, bs) => (atIteration2Post(req) ? withRewards(bs, (r) => r.fill(3e38)) : bs),
    'meta-gradient'
  ]
]

describe('tmaml train with bad episodes', () => {
  let stderr = ''
  beforeAll(() => {
    process.env['TMAML_BACKEND'] = 'wasm'
  })
  afterEach(() => {
    vi.restoreAllMocks()
    stderr = ''
  })
  const capture = () => {
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      stderr += String(s)
      return true
    })
    vi.spyOn(console, 'error').mockImplementation((...xs: unknown[]) => void (stderr += `${xs.join(' ')}\n`))
  }

  it.each(faults)('stops on %s with a clear message; the last checkpoint is intact', async (_, poison, where) => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-faults-')), 'run')
    capture()
    const code = await run(args(dir), { makeSampler: poisonedSamplers(poison) })
    vi.restoreAllMocks()
    expect(code, stderr).toBe(1)
    expect(stderr).toContain(`numerical failure in ${where}`)
    expect(stderr).toContain('NaN')
    // Resuming would repeat the failure bit for bit (every random number derives from the seed): the
    // tool says so instead of advising it.
    expect(stderr).toContain('resuming would repeat this failure exactly')
    expect(stderr).not.toContain(`--resume ${dir}`)
    const ck = readCheckpoint(dir)
    expect(E.isRight(ck) && ck.right.state.iteration).toBe(2)
    if (E.isRight(ck))
      expect(Object.values(ck.right.state.policy).every((p) => p.values.every(Number.isFinite))).toBe(true)
    const m = readMetrics(dir)
    expect(E.isRight(m) && m.right.map((l) => l.iteration)).toEqual([0, 1])
    // The folder says so too, for tools that continue runs (experiment compare): what, and after how many iterations.
    expect(readFailure(dir)).toMatchObject({ iteration: 2, kind: 'NumericalError' })
    expect(readFailure(dir)?.message).toContain(`numerical failure in ${where}`)
    // A run that starts again may succeed (here: healthy episodes); then the record is gone.
    capture()
    const resumed = await run(['--resume', dir])
    vi.restoreAllMocks()
    expect(resumed, stderr).toBe(0)
    expect(fs.existsSync(path.join(dir, failureFile))).toBe(false)
  })
})
