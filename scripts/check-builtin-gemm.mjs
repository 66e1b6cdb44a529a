#!/usr/bin/env node
// Builds the native addon with its built-in GEMM (TMAML_NATIVE_GEMM=builtin: what a machine without
// OpenBLAS gets) in a temporary directory, leaving src/native/build alone, and checks it: `tmaml
// doctor` on it must report the built-in GEMM and pass the 1st-3rd derivative checks, then the
// native kernel and backend tests run against it (TMAML_NATIVE_ADDON), and the BatchMatMul tests again
// with the dispatch capped at AVX2 and at SSE2 (TMAML_NATIVE_SIMD). Exit code 0 when all pass.
// For CI (.ci/run), which installs OpenBLAS and so would otherwise never build this path.
//
//   node scripts/check-builtin-gemm.mjs [--keep]   (--keep: leave the build directory and print it)
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const keep = process.argv.includes('--keep')
const dir = mkdtempSync(join(tmpdir(), 'tmaml-builtin-gemm-'))
const addon = join(dir, 'build', 'Release', 'tmaml_native.node')
const env = { ...process.env, TMAML_NATIVE_ADDON: addon }
delete env.TMAML_NATIVE

const fail = (why) => {
  console.error(`check-builtin-gemm: ${why}`)
  if (!keep) rmSync(dir, { recursive: true, force: true })
  process.exit(1)
}
const run = (what, cmd, args, opts = {}) => {
  const t0 = Date.now()
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
  if (r.status !== 0) fail(`${what} failed (exit ${r.status ?? r.signal})`)
  console.log(`check-builtin-gemm: ${what} ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  return r
}

run('build', process.execPath, ['scripts/build-native.mjs', '--gemm', 'builtin', '--out', dir, '--strict'])

const t0 = Date.now()
const doctor = spawnSync(process.execPath, ['bin/tmaml.js', 'doctor', '--json', '--backend', 'native'], {
  cwd: root,
  env,
  encoding: 'utf8'
})
let report
try {
  report = JSON.parse(doctor.stdout)
} catch {
  fail(`tmaml doctor printed no JSON (exit ${doctor.status}): ${doctor.stderr.trim()}`)
}
if (report.native?.active !== true)
  fail(`the built-in-GEMM addon is inactive: ${report.native?.reason ?? report.error}`)
if (report.native.gemm !== 'builtin') fail(`tmaml doctor reports gemm=${report.native.gemm}, not builtin`)
if (doctor.status !== 0 || report.higherOrderOk !== true)
  fail(`derivative checks failed on the built-in GEMM: ${JSON.stringify(report.checks.filter((c) => !c.ok))}`)
console.log(
  `check-builtin-gemm: doctor ok (${report.native.blas}; ${report.checks.length} derivative checks, orders 1-3; ${((Date.now() - t0) / 1000).toFixed(1)} s)`
)

run(
  'native tests',
  process.execPath,
  [
    join(root, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    'test/native/kernels.test.ts',
    'test/native/backend.test.ts'
  ],
  { env }
)
// The lower instruction-set copies of the built-in GEMM (this machine may well have AVX-512).
for (const simd of ['avx2', 'sse2'])
  run(
    `BatchMatMul tests at TMAML_NATIVE_SIMD=${simd}`,
    process.execPath,
    [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/native/kernels.test.ts', '-t', 'BatchMatMul'],
    { env: { ...env, TMAML_NATIVE_SIMD: simd } }
  )
if (keep) console.log(`check-builtin-gemm: addon kept at ${addon}`)
else rmSync(dir, { recursive: true, force: true })
