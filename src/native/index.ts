/**
 * Native CPU kernels for tfjs: OpenBLAS sgemm and vectorised element-wise loops behind a backend
 * named `native`. See README.md.
 *
 * @packageDocumentation
 */
export {
  type NativeStatus,
  nativeStatus,
  noteNativeFallback,
  nativeDisabledByEnv,
  registerNativeBackend,
  nativeKernelConfigs,
  setNativeKernelThreads
} from './nativeBackend.js'
export { type NativeAddon, type AddonLoad, loadAddon, addonPath } from './addon.js'
export { nativeBackendName } from './kernels/support.js'
