#!/usr/bin/env node
// Builds the native kernels (src/native) with node-gyp against the installed Node headers
// (--nodedir: nothing is downloaded) and Debian's libopenblas-dev. Runs as the package's `install`
// script, so `npm install` / `npm ci` build it; it NEVER fails them: any problem prints one line and
// exits 0, and the project then falls back to the wasm backend.
//
//   node scripts/build-native.mjs            quiet; skips when the build is newer than its sources
//   node scripts/build-native.mjs --verbose  show node-gyp's output (npm run build:native)
//   node scripts/build-native.mjs --force    rebuild even when up to date
//   node scripts/build-native.mjs --strict   exit 1 on failure (for CI jobs that require the addon)
//
// TMAML_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = new Set(process.argv.slice(2))
const verbose = args.has('--verbose')
const strict = args.has('--strict')
const root = dirname(dirname(fileURLToPath(import.meta.url)))
const nativeDir = join(root, 'src', 'native')
const addon = join(nativeDir, 'build', 'Release', 'tmaml_native.node')

const done = (ok, line) => {
  console.log(`tmaml: ${line}`)
  process.exit(ok || !strict ? 0 : 1)
}
const notBuilt = (why) => done(false, `native kernels not built (${why}); the wasm backend will be used`)

if (['0', 'false', 'off', 'no'].includes((process.env.TMAML_NATIVE ?? '').toLowerCase()))
  done(true, 'native kernels skipped (TMAML_NATIVE=0)')

// Up to date: the addon is newer than every source.
const sources = [
  join(nativeDir, 'binding.gyp'),
  join(nativeDir, 'blasFlags.mjs'),
  ...readdirSync(join(nativeDir, 'csrc')).map((f) => join(nativeDir, 'csrc', f))
]
if (!args.has('--force') && existsSync(addon)) {
  const built = statSync(addon).mtimeMs
  if (sources.every((s) => statSync(s).mtimeMs < built)) done(true, 'native kernels up to date')
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

// OpenBLAS headers: fail early with the package to install.
const include = spawnSync(process.execPath, [join(nativeDir, 'blasFlags.mjs'), 'include'], { encoding: 'utf8' })
if (include.status !== 0 || include.stdout.trim() === '')
  notBuilt('OpenBLAS headers not found; on Debian/Ubuntu: apt-get install libopenblas-dev')

const r = spawnSync(gyp[0], [...gyp[1], 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'], {
  cwd: nativeDir,
  encoding: 'utf8',
  stdio: verbose ? 'inherit' : 'pipe',
  env: { ...process.env, npm_config_nodedir: nodedir }
})
if (r.error !== undefined) notBuilt(`could not run node-gyp: ${r.error.message}`)
if (r.status !== 0) {
  const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').filter((l) => /error/i.test(l))
  notBuilt(`node-gyp failed: ${(lines[0] ?? `exit ${r.status}`).trim().slice(0, 200)}; details: npm run build:native`)
}
if (!existsSync(addon)) notBuilt(`node-gyp produced no ${addon}`)
done(true, 'native kernels built (src/native/build/Release/tmaml_native.node)')
