/**
 * `tmaml estimators list [--json]` and
 * `tmaml estimators check [--json] [--samples N] [--seed S] [--mdps M] [--baseline value|poor|none]
 *                         [--estimator a,b] [--module file.js] [--exact] [--backend b]`
 *
 * check: for each estimator, on random tabular MDPs with exact ground truth, the z-scores of the
 * Monte-Carlo mean of its gradient, Hessian-vector product and MAML meta-gradient, a verdict per
 * order, and the Monte-Carlo variance. Exit code 1 when a verdict contradicts an estimator's claim.
 */
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, formatError } from '../base/errors.js'
import { startBackend } from '../graph/backend.js'
import { builtinEstimators } from '../estimators/builtins.js'
import { type CheckResult, checkEstimators, defaultCheckConfig } from '../estimators/check.js'
import { estimatorBySpec, loadEstimators } from '../estimators/module.js'
import type { Estimator } from '../estimators/estimator.js'
import { all, choiceFlag, flagOptions, intFlag, numberFlag, parseFlagsWithPositionals, usageError } from './flags.js'
import { backendChoices, backendDefault, controlVariateChoices } from './helpText.js'

const help = `usage: tmaml estimators list [--json]
       tmaml estimators check [options]

check options:
  --samples N        independent estimates per estimator, order and MDP (default ${defaultCheckConfig.samples})
  --seed S           seed of the MDPs and samples (default ${defaultCheckConfig.seed})
  --mdps M           number of random MDPs (default ${defaultCheckConfig.mdps})
  --baseline B       value (exact value function, default) | poor | none
  --reward-mean X    mean of the random rewards r(s, a) ~ N(X, 1) (default 0.5; 3 mimics a survival bonus)
  --horizon T        steps per trajectory of the random MDPs (default ${defaultCheckConfig.size.horizon}; --exact enumerates A^T S^T paths)
  --estimator a,b    only these estimators (names from 'tmaml estimators list', e.g. loaded-dice(0.5))
  --module file.js   also check the estimators a module exports (default, estimator or estimators)
  --exact            also report the exact bias, by enumerating trajectories
  --json             print [{estimator, order, maxAbsZ, unbiased, variance, ...}]
  --backend B        ${backendChoices}
                     (${backendDefault})

Exit code: 1 when an estimator declared unbiased is found biased, else 0 (a declared bias that the
test does not detect at this sample size is reported, not failed); 2 bad usage.`

const loadModule = async (path: string): Promise<E.Either<string, ReadonlyArray<Estimator>>> =>
  E.mapLeft((e: TmamlError) => `--module: ${formatError(e)}`)(await loadEstimators(path))

const list = (json: boolean): number => {
  if (json) {
    console.log(
      JSON.stringify(
        builtinEstimators.map((e) => ({ name: e.name, formula: e.formula, bias: e.bias, unbiased: e.unbiased })),
        null,
        2
      )
    )
    return 0
  }
  for (const e of builtinEstimators) {
    const claims = (['grad', 'hvp', 'meta'] as const)
      .map((o) => `${o}:${e.unbiased[o] ? 'unbiased' : 'biased'}`)
      .join(' ')
    console.log(`${e.name}\n  surrogate: ${e.formula}\n  claims:    ${claims}\n  bias:      ${e.bias}\n`)
  }
  return 0
}

const table = (rs: ReadonlyArray<CheckResult>): string => {
  const rows = rs.map((r) => [
    r.estimator,
    r.order,
    Number.isFinite(r.maxAbsZ) ? r.maxAbsZ.toFixed(2) : 'inf',
    r.threshold.toFixed(2),
    r.verdict === 'biased'
      ? 'BIASED'
      : r.verdict === 'inconclusive'
        ? 'inconclusive'
        : r.claimed
          ? 'unbiased'
          : 'not detected',
    r.claimed ? 'unbiased' : 'biased',
    r.variance.toPrecision(3),
    r.exactMaxAbsBias === null ? '' : r.exactMaxAbsBias.toExponential(1)
  ])
  const head = ['estimator', 'order', 'max|z|', 'threshold', 'verdict', 'claimed', 'variance', 'exact bias']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const fmt = (r: ReadonlyArray<string>) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n')
}

const check = async (values: Readonly<Record<string, unknown>>): Promise<number> => {
  const read = all({
    samples: intFlag('samples', values['samples'], defaultCheckConfig.samples, 2, 10_000_000),
    seed: intFlag('seed', values['seed'], defaultCheckConfig.seed, 0),
    mdps: intFlag('mdps', values['mdps'], defaultCheckConfig.mdps, 1, 100),
    baseline: choiceFlag('baseline', values['baseline'], defaultCheckConfig.baseline, [
      'value',
      'poor',
      'none'
    ] as const),
    rewardMean: numberFlag('reward-mean', values['reward-mean'], defaultCheckConfig.size.rewardMean ?? 0.5, -100, 100),
    horizon: intFlag('horizon', values['horizon'], defaultCheckConfig.size.horizon, 1, 12)
  })
  if (E.isLeft(read)) return usageError(read.left, help)
  const parsed = read.right
  let estimators: Estimator[] = [...builtinEstimators]
  if (typeof values['estimator'] === 'string') {
    const names = values['estimator'].split(',').map((s) => s.trim())
    const found = names.map((n) => [n, estimatorBySpec(n)] as const)
    const unknown = found.filter(([, e]) => e === undefined).map(([n]) => n)
    if (unknown.length > 0) {
      console.error(`--estimator: unknown ${unknown.map((u) => `'${u}'`).join(', ')}; see 'tmaml estimators list'`)
      return 2
    }
    estimators = found.map(([, e]) => e as Estimator)
  }
  if (typeof values['module'] === 'string') {
    const user = await loadModule(values['module'])
    if (E.isLeft(user)) {
      console.error(user.left)
      return 2
    }
    estimators = typeof values['estimator'] === 'string' ? [...estimators, ...user.right] : [...user.right]
  }
  const info = await startBackend(values['backend'] as string | undefined, process.env)
  if (E.isLeft(info)) {
    console.error(formatError(info.left))
    return 1
  }
  const total = estimators.length * 3
  let done = 0
  const started = Date.now()
  process.stderr.write(
    `backend ${info.right.active}; ${estimators.length} estimator(s) x 3 orders x ${parsed.mdps} MDP(s), ${parsed.samples} samples each\n`
  )
  const results = checkEstimators(
    estimators,
    {
      samples: parsed.samples,
      seed: parsed.seed,
      mdps: parsed.mdps,
      baseline: parsed.baseline,
      size: { ...defaultCheckConfig.size, rewardMean: parsed.rewardMean, horizon: parsed.horizon },
      exact: values['exact'] === true
    },
    (msg) => {
      done += 1
      const elapsed = (Date.now() - started) / 1000
      const eta = done > 1 ? ((elapsed / (done - 1)) * (total - done + 1)).toFixed(0) : '?'
      if (process.stderr.isTTY)
        process.stderr.write(`\r[${done}/${total}] ${msg.padEnd(28)} elapsed ${elapsed.toFixed(0)}s, eta ${eta}s   `)
      else process.stderr.write(`[${done}/${total}] ${msg}\n`)
    }
  )
  if (process.stderr.isTTY) process.stderr.write('\n')
  if (values['json'] === true) console.log(JSON.stringify(results, null, 2))
  else {
    console.log(table(results))
    console.log(
      `\nz-test: |z| of the Monte-Carlo mean vs the exact value, Bonferroni over coordinates and MDPs (false-alarm rate ${defaultCheckConfig.falseAlarm}); variance: mean per-coordinate variance of one estimate (${defaultCheckConfig.groupSize} trajectories).`
    )
    const escalated = results.filter((r) => r.samples > parsed.samples)
    if (escalated.length > 0)
      console.log(
        `rare events: where the rarest (state, action) pair would be taken fewer than ${defaultCheckConfig.minExpectedCount} times, more replicates were drawn (${escalated.map((r) => `${r.estimator}/${r.order}: ${r.samples}`).join(', ')}); 'inconclusive' = the z-test failed where even ${defaultCheckConfig.maxSamples} replicates see it too rarely for a verdict.`
      )
  }
  const undetected = results.filter((r) => r.verdict === 'unbiased' && !r.claimed)
  if (undetected.length > 0)
    process.stderr.write(
      `declared biases not detected at ${parsed.samples} samples: ${undetected.map((r) => `${r.estimator}/${r.order}`).join(', ')} (try more --samples, or --exact)\n`
    )
  const contradictions = results.filter((r) => !r.unbiased && r.claimed)
  if (contradictions.length > 0) {
    process.stderr.write(
      `declared unbiased but found biased: ${contradictions.map((r) => `${r.estimator}/${r.order}`).join(', ')}\n`
    )
    return 1
  }
  return 0
}

export const run = async (argv: ReadonlyArray<string>): Promise<number> => {
  const r = parseFlagsWithPositionals(
    argv,
    flagOptions(
      ['samples', 'seed', 'mdps', 'baseline', 'reward-mean', 'horizon', 'estimator', 'module', 'backend'],
      ['json', 'exact']
    ),
    help
  )
  if (E.isLeft(r)) return r.left
  const [sub, ...extra] = r.right.positionals
  if (extra.length > 0 || (sub !== 'list' && sub !== 'check')) {
    console.error(
      `${sub === undefined ? 'missing sub-command' : `unknown sub-command '${[sub, ...extra].join(' ')}'`}\n\n${help}`
    )
    return 2
  }
  return sub === 'list' ? list(r.right.values['json'] === true) : check(r.right.values)
}
