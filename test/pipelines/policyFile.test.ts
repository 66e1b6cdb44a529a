// The policy file as docs/POLICY.md describes it: read back by readPolicyFile, and acted with by the
// document's own NumPy snippet, which must give policyActions' means.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { formatError } from '../../src/base/errors.js'
import { rngAt } from '../../src/base/rng.js'
import { resolveConfig } from '../../src/pipelines/config.js'
import { initPolicy } from '../../src/pipelines/policy.js'
import { policyActions, policyFileJson, readPolicyFile } from '../../src/pipelines/policyFile.js'

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0
if (!hasNumpy)
  console.warn('policyFile.test: python3 with numpy not found; the NumPy snippet of docs/POLICY.md is not run')

/** A policy file of a 3 -> 5 -> 4 -> 2 policy with random (not initial-scale) weights. */
const writeFile = (activation: 'tanh' | 'relu'): string => {
  const cfg = resolveConfig({ env: 'point2d', actionScale: 2 })
  if (E.isLeft(cfg)) throw new Error(formatError(cfg.left))
  const spec = { obsDim: 3, actDim: 2, hidden: [5, 4], activation }
  const rng = rngAt(7, 'policy-file-test')
  const params = Object.fromEntries(
    Object.entries(initPolicy(spec, rng, -0.5)).map(([k, p]) => [
      k,
      { shape: p.shape, values: k === 'logStd' ? p.values : p.values.map(() => rng.normal()) }
    ])
  )
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-policy-')), 'policy.json')
  fs.writeFileSync(file, JSON.stringify(policyFileJson(cfg.right, spec, params, 3)))
  return file
}

const obs = new Float32Array([0.3, -1.2, 0.7, 2.0, 0.1, -0.4, -0.9, 0.5, 1.5, 0, 0, 0])

describe('policyFile', () => {
  describe('readPolicyFile', () => {
    it('reads back what policyFileJson wrote, and refuses parameters that do not fit the spec', () => {
      const file = writeFile('tanh')
      const p = readPolicyFile(file)
      if (E.isLeft(p)) throw new Error(formatError(p.left))
      expect(p.right.format).toBe('tmaml-policy-1')
      expect(p.right.actionScale).toBe(2)
      expect(Object.keys(p.right.params).sort()).toEqual(['W0', 'W1', 'W2', 'b0', 'b1', 'b2', 'logStd'])
      const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { params: Record<string, { shape: number[] }> }
      j.params['W1'].shape = [4, 5]
      fs.writeFileSync(file, JSON.stringify(j))
      expect(E.isLeft(readPolicyFile(file))).toBe(true)
    })
  })

  describe.skipIf(!hasNumpy)("docs/POLICY.md's NumPy snippet", () => {
    const doc = fs.readFileSync('docs/POLICY.md', 'utf8')
    const snippet = /```python\n([\s\S]*?)```/.exec(doc)?.[1] ?? ''
    it.each(['tanh', 'relu'] as const)('gives the means of policyActions (%s)', (activation) => {
      expect(snippet).toContain('def mean_action')
      const file = writeFile(activation)
      const p = readPolicyFile(file)
      if (E.isLeft(p)) throw new Error(formatError(p.left))
      const script =
        snippet.replace('runs/my-run/policy.json', file) +
        `\nimport sys\nprint(json.dumps(mean_action(np.array(json.loads(sys.argv[1])).reshape(-1, 3)).ravel().tolist()))\n`
      const r = spawnSync('python3', ['-c', script, JSON.stringify(Array.from(obs))], { encoding: 'utf8' })
      expect(r.status, r.stderr).toBe(0)
      const numpy = JSON.parse(r.stdout) as number[]
      const ours = Array.from(policyActions(p.right, obs))
      expect(numpy).toHaveLength(ours.length)
      numpy.forEach((x, i) => expect(x).toBeCloseTo(ours[i], 4))
      // Weights of unit scale: the outputs are far from zero, so the comparison means something.
      expect(Math.max(...ours.map(Math.abs))).toBeGreaterThan(0.5)
    })
  })
})
