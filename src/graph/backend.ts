/**
 * Choosing and starting the tfjs backend, and installing the higher-order-safe gradient layer.
 *
 * Backends: `native` (default when its OpenBLAS addon is built and passes its self-check; src/native),
 * `wasm` (the default otherwise; tfjs-backend-wasm, SIMD, ships in the npm package), `cpu` (pure JS),
 * `tensorflow` / `tensorflow-gpu` (when the optional @tensorflow/tfjs-node / -node-gpu packages are
 * installed; they download libtensorflow at install time, which may be impossible offline).
 * The choice comes from a flag or config, else the TMAML_BACKEND environment variable, else `'auto'`:
 * the default, decided when the backend is started. Every run reports `BackendInfo` so results say
 * what produced them.
 *
 * Importing this module does nothing: the backend packages, the native addon and its self-check are
 * loaded by `initBackend` (or `defaultBackend`), the first time they are needed.
 *
 * @example
 * const info = await startBackend(flags.backend, process.env)   // resolve + init
 * if (E.isLeft(info)) { console.error(formatError(info.left)); process.exit(1) }
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os'
import * as tf from '@tensorflow/tfjs-core'
import * as E from 'fp-ts/lib/Either.js'
import { absurd } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { type TmamlError, invalidInput, resourceError } from '../base/errors.js'
import { registerSegmentSum, registerStopGradientKernel } from './kernels/kernels.js'
import { registerGradients } from './kernels/registerAll.js'

/** The backends a user can ask for. */
export const BackendChoice = t.keyof({ native: null, wasm: null, cpu: null, tensorflow: null, 'tensorflow-gpu': null })
export type BackendChoice = t.TypeOf<typeof BackendChoice>

/** A backend, or `'auto'`: the default, `defaultBackend()`. */
export type BackendRequest = BackendChoice | 'auto'

/** The native addon's module, loaded on first use (it loads the addon and runs its self-check). */
const native = () => import('../native/index.js')

/**
 * `native` when the addon loads and passes its self-check (decided on the first call, once per
 * process), else `wasm`.
 */
export const defaultBackend = async (): Promise<BackendChoice> =>
  (await native()).nativeStatus().active ? 'native' : 'wasm'

/** What a run actually used. */
export interface BackendInfo {
  /** What was asked for. */
  readonly requested: BackendRequest
  /** The tfjs backend name now active (tfjs-node and tfjs-node-gpu both register 'tensorflow'). */
  readonly active: string
  /** Human-readable notes (e.g. SIMD on/off). */
  readonly notes: ReadonlyArray<string>
}

/**
 * The backend to use: `flag` if given, else `env.TMAML_BACKEND`, else `'auto'`. An unknown name is
 * an error naming where it came from and the accepted values.
 */
export const resolveBackendChoice = (
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>
): E.Either<TmamlError, BackendRequest> => {
  const [value, source] =
    flag !== undefined
      ? [flag, '--backend']
      : env['TMAML_BACKEND'] !== undefined
        ? [env['TMAML_BACKEND'], 'TMAML_BACKEND']
        : ['auto', 'default']
  return value === 'auto' || BackendChoice.is(value)
    ? E.right(value)
    : E.left(
        invalidInput(
          source,
          `unknown backend '${value}'; expected one of ${Object.keys(BackendChoice.keys).join(', ')}`
        )
      )
}

let gradientLayerInstalled = false

/**
 * Install the gradient layer (idempotent). Safe to call before or after backends are registered; it
 * must run after any import that registers stock gradients (tfjs-node does), which `initBackend`
 * guarantees.
 */
export const installGradientLayer = (): void => {
  registerGradients()
  gradientLayerInstalled = true
}

/** Whether `installGradientLayer` has run in this thread. */
export const gradientLayerActive = (): boolean => gradientLayerInstalled

/** The package that registers a backend, imported when that backend is started. */
const loadBackend = async (choice: BackendChoice): Promise<E.Either<TmamlError, void>> => {
  switch (choice) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm')
      return E.right(undefined)
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu')
      return E.right(undefined)
    case 'native': {
      const status = (await native()).nativeStatus()
      return status.active
        ? E.right(undefined)
        : E.left(resourceError(`backend 'native'`, `${status.reason ?? 'unavailable'}; use --backend wasm`))
    }
    case 'tensorflow':
      return loadOptional('@tensorflow/tfjs-node', choice)
    case 'tensorflow-gpu':
      return loadOptional('@tensorflow/tfjs-node-gpu', choice)
    default:
      return absurd(choice)
  }
}

const loadOptional = async (pkg: string, choice: BackendChoice): Promise<E.Either<TmamlError, void>> => {
  try {
    await import(pkg)
    return E.right(undefined)
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    return E.left(
      resourceError(
        `backend '${choice}'`,
        `could not load ${pkg} (${why}). It is an optional dependency whose install downloads libtensorflow; ` +
          `install it where that is possible, or use --backend wasm`
      )
    )
  }
}

/**
 * Start `request` (`'auto'`: `defaultBackend()`, announcing once on stderr when that falls back to wasm
 * because the addon is missing or failed its self-check): load its package, register the
 * stop-gradient kernel (and wasm's missing UnsortedSegmentSum), install the gradient layer, make it
 * the active backend.
 */
export const initBackend = async (request: BackendRequest): Promise<E.Either<TmamlError, BackendInfo>> => {
  const choice = request === 'auto' ? await defaultBackend() : request
  if (request === 'auto' && choice !== 'native') (await native()).noteNativeFallback()
  const loaded = await loadBackend(choice)
  if (E.isLeft(loaded)) return loaded
  const name = choice === 'tensorflow-gpu' ? 'tensorflow' : choice
  if (tf.findBackendFactory(name) === null) {
    return E.left(resourceError(`backend '${choice}'`, `tfjs has no backend named '${name}' registered`))
  }
  registerSegmentSum(name)
  installGradientLayer()
  // Silences tfjs's console advertisement for tfjs-node; tmaml reports the backend itself.
  tf.enableProdMode()
  let ok: boolean
  try {
    ok = await tf.setBackend(name)
    await tf.ready()
  } catch (err) {
    return E.left(
      resourceError(`backend '${choice}'`, `failed to initialise: ${err instanceof Error ? err.message : String(err)}`)
    )
  }
  if (!ok) return E.left(resourceError(`backend '${choice}'`, 'tfjs refused to initialise it'))
  registerStopGradientKernel(name)
  const notes: string[] = []
  if (name === 'wasm') notes.push(`simd=${String(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'))}`)
  if (name === 'native') {
    const mod = await native()
    setThreads = mod.setNativeKernelThreads
    const status = mod.nativeStatus()
    notes.push(`gemm=${status.gemm ?? '?'}`, `blas=${status.blas ?? '?'}`, `simd=${status.simd ?? '?'}`)
  }
  return E.right({ requested: request, active: tf.getBackend(), notes })
}

/** The active backend's kernel-thread setter (the native backend's; others have none). */
let setThreads: ((n: number) => number) | undefined

/**
 * `f()` with the active backend's largest kernels split over `threads` threads (0: the machine's
 * cores), the previous count
 * restored afterwards (also when `f` throws). Only the native backend has kernel threads; on the others
 * this is `f()`. Results do not depend on the count. For work that runs while no sampler worker does
 * (a training run's outer step): threads beyond the idle cores only compete.
 */
export const withKernelThreads = <A>(threads: number, f: () => A): A => {
  if (setThreads === undefined || tf.getBackend() !== 'native' || threads === 1) return f()
  const previous = setThreads(threads === 0 ? availableParallelism() : threads)
  try {
    return f()
  } finally {
    setThreads(previous)
  }
}

/** `resolveBackendChoice(flag, env)` then `initBackend`: how a command starts its backend. */
export const startBackend = async (
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>
): Promise<E.Either<TmamlError, BackendInfo>> => {
  const request = resolveBackendChoice(flag, env)
  return E.isLeft(request) ? request : initBackend(request.right)
}

/** `initBackend`, throwing on failure: for scripts, benchmarks and tests where failure is a bug. */
export const initBackendOrThrow = async (choice: BackendRequest): Promise<BackendInfo> => {
  const r = await initBackend(choice)
  if (E.isLeft(r)) throw new Error(`${r.left._tag}: ${'message' in r.left ? r.left.message : ''}`)
  return r.right
}
