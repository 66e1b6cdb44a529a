// With the addon disabled (TMAML_NATIVE=0) or missing, everything runs on wasm: the default
// resolves to wasm, 'native' is refused with a reason, and a missing addon is announced once.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import type * as TF from '@tensorflow/tfjs-core'
import { describe, expect, it, vi } from 'vitest'

// Before any project module loads: nativeStatus() reads it once.
process.env['TMAML_NATIVE'] = '0'
const tf = await import('@tensorflow/tfjs-core')
const { defaultBackend, initBackend, initBackendOrThrow, resolveBackendChoice } =
  await import('../../src/graph/backend.js')
const { nativeStatus } = await import('../../src/native/index.js')
const { availableBackends } = await import('../support/backends.js')
const { gradients } = await import('../../src/graph/autodiff.js')

describe('native fallback', () => {
  describe('TMAML_NATIVE=0', () => {
    it('leaves the addon unloaded and says why', () => {
      expect(nativeStatus()).toMatchObject({ active: false, reason: 'disabled by TMAML_NATIVE=0' })
    })

    it('resolves the default backend to wasm, without a notice (the user asked for it)', async () => {
      const write = vi.spyOn(process.stderr, 'write')
      expect(await defaultBackend()).toBe('wasm')
      expect(resolveBackendChoice(undefined, {})).toEqual(E.right('auto'))
      const info = await initBackend('auto')
      expect(E.isRight(info) && info.right).toMatchObject({ requested: 'auto', active: 'wasm' })
      expect(write).not.toHaveBeenCalled()
      write.mockRestore()
    })

    it('refuses --backend native with the reason', async () => {
      const r = await initBackend('native')
      expect(E.isLeft(r) && r.left._tag).toBe('ResourceError')
      expect(E.isLeft(r) && 'message' in r.left && r.left.message).toMatch(/TMAML_NATIVE=0/)
    })

    it('lists only cpu and wasm as available backends', async () => {
      expect(await availableBackends()).toEqual(['cpu', 'wasm'])
    })

    it('computes second-order gradients on the wasm default', async () => {
      await initBackendOrThrow(await defaultBackend())
      expect(tf.getBackend()).toBe('wasm')
      const x = tf.tensor1d([0.3, -0.7])
      // d/dx sum(d/dx sum(tanh x)) = -2 tanh(x) (1 - tanh(x)^2)
      const sum = (t: TF.Tensor): TF.Scalar => tf.sum(t)
      const g2 = gradients((p) => sum(gradients((q) => sum(tf.tanh(q['x'])))(p)['x']))({ x })
      const want = [0.3, -0.7].map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2))
      Array.from(g2['x'].dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5))
    })
  })

  describe('missing addon', () => {
    it('falls back to wasm and says so exactly once on stderr', () => {
      const fixture = fileURLToPath(new URL('./fixtures/resolveDefaultTwice.ts', import.meta.url))
      const env: Record<string, string | undefined> = { ...process.env, TMAML_NATIVE_ADDON: '/nonexistent/x.node' }
      delete env['TMAML_NATIVE']
      const r = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', env, timeout: 60_000 })
      expect(r.status, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ backend: 'wasm' })
      const notices = r.stderr.split('\n').filter((l) => l.startsWith('tmaml: native kernels unavailable'))
      expect(notices).toHaveLength(1)
      expect(notices[0]).toMatch(/not built/)
    })
  })
})
