/**
 * Tasks: immutable values, one io-ts codec per kind, and seeded samplers.
 *
 * A task is what varies across a task distribution (a direction, a target velocity, a goal, a whole
 * tabular MDP). Tasks are plain JSON-safe data so that they go into checkpoints and across worker
 * threads unchanged; a codec and its type share a name.
 *
 * @example
 * import { rngAt } from '../base/rng.js'
 * const tasks = sampleVelocities(rngAt(1, 'tasks'), 40, 0, 2) // 40 x { velocity: v }, v ~ U[0, 2]
 * VelocityTask.is(tasks[0]) // true
 *
 * @packageDocumentation
 */
import * as t from 'io-ts'
import { FiniteNumber, PositiveInt, refine } from '../base/codecs.js'
import type { Rng } from '../base/rng.js'

/**
 * The largest magnitude of a task parameter (a goal coordinate, a target velocity). Beyond it the
 * reward and observations of the tasks overflow float32 (the episode batches' type): a goal at 1e300
 * would give rewards of -Infinity, which no env may return.
 */
export const maxTaskMagnitude = 1e6

/** A task parameter: a finite number of magnitude at most `maxTaskMagnitude` (1e6). */
export const TaskNumber = refine(
  t.number,
  `a number from -${maxTaskMagnitude} to ${maxTaskMagnitude}`,
  (n) => Number.isFinite(n) && Math.abs(n) <= maxTaskMagnitude,
  'TaskNumber'
)

/** A pair of task numbers `[x, y]` (each of magnitude at most 1e6). */
export const Vector2 = t.readonly(t.tuple([TaskNumber, TaskNumber]), 'Vector2')
export type Vector2 = t.TypeOf<typeof Vector2>

const isUnitVector2 = (u: unknown): u is Vector2 => Vector2.is(u) && Math.abs(Math.hypot(u[0], u[1]) - 1) <= 1e-6

/** A pair `[x, y]` of Euclidean norm 1 (within 1e-6). */
export const UnitVector2 = new t.Type<Vector2, Vector2, unknown>(
  'UnitVector2',
  isUnitVector2,
  (u, c) => (isUnitVector2(u) ? t.success(u) : t.failure(u, c, 'a pair [x, y] with x^2 + y^2 = 1')),
  t.identity
)

// -------------------------------------------------------------------------------------------------
// codecs: tasks
// -------------------------------------------------------------------------------------------------

/** Run forward (`+1`) or backward (`-1`) along x. */
export const DirectionTask = t.readonly(
  t.type({ direction: t.union([t.literal(1), t.literal(-1)], '1 | -1') }),
  'DirectionTask'
)
export type DirectionTask = t.TypeOf<typeof DirectionTask>

/** Run along x at a target velocity (m/s). */
export const VelocityTask = t.readonly(t.type({ velocity: TaskNumber }), 'VelocityTask')
export type VelocityTask = t.TypeOf<typeof VelocityTask>

/** Run in a direction of the XY plane, given as a unit vector. */
export const Direction2dTask = t.readonly(t.type({ direction: UnitVector2 }), 'Direction2dTask')
export type Direction2dTask = t.TypeOf<typeof Direction2dTask>

/** Reach a goal position in the XY plane. */
export const Goal2dTask = t.readonly(t.type({ goal: Vector2 }), 'Goal2dTask')
export type Goal2dTask = t.TypeOf<typeof Goal2dTask>

/** Reach a goal on a line. */
export const Goal1dTask = t.readonly(t.type({ goal: TaskNumber }), 'Goal1dTask')
export type Goal1dTask = t.TypeOf<typeof Goal1dTask>

const TabularMdpFields = t.readonly(
  t.type({
    nStates: PositiveInt,
    nActions: PositiveInt,
    initial: t.readonlyArray(FiniteNumber),
    transition: t.readonlyArray(FiniteNumber),
    reward: t.readonlyArray(FiniteNumber)
  }),
  'TabularMdpTask'
)

/**
 * A finite MDP with `S = nStates` states and `A = nActions` actions, all arrays row-major:
 * `initial[s]` (length S) is the start distribution, `transition[(s * A + a) * S + s2]` (length S*A*S)
 * is P(s2 | s, a), `reward[s * A + a]` (length S*A) is the (deterministic) reward for taking `a` in `s`.
 */
export interface TabularMdpTask {
  readonly nStates: number
  readonly nActions: number
  readonly initial: ReadonlyArray<number>
  readonly transition: ReadonlyArray<number>
  readonly reward: ReadonlyArray<number>
}

const distributionIssue = (p: ReadonlyArray<number>, from: number, len: number): string | undefined => {
  let sum = 0
  for (let k = from; k < from + len; k++) {
    if (p[k] < 0) return `has a negative probability ${p[k]} at index ${k}`
    sum += p[k]
  }
  return Math.abs(sum - 1) > 1e-6 ? `entries ${from}..${from + len - 1} sum to ${sum}, not 1` : undefined
}

/** The first inconsistency of a tabular MDP (sizes, distributions), or `undefined` when it is valid. */
export const tabularMdpIssue = (
  m: TabularMdpTask
): { readonly field: 'initial' | 'transition' | 'reward'; readonly message: string } | undefined => {
  const S = m.nStates
  const A = m.nActions
  if (m.initial.length !== S)
    return { field: 'initial', message: `length ${m.initial.length}, expected nStates = ${S}` }
  if (m.transition.length !== S * A * S)
    return {
      field: 'transition',
      message: `length ${m.transition.length}, expected nStates*nActions*nStates = ${S * A * S}`
    }
  if (m.reward.length !== S * A)
    return { field: 'reward', message: `length ${m.reward.length}, expected nStates*nActions = ${S * A}` }
  const i0 = distributionIssue(m.initial, 0, S)
  if (i0 !== undefined) return { field: 'initial', message: i0 }
  for (let row = 0; row < S * A; row++) {
    const issue = distributionIssue(m.transition, row * S, S)
    if (issue !== undefined) return { field: 'transition', message: issue }
  }
  return undefined
}

/** A tabular MDP, checked for consistent sizes and for probability rows that are non-negative and sum to 1. */
export const TabularMdpTask = new t.Type<TabularMdpTask, TabularMdpTask, unknown>(
  'TabularMdpTask',
  (u): u is TabularMdpTask => TabularMdpFields.is(u) && tabularMdpIssue(u) === undefined,
  (u, c) => {
    const base = TabularMdpFields.validate(u, c)
    if (base._tag === 'Left') return base
    const issue = tabularMdpIssue(base.right)
    if (issue === undefined) return t.success(base.right)
    const field: unknown = base.right[issue.field]
    return t.failure(field, [...c, { key: issue.field, type: t.unknown, actual: field }], issue.message)
  },
  t.identity
)

// -------------------------------------------------------------------------------------------------
// samplers
// -------------------------------------------------------------------------------------------------

const checkCount = (where: string, n: number): void => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${where}: n must be an integer >= 0, got ${n}`)
}

/** `n` directions, each `+1` or `-1` with probability 1/2. */
export const sampleDirections = (rng: Rng, n: number): ReadonlyArray<DirectionTask> => {
  checkCount('sampleDirections', n)
  return Array.from({ length: n }, () => ({ direction: rng.next() < 0.5 ? -1 : 1 }))
}

/** `n` target velocities, uniform on `[lo, hi)`. */
export const sampleVelocities = (rng: Rng, n: number, lo: number, hi: number): ReadonlyArray<VelocityTask> => {
  checkCount('sampleVelocities', n)
  return Array.from({ length: n }, () => ({ velocity: rng.uniform(lo, hi) }))
}

/** `n` unit vectors `[cos θ, sin θ]`, θ uniform on `[0, 2π)`. */
export const sampleDirections2d = (rng: Rng, n: number): ReadonlyArray<Direction2dTask> => {
  checkCount('sampleDirections2d', n)
  return Array.from({ length: n }, () => {
    const angle = rng.uniform(0, 2 * Math.PI)
    return { direction: [Math.cos(angle), Math.sin(angle)] as const }
  })
}

/** `n` goals uniform on the square `[lo, hi)^2` (x drawn before y). */
export const sampleGoals2d = (rng: Rng, n: number, lo: number, hi: number): ReadonlyArray<Goal2dTask> => {
  checkCount('sampleGoals2d', n)
  return Array.from({ length: n }, () => {
    const x = rng.uniform(lo, hi)
    const y = rng.uniform(lo, hi)
    return { goal: [x, y] as const }
  })
}

/** `n` goals uniform on `[lo, hi)`. */
export const sampleGoals1d = (rng: Rng, n: number, lo: number, hi: number): ReadonlyArray<Goal1dTask> => {
  checkCount('sampleGoals1d', n)
  return Array.from({ length: n }, () => ({ goal: rng.uniform(lo, hi) }))
}

/** A draw from the flat Dirichlet distribution on `k` outcomes (normalised exponentials). */
const flatDirichlet = (rng: Rng, k: number): number[] => {
  const e = Array.from({ length: k }, () => -Math.log(1 - rng.next()))
  const total = e.reduce((a, b) => a + b, 0)
  return total > 0 ? e.map((x) => x / total) : e.map(() => 1 / k)
}

/**
 * `n` random MDPs with `nStates` states and `nActions` actions: the start distribution and every
 * transition row drawn from the flat Dirichlet distribution, rewards uniform on `[0, 1)`.
 */
export const sampleTabularMdps = (
  rng: Rng,
  n: number,
  nStates: number,
  nActions: number
): ReadonlyArray<TabularMdpTask> => {
  checkCount('sampleTabularMdps', n)
  if (!PositiveInt.is(nStates) || !PositiveInt.is(nActions))
    throw new RangeError(`sampleTabularMdps: sizes must be integers >= 1, got ${nStates} x ${nActions}`)
  return Array.from({ length: n }, () => {
    const initial = flatDirichlet(rng, nStates)
    const transition: number[] = []
    for (let row = 0; row < nStates * nActions; row++) transition.push(...flatDirichlet(rng, nStates))
    const reward = Array.from({ length: nStates * nActions }, () => rng.next())
    return { nStates, nActions, initial, transition, reward }
  })
}
