#!/usr/bin/env node
// Builds the native kernels (src/native) with node-gyp against the installed Node headers
// (--nodedir: nothing is downloaded). The GEMM is OpenBLAS's when its headers are found (Debian's
// libopenblas-dev), else the addon's own (csrc/gemm_builtin.h), which needs only the C++ compiler;
// if an OpenBLAS build fails, the built-in one is tried before giving up. Runs as the package's
// `install` script, so `npm install` / `npm ci` build it; it NEVER fails them: any problem prints one
// line and exits 0, and the project then falls back to the wasm backend.
//
//   node scripts/build-native.mjs              quiet; skips when the build is newer than its sources
//   node scripts/build-native.mjs --verbose    show node-gyp's output (npm run build:native)
//   node scripts/build-native.mjs --force      rebuild even when up to date
//   node scripts/build-native.mjs --strict     exit 1 on failure (for CI jobs that require the addon)
//   node scripts/build-native.mjs --gemm builtin|openblas|auto   as TMAML_NATIVE_GEMM
//   node scripts/build-native.mjs --out DIR    build a copy of the sources in DIR (the addon lands in
//                                              DIR/build/Release; src/native/build is not touched)
//
// TMAML_NATIVE=0 skips the build; TMAML_NATIVE_GEMM=builtin builds without OpenBLAS even when it is
// installed (openblas: require it; auto, the default: OpenBLAS when found).
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chooseGemm, openblasInclude } from '../src/native/blasFlags.mjs'

const { values: args } = parseArgs({
  options: {
    verbose: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    gemm: { type: 'string' },
    out: { type: 'string' }
  }
})
const root = dirname(dirname(fileURLToPath(import.meta.url)))
const sourceDir = join(root, 'src', 'native')

const done = (ok, line) => {
  console.log(`tmaml: ${line}`)
  process.exit(ok || !args.strict ? 0 : 1)
}
const notBuilt = (why) => done(false, `native kernels not built (${why}); the wasm backend will be used`)

if (['0', 'false', 'off', 'no'].includes((process.env.TMAML_NATIVE ?? '').toLowerCase()))
  done(true, 'native kernels skipped (TMAML_NATIVE=0)')

const found = openblasInclude() !== ''
const choice = chooseGemm(args.gemm ?? process.env.TMAML_NATIVE_GEMM, found)
if (choice.error !== undefined) notBuilt(choice.error)

// Where to build: src/native itself, or a copy of its build inputs in --out.
const sources = ['binding.gyp', 'blasFlags.mjs', 'csrc']
const nativeDir = args.out === undefined ? sourceDir : resolve(args.out)
if (args.out !== undefined) {
  mkdirSync(nativeDir, { recursive: true })
  for (const s of sources) cpSync(join(sourceDir, s), join(nativeDir, s), { recursive: true })
}
const addon = join(nativeDir, 'build', 'Release', 'tmaml_native.node')
// The GEMM of the last successful build, so that switching TMAML_NATIVE_GEMM (or installing
// OpenBLAS) rebuilds even when no source changed.
const stamp = join(nativeDir, 'build', 'tmaml-gemm')
const shown = addon.startsWith(`${root}/`) ? relative(root, addon) : addon

// Up to date: the addon is newer than every source and was built with the GEMM wanted now.
const inputs = [
  join(sourceDir, 'binding.gyp'),
  join(sourceDir, 'blasFlags.mjs'),
  ...readdirSync(join(sourceDir, 'csrc')).map((f) => join(sourceDir, 'csrc', f))
]
if (!args.force && args.out === undefined && existsSync(addon) && existsSync(stamp)) {
  const built = statSync(addon).mtimeMs
  const sameGemm = readFileSync(stamp, 'utf8').trim() === choice.gemm
  if (sameGemm && inputs.every((s) => statSync(s).mtimeMs < built)) done(true, 'native kernels up to date')
}

// Node headers: npm's nodedir setting, else the prefix of the running node (/usr/include/node).
const headersAt = (dir) => existsSync(join(dir, 'include', 'node', 'node_api.h'))
const nodedir = [process.env.npm_config_nodedir, dirname(dirname(process.execPath))].find(
  (d) => d !== undefined && d !== '' && headersAt(d)
)
if (nodedir === undefined) notBuilt(`no Node headers (include/node/node_api.h) next to ${process.execPath}`)

// node-gyp: the one npm runs scripts with, else npm's bundled copy, else one on PATH.
const npmBundled = join(
  dirname(dirname(process.execPath)),
  'lib',
  'node_modules',
  'npm',
  'node_modules',
  'node-gyp',
  'bin',
  'node-gyp.js'
)
const gypJs = [process.env.npm_config_node_gyp, npmBundled].find((p) => p !== undefined && p !== '' && existsSync(p))
const gyp = gypJs !== undefined ? [process.execPath, [gypJs]] : ['node-gyp', []]

/** One node-gyp rebuild with `gemm`; null on success, else the first error line. */
const build = (gemm) => {
  const r = spawnSync(gyp[0], [...gyp[1], 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'], {
    cwd: nativeDir,
    encoding: 'utf8',
    stdio: args.verbose ? 'inherit' : 'pipe',
    env: { ...process.env, npm_config_nodedir: nodedir, TMAML_NATIVE_GEMM: gemm }
  })
  if (r.error !== undefined) return `could not run node-gyp: ${r.error.message}`
  if (r.status !== 0) {
    const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').filter((l) => /error/i.test(l))
    return `node-gyp failed: ${(lines[0] ?? `exit ${r.status}`).trim().slice(0, 200)}; details: npm run build:native`
  }
  if (!existsSync(addon)) return `node-gyp produced no ${addon}`
  writeFileSync(stamp, `${gemm}\n`)
  return null
}

const first = build(choice.gemm)
if (first === null)
  done(
    true,
    choice.gemm === 'openblas'
      ? `native kernels built with OpenBLAS (${shown})`
      : `native kernels built with the built-in GEMM (${shown}; ${found ? 'TMAML_NATIVE_GEMM=builtin' : 'OpenBLAS headers not found: apt-get install libopenblas-dev pkg-config for OpenBLAS'})`
  )
// OpenBLAS chosen because its headers exist, but the build failed (e.g. no library to link): the
// built-in GEMM needs nothing more than the compiler that just ran.
const explicit = (args.gemm ?? process.env.TMAML_NATIVE_GEMM ?? '').trim().toLowerCase() === 'openblas'
if (choice.gemm === 'openblas' && !explicit) {
  const second = build('builtin')
  if (second === null)
    done(true, `native kernels built with the built-in GEMM (${shown}; the OpenBLAS build failed: ${first})`)
  notBuilt(second)
}
notBuilt(first)
