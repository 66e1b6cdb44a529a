/**
 * io-ts codecs for estimator declarations, so estimators arriving from outside (a user module given
 * to `tmaml estimators check --module`, a JSON file) are validated at the boundary with errors that
 * name the field.
 *
 * @packageDocumentation
 */
import * as t from 'io-ts'
import { FiniteNumber } from '../base/codecs.js'
import type { LogProbExpr, Monomial, Term, Weight } from '../graph/terms.js'
import type { Estimator } from './estimator.js'

export const LogProbExprCodec: t.Type<LogProbExpr, unknown> = t.recursion('LogProbExpr', () =>
  t.union([
    t.type({ _tag: t.literal('Own') }),
    t.type({ _tag: t.literal('Prefix'), inclusive: t.boolean, discount: t.number }),
    t.type({ _tag: t.literal('ShiftBack'), of: LogProbExprCodec }),
    t.type({ _tag: t.literal('OtherTrajectory'), of: LogProbExprCodec }),
    t.type({ _tag: t.literal('Plus'), terms: t.readonlyArray(LogProbExprCodec) })
  ])
)

const MonomialCodec: t.Type<Monomial, unknown> = t.type({ coef: t.number, boxes: t.readonlyArray(LogProbExprCodec) })

export const WeightCodec: t.Type<Weight, unknown> = t.union([
  t.type({ _tag: t.literal('BoxPoly'), monomials: t.readonlyArray(MonomialCodec) }),
  t.type({ _tag: t.literal('Linear'), of: LogProbExprCodec, coef: t.number })
])

export const TermCodec: t.Type<Term, unknown> = t.type({
  weight: WeightCodec,
  value: t.union([
    t.keyof({ reward: null, rewardToGo: null, baseline: null, advantage: null }),
    t.type({ _tag: t.literal('Constant'), value: FiniteNumber })
  ])
})

export const EstimatorCodec: t.Type<Estimator, unknown> = t.type({
  name: t.string,
  formula: t.string,
  bias: t.string,
  spec: t.type({ terms: t.readonlyArray(TermCodec), order: t.keyof({ all: null, first: null }) }),
  unbiased: t.type({ grad: t.boolean, hvp: t.boolean, meta: t.boolean })
})
