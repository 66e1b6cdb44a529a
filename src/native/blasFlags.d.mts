// Types of blasFlags.mjs (a plain script, since binding.gyp runs it with node before any build).

/** OpenBLAS's include directories (space-separated), or '' when no cblas.h is found. */
export declare const openblasInclude: () => string

/** OpenBLAS's linker flags. */
export declare const openblasLibs: () => string

/** The GEMM to build with, from TMAML_NATIVE_GEMM and whether OpenBLAS's headers were found. */
export declare const chooseGemm: (
  setting: string | undefined,
  openblasFound: boolean
) =>
  | { readonly gemm: 'openblas' | 'builtin'; readonly error?: undefined }
  | { readonly gemm?: undefined; readonly error: string }
