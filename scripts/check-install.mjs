#!/usr/bin/env node
// Installing tmaml-ts from another project, as a user would: the `npm pack` tarball and a git
// dependency, each into a fresh temporary project whose strict TypeScript build (skipLibCheck false)
// must pass and which then runs a user estimator (a constant baseline written in terms) through a
// custom pipeline (its own stages and outer optimiser) with runTraining.
//
//   node scripts/check-install.mjs [--only tarball|git] [--keep]
//
// Needs `dist/` (npm ci builds it). Packages come from npm's cache where they are (--prefer-offline);
// scripts are not run (TMAML_NATIVE=0: the native addon is not rebuilt, the user code runs on wasm).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
const keep = args.includes('--keep')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const started = Date.now()
const log = (s) => process.stderr.write(`check-install: ${s} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`)

const fail = (msg) => {
  process.stderr.write(`check-install: FAILED: ${msg}\n`)
  process.exit(1)
}

const run = (cmd, argv, cwd, extraEnv = {}) => {
  const r = spawnSync(cmd, argv, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, TMAML_NATIVE: '0', npm_config_fund: 'false', npm_config_audit: 'false', ...extraEnv },
    timeout: 300_000
  })
  if (r.status !== 0)
    fail(`${cmd} ${argv.join(' ')} in ${cwd} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

if (!existsSync(join(root, 'dist', 'index.d.ts'))) fail('dist/ is missing: run npm ci (or npm run build) first')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const work = mkdtempSync(join(tmpdir(), 'tmaml-install-'))

// The user's project: a strict tsconfig that checks the package's declarations too.
const tsconfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false,
    outDir: 'out'
  },
  include: ['src']
}

// A user estimator and a custom pipeline, in the user's own TypeScript.
const main = `import * as fs from 'node:fs'
import * as path from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { tap } from 'rxjs'
import {
  type IterationContext,
  type OuterResult,
  type OuterStep,
  axpy,
  before,
  box,
  constant,
  dot,
  estimator,
  flatten,
  formatError,
  mul,
  oneMinus,
  own,
  prefix,
  resolveConfig,
  runTraining,
  standardIteration,
  term,
  vpgStep
} from 'tmaml-ts'

// DiCE with a constant baseline of -1, declared in terms.
const diceConstant = estimator({
  name: 'dice-constant',
  formula: 'sum_t box(A_t) r_t + (1 - box(l_t)) box(A_{<t}) (-1)',
  bias: 'none: a constant baseline is zero-mean at every order',
  terms: [term(box(prefix), 'reward'), term(mul(oneMinus(box(own)), box(before)), constant(-1))],
  unbiased: { grad: true, hvp: true, meta: true }
})

// VPG at half the step, as an optimiser of one's own, recording the step's length with the public
// parameter arithmetic.
const halfVpg: OuterStep = {
  name: 'vpg-half',
  step: (m, p, s, cfg) =>
    E.map((r: OuterResult) => {
      const d = flatten(axpy(r.params, -1, p))
      return { ...r, stats: { ...r.stats, stepLength: Math.sqrt(dot(d, d)) } }
    })(vpgStep(m, p, s, { ...cfg, outerLr: cfg.outerLr / 2 }))
}

const runDir = process.argv[2] ?? 'run'
const cfg = resolveConfig({
  env: 'point2d',
  estimator: diceConstant,
  controlVariate: 'linear',
  tasksPerBatch: 2,
  rolloutsPerTask: 3,
  horizon: 8,
  hidden: [4],
  iterations: 2,
  workers: 0,
  evalEvery: 0,
  backend: 'wasm',
  runDir
})
if (E.isLeft(cfg)) throw new Error(formatError(cfg.left))
let stagesRan = 0
const r = await runTraining(cfg.right, {
  outer: halfVpg,
  stages: (c$) => c$.pipe(standardIteration(), tap((_: IterationContext) => void stagesRan++)),
  tensorboard: false
})
if (E.isLeft(r)) throw new Error(formatError(r.left.error))
const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\\n').map((l) => JSON.parse(l) as Record<string, unknown>)
console.log(JSON.stringify({ status: r.right.status, stagesRan, estimators: lines.map((l) => l['estimator']), outers: lines.map((l) => l['outer']) }))
`

const project = (name, dependency) => {
  const dir = join(work, name)
  mkdirSync(join(dir, 'src'), { recursive: true })
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `user-of-tmaml-${name}`, version: '1.0.0', private: true, type: 'module' }, null, 2)
  )
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  writeFileSync(join(dir, 'src', 'main.ts'), main)
  log(`${name}: npm install ${dependency}`)
  // @types/node: the user's Node types, as any TypeScript project on Node has them.
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--ignore-scripts',
      '--no-package-lock',
      dependency,
      `@types/node@${pkg.devDependencies['@types/node']}`
    ],
    dir
  )
  log(`${name}: tsc (strict, skipLibCheck false)`)
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir)
  log(`${name}: node out/main.js`)
  const out = run(process.execPath, ['out/main.js', join(dir, 'run')], dir, { TMAML_BACKEND: 'wasm' })
  const result = JSON.parse(out.trim().split('\n').pop() ?? '{}')
  const want = {
    status: 'finished',
    stagesRan: 2,
    estimators: ['dice-constant', 'dice-constant'],
    outers: ['vpg-half', 'vpg-half']
  }
  if (JSON.stringify(result) !== JSON.stringify(want))
    fail(`${name}: the user's run printed ${JSON.stringify(result)}, expected ${JSON.stringify(want)}`)
  log(`${name}: ok ${JSON.stringify(result)}`)
}

try {
  if (only === undefined || only === 'tarball') {
    const packed = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], root)
      .trim()
      .split('\n')
      .pop()
    const tarball = join(work, packed)
    log(`packed ${tarball}`)
    project('tarball', tarball)
  }
  if (only === undefined || only === 'git') {
    // A git dependency installs what a commit holds: commit this tree (its work in progress too) to a
    // throwaway repository, as `npm install git+file://...` then clones, builds (prepare) and packs it.
    const repo = join(work, 'repo.git')
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root })
      .toString('utf8')
      .split('\0')
      .filter((f) => f !== '' && existsSync(join(root, f)))
    const tree = join(work, 'tree')
    mkdirSync(tree)
    run('git', ['init', '-q', tree], work)
    for (const f of files) {
      mkdirSync(dirname(join(tree, f)), { recursive: true })
      writeFileSync(join(tree, f), readFileSync(join(root, f)))
    }
    run('git', ['add', '-A'], tree)
    run('git', ['-c', 'user.name=check', '-c', 'user.email=check@localhost', 'commit', '-q', '-m', 'snapshot'], tree)
    run('git', ['clone', '-q', '--bare', tree, repo], work)
    // npm runs the package's prepare (tsc) in its clone, so a git dependency needs scripts on; the
    // native build is skipped (TMAML_NATIVE=0). Optional packages install as a user gets them: resvg's
    // prebuilt renderer is one, and the library's plots need it.
    const dir = join(work, 'git')
    mkdirSync(join(dir, 'src'), { recursive: true })
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'user-of-tmaml-git', version: '1.0.0', private: true, type: 'module' })
    )
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
    writeFileSync(join(dir, 'src', 'main.ts'), main)
    log(`git: npm install git+file://${repo}`)
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-package-lock',
        `git+file://${repo}`,
        `@types/node@${pkg.devDependencies['@types/node']}`
      ],
      dir
    )
    if (!existsSync(join(dir, 'node_modules', 'tmaml-ts', 'dist', 'index.js')))
      fail('git: the installed package has no dist/ (prepare did not run)')
    log('git: tsc (strict, skipLibCheck false)')
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir)
    log('git: node out/main.js')
    const out = run(process.execPath, ['out/main.js', join(dir, 'run')], dir, { TMAML_BACKEND: 'wasm' })
    const result = JSON.parse(out.trim().split('\n').pop() ?? '{}')
    if (result.status !== 'finished' || result.estimators?.[0] !== 'dice-constant')
      fail(`git: the user's run printed ${out}`)
    log(`git: ok ${JSON.stringify(result)}`)
  }
  process.stdout.write(
    `check-install: ${only ?? 'tarball and git'} installs pass in ${((Date.now() - started) / 1000).toFixed(0)} s\n`
  )
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true })
  else log(`kept ${work}`)
}
