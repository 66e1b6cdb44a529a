import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { nativeStatus } from '../../src/native/index.js'

const tmaml = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/tmaml.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env } })

describe('tmaml doctor', () => {
  it('reports the backend and passing higher-order checks as JSON, exit code 0', () => {
    const r = tmaml(['doctor', '--json', '--backend', 'wasm'])
    expect(r.status).toBe(0)
    const report = JSON.parse(r.stdout) as {
      backend: string
      higherOrderOk: boolean
      checks: Array<{ ok: boolean; order: number }>
    }
    expect(report.backend).toBe('wasm')
    expect(report.higherOrderOk).toBe(true)
    expect(report.checks.some((c) => c.order === 3)).toBe(true)
    expect(report.checks.every((c) => c.ok)).toBe(true)
  })

  it.skipIf(!nativeStatus().active)('says which GEMM the native backend multiplies with', () => {
    const r = tmaml(['doctor', '--json', '--backend', 'native'])
    expect(r.status, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as {
      backend: string
      backendNotes: ReadonlyArray<string>
      native: { gemm: string; blas: string }
      higherOrderOk: boolean
    }
    expect(report.backend).toBe('native')
    expect(report.higherOrderOk).toBe(true)
    expect(['openblas', 'builtin']).toContain(report.native.gemm)
    expect(report.native.gemm).toBe(nativeStatus().gemm)
    expect(report.backendNotes).toContain(`gemm=${report.native.gemm}`)
  })

  it('takes the backend from TMAML_BACKEND', () => {
    const r = tmaml(['doctor', '--json'], { TMAML_BACKEND: 'cpu' })
    expect(r.status).toBe(0)
    expect((JSON.parse(r.stdout) as { backend: string }).backend).toBe('cpu')
  })

  it('rejects an unknown backend naming the source and the accepted values, exit code 1', () => {
    const r = tmaml(['doctor'], { TMAML_BACKEND: 'gpu9000' })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain("TMAML_BACKEND: unknown backend 'gpu9000'")
    expect(r.stderr).toContain('wasm')
  })

  it('rejects an unknown flag with usage, exit code 2', () => {
    const r = tmaml(['doctor', '--bogus'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('usage: tmaml doctor')
  })

  it('lists commands for --help and fails on an unknown command', () => {
    expect(tmaml(['--help']).stdout).toContain('doctor')
    expect(tmaml(['frobnicate']).status).toBe(2)
  })
})
