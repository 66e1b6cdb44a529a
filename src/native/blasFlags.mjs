// Which GEMM the addon is built with, and OpenBLAS's compiler and linker flags, for binding.gyp
// (`node blasFlags.mjs gemm|include|libs`) and scripts/build-native.mjs (which imports it).
//
//   gemm     "openblas" when OpenBLAS's cblas.h is found, else "builtin" (the addon's own GEMM,
//            csrc/gemm_builtin.h); TMAML_NATIVE_GEMM=builtin|openblas|auto overrides the choice.
//   include  OpenBLAS's include directory: pkg-config when it knows openblas, else the Debian/Ubuntu
//            and common install locations; empty when not found.
//   libs     OpenBLAS's linker flags.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const pkgConfig = (flag) => {
  try {
    return execFileSync('pkg-config', [flag, 'openblas'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim()
  } catch {
    return null
  }
}

const candidates = [
  '/usr/include/x86_64-linux-gnu/openblas-pthread',
  '/usr/include/aarch64-linux-gnu/openblas-pthread',
  '/usr/include/x86_64-linux-gnu/openblas-openmp',
  '/usr/include/openblas',
  '/usr/local/include/openblas',
  '/opt/homebrew/opt/openblas/include',
  '/usr/local/opt/openblas/include'
]

/** OpenBLAS's include directories (space-separated), or '' when no cblas.h is found. */
export const openblasInclude = () => {
  const flags = pkgConfig('--cflags-only-I')
  if (flags !== null && flags !== '')
    return flags
      .split(/\s+/)
      .map((f) => f.replace(/^-I/, ''))
      .join(' ')
  return candidates.find((d) => existsSync(`${d}/cblas.h`)) ?? ''
}

/** OpenBLAS's linker flags. */
export const openblasLibs = () => {
  const flags = pkgConfig('--libs')
  return flags !== null && flags !== '' ? flags : '-lopenblas'
}

/**
 * The GEMM to build with, from TMAML_NATIVE_GEMM (builtin, openblas, auto or unset) and whether
 * OpenBLAS's headers were found: `{ gemm }`, or `{ error }` naming the variable and its values.
 */
export const chooseGemm = (setting, openblasFound) => {
  const s = (setting ?? '').trim().toLowerCase()
  if (s === 'builtin' || s === 'openblas') return { gemm: s }
  if (s === '' || s === 'auto') return { gemm: openblasFound ? 'openblas' : 'builtin' }
  return { error: `TMAML_NATIVE_GEMM=${setting} is not one of builtin, openblas, auto` }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const what = process.argv[2]
  if (what === 'gemm') {
    const c = chooseGemm(process.env.TMAML_NATIVE_GEMM, openblasInclude() !== '')
    if (c.error !== undefined) {
      console.error(c.error)
      process.exit(2)
    }
    console.log(c.gemm)
  } else if (what === 'include') console.log(openblasInclude())
  else if (what === 'libs') console.log(openblasLibs())
  else {
    console.error('usage: node blasFlags.mjs gemm|include|libs')
    process.exit(2)
  }
}
