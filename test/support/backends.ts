// The backends every backend-parameterised test runs on.
import type { BackendChoice } from '../../src/graph/backend.js'

/** cpu and wasm always; further backends are added here when they are available on this machine. */
export const availableBackends = async (): Promise<ReadonlyArray<BackendChoice>> => ['cpu', 'wasm']
