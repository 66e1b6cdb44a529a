/**
 * The `native` tfjs backend: a MathBackendCPU whose hot forward kernels run in the OpenBLAS addon.
 * Every cpu kernel is registered under 'native' as well, so anything without a native fast path
 * (other dtypes, unusual shapes, kernels not listed here) runs the stock cpu code on the same
 * storage. Gradients are registered per kernel name, not per backend, so the higher-order gradient
 * layer (src/graph/kernels) applies unchanged; the stock `cpu` backend stays intact for comparisons.
 *
 * @example
 * const s = nativeStatus() // loads the addon, self-checks, registers 'native' (once)
 * if (s.active) await tf.setBackend('native')
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { type GemmKind, type NativeAddon, addonPath, loadAddon } from './addon.js'
import { binaryKernels } from './kernels/binary.js'
import { tileKernel, transposeKernel } from './kernels/layout.js'
import { cumsumKernel } from './kernels/cumsum.js'
import { matMulKernel } from './kernels/matMul.js'
import { reduceKernels } from './kernels/reduce.js'
import { nativeBackendName } from './kernels/support.js'
import { unaryKernels } from './kernels/unary.js'
import { selfCheck } from './selfCheck.js'
import { NativeBackend } from './storage.js'
import { existsSync } from 'node:fs'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/**
 * Whether the native backend can be used. `built`: the addon file exists. `active`: it loaded,
 * passed the self-check and the `native` backend is registered. `reason`: why not, when inactive.
 * `gemm`: the GEMM behind BatchMatMul (`openblas`, or `builtin` when the addon was built without
 * OpenBLAS: see README.md, Build); `blas`: its build string (e.g. "OpenBLAS 0.3.21 ... Haswell", or
 * "built-in sgemm, avx512 12x32 tiles"); `simd`: the instruction set the element-wise loops dispatch to.
 *
 * @category model
 * @since 0.1.0
 */
export interface NativeStatus {
  readonly built: boolean
  readonly active: boolean
  readonly reason?: string
  readonly gemm?: GemmKind
  readonly blas?: string
  readonly simd?: string
}

// ---------------------------------------------------------------------------------------------
// kernels
// ---------------------------------------------------------------------------------------------

/**
 * Every native kernel config (backendName 'native').
 *
 * @category kernels
 * @since 0.1.0
 */
export const nativeKernelConfigs = (addon: NativeAddon): ReadonlyArray<tf.KernelConfig> => [
  matMulKernel(addon),
  ...unaryKernels(addon),
  ...binaryKernels(addon),
  ...reduceKernels(addon),
  transposeKernel(addon),
  tileKernel(addon),
  cumsumKernel()
]

/**
 * Register the `native` backend and its kernels: the cpu kernel configs under 'native', then the
 * native ones in their place. Idempotent.
 *
 * @category kernels
 * @since 0.1.0
 */
export const registerNativeBackend = (addon: NativeAddon, priority = 0): void => {
  const natives = nativeKernelConfigs(addon)
  const nativeNames = new Set(natives.map((k) => k.kernelName))
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (nativeNames.has(k.kernelName) || tf.getKernel(k.kernelName, nativeBackendName) !== undefined) continue
    tf.registerKernel({ ...k, backendName: nativeBackendName })
  }
  for (const k of natives) {
    if (tf.getKernel(k.kernelName, nativeBackendName) !== undefined)
      tf.unregisterKernel(k.kernelName, nativeBackendName)
    tf.registerKernel(k)
  }
  if (tf.findBackendFactory(nativeBackendName) === null)
    tf.registerBackend(nativeBackendName, () => new NativeBackend(), priority)
}

// ---------------------------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------------------------

let status: NativeStatus | undefined
/** The addon behind the registered backend (set when the self-check passed). */
let activeAddon: NativeAddon | undefined

/** TMAML_NATIVE=0 (or false/off/no) disables the addon at run time. */
export const nativeDisabledByEnv = (env: Readonly<Record<string, string | undefined>> = process.env): boolean =>
  ['0', 'false', 'off', 'no'].includes((env['TMAML_NATIVE'] ?? '').trim().toLowerCase())

const computeStatus = (): NativeStatus => {
  const path = process.env['TMAML_NATIVE_ADDON'] ?? addonPath
  const built = existsSync(path)
  if (nativeDisabledByEnv()) return { built, active: false, reason: 'disabled by TMAML_NATIVE=0' }
  const loaded = loadAddon(path)
  if (loaded._tag !== 'Loaded') return { built, active: false, reason: loaded.reason }
  const { gemm, blas, simd } = loaded.addon.info()
  // Register the kernels under a scratch name first, so a failed check leaves no 'native' behind.
  const probe = `${nativeBackendName}-selfcheck`
  for (const k of nativeKernelConfigs(loaded.addon)) tf.registerKernel({ ...k, backendName: probe })
  const failure = selfCheck(probe)
  for (const k of tf.getKernelsForBackend(probe)) tf.unregisterKernel(k.kernelName, probe)
  if (failure !== null) return { built, active: false, reason: `self-check failed: ${failure}`, gemm, blas, simd }
  registerNativeBackend(loaded.addon)
  activeAddon = loaded.addon
  return { built, active: true, gemm, blas, simd }
}

/**
 * The native backend's status. The first call loads the addon (unless TMAML_NATIVE=0; from
 * TMAML_NATIVE_ADDON if set, else the node-gyp build in src/native/build), runs the self-check and,
 * if it passes, registers the `native` tfjs backend; later calls return the same value. Never throws.
 *
 * @category status
 * @since 0.1.0
 */
export const nativeStatus = (): NativeStatus => {
  if (status === undefined) status = computeStatus()
  return status
}

let noticeShown = false

/**
 * Say once per process, on stderr, that the default backend fell back to wasm because the addon is
 * missing or failed its self-check. Silent when the user disabled it (TMAML_NATIVE=0) or it is active.
 *
 * @category status
 * @since 0.1.0
 */
export const noteNativeFallback = (write: (line: string) => void = (l) => process.stderr.write(l)): void => {
  const s = nativeStatus()
  if (noticeShown || s.active || nativeDisabledByEnv()) return
  noticeShown = true
  write(`tmaml: native kernels unavailable (${s.reason ?? 'unknown'}); using the wasm backend\n`)
}

/**
 * Set how many threads the native kernels split their largest work over (see `NativeAddon.setThreads`)
 * and return the previous count; 1 and a no-op when the native backend is not loaded.
 *
 * @category status
 * @since 0.1.0
 */
export const setNativeKernelThreads = (n: number): number => {
  if (activeAddon === undefined) return 1
  const previous = activeAddon.threads()
  activeAddon.setThreads(n)
  return previous
}
