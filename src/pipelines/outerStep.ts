/**
 * The outer optimiser as a value: one `OuterStep` is a name and a pure step from (iteration problem,
 * parameters, optimiser state, config) to new parameters and state with diagnostics. The built-in
 * three (outer.ts) are values like any other; a step of your own goes in `TrainDeps.outer` or
 * `runTraining(cfg, { outer })`, and its name is what metrics record as `outer`.
 *
 * @example
 * // VPG whose Adam step is a tenth of the config's, as an optimiser of your own:
 * const slowVpg: OuterStep = { name: 'vpg-slow', step: (m, p, s, cfg) => vpgStep(m, p, s, { ...cfg, outerLr: cfg.outerLr / 10 }) }
 * await runTraining(cfg, { outer: slowVpg })
 *
 * @packageDocumentation
 */
import type * as E from 'fp-ts/lib/Either.js'
import type { TmamlError } from '../base/errors.js'
import type { ArrayParams } from '../graph/nn.js'
import type { ExperimentConfig, OuterAlgorithm } from './config.js'
import type { MetaProblem } from './meta.js'
import type { AdamState } from './optim/adam.js'
import { type OuterResult, ppoStep, trpoStep, vpgStep } from './outer.js'

/**
 * An outer optimiser: `step` must not modify its inputs and must dispose every tensor it makes.
 *
 * @category model
 */
export interface OuterStep {
  readonly name: string
  readonly step: (
    problem: MetaProblem,
    params: ArrayParams,
    state: AdamState,
    cfg: ExperimentConfig
  ) => E.Either<TmamlError, OuterResult>
}

/** VPG: Adam ascent on the meta-objective. @category constructors */
export const vpgOuter: OuterStep = { name: 'vpg', step: vpgStep }
/** TRPO-MAML: natural gradient under the meta-KL constraint, with a line search. @category constructors */
export const trpoOuter: OuterStep = { name: 'trpo', step: trpoStep }
/** PPO/ProMP: clipped likelihood ratio minus the inner-KL penalty, several Adam steps. @category constructors */
export const ppoOuter: OuterStep = { name: 'ppo', step: ppoStep }

/** The built-in outer optimisers, by the names a config's `outer` takes. @category constructors */
export const outerSteps: Readonly<Record<OuterAlgorithm, OuterStep>> = { vpg: vpgOuter, trpo: trpoOuter, ppo: ppoOuter }
