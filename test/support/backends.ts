/**
 * The tfjs backends a backend-parametrised test suite should run on in this process: `cpu` and
 * `wasm` always, plus `native` when its OpenBLAS addon is built, enabled (TMAML_NATIVE is not 0) and
 * passed its self-check. A suite iterates over the list and calls `initBackendOrThrow(b)` for each.
 *
 * @example
 * for (const b of await availableBackends()) describe(b, () => { ... })
 */
import type { BackendChoice } from '../../src/graph/backend.js'
import { nativeStatus } from '../../src/native/index.js'

export const availableBackends = async (): Promise<ReadonlyArray<BackendChoice>> =>
  nativeStatus().active ? ['cpu', 'wasm', 'native'] : ['cpu', 'wasm']
