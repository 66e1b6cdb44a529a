/**
 * No control variate: b = 0 (the estimators' plain forms).
 *
 * @packageDocumentation
 */
import * as E from 'fp-ts/lib/Either.js'
import { zeroBaseline } from '../episodes.js'
import { type ControlVariateKind, statelessControlVariate } from './controlVariate.js'

export const noControlVariate: ControlVariateKind = statelessControlVariate({
  name: 'none',
  description: 'no control variate (b = 0)',
  shape: 'per-state',
  perTask: true,
  baselines: ({ tasks }) => E.right(tasks.map(({ batch }) => zeroBaseline(batch, 'per-state')))
})
