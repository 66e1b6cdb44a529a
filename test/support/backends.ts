/**
 * The tfjs backends a backend-parametrised test suite should run on in this process: `cpu` and
 * `wasm` always, plus `native` when its OpenBLAS addon is built, enabled (TMAML_NATIVE is not 0) and
 * passed its self-check. A suite iterates over the list and calls `initBackendOrThrow(b)` for each.
 *
 * @example
 * for (const b of await availableBackends()) describe(b, () => { ... })
 */
import type { BackendChoice } from '../../src/graph/backend.js'
import { describe, expect, it } from 'vitest'
import { nativeDisabledByEnv, nativeStatus } from '../../src/native/index.js'

export const availableBackends = async (): Promise<ReadonlyArray<BackendChoice>> =>
  nativeStatus().active ? ['cpu', 'wasm', 'native'] : ['cpu', 'wasm']

/**
 * `describe(title, body)` for a suite that needs the native backend. When the backend is inactive the
 * suite is replaced by one test that says why, and that test FAILS when the addon is built but does
 * not load or pass its self-check (a broken build must not look like a skip), or when
 * TMAML_REQUIRE_NATIVE=1 (CI sets it where it installed OpenBLAS). Disabled on purpose
 * (TMAML_NATIVE=0), or not built on a machine without OpenBLAS, it passes — under a title that says
 * SKIPPED, so the reporter shows it.
 */
export const describeNative = (title: string, body: () => void): void => {
  const s = nativeStatus()
  if (s.active) {
    describe(title, body)
    return
  }
  const required = process.env['TMAML_REQUIRE_NATIVE'] === '1'
  const broken = s.built && !nativeDisabledByEnv()
  describe(`${title}: SKIPPED`, () => {
    it(`native backend inactive: ${s.reason ?? 'unknown reason'}`, () => {
      if (broken) expect.fail(`the native addon is built but inactive: ${s.reason ?? '?'}`)
      if (required) expect.fail(`TMAML_REQUIRE_NATIVE=1 but the native backend is inactive: ${s.reason ?? '?'}`)
      console.warn(`native suite '${title}' SKIPPED: ${s.reason ?? '?'}`)
    })
  })
}
