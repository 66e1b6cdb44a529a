// Helpers shared by the environment tests.
import * as E from 'fp-ts/lib/Either.js'
import { formatError, type TmamlError } from '../../src/base/errors.js'
import type { EnvSpec } from '../../src/envs/registry.js'
import type { StepResult, VecEnv, VecEnvOptions } from '../../src/envs/vecEnv.js'

/** The right value, or a test failure quoting the error. */
export const must = <A>(e: E.Either<TmamlError, A>): A => {
  if (E.isLeft(e)) throw new Error(`unexpected error: ${formatError(e.left)}`)
  return e.right
}

/** The error, or a test failure when the result was a success. */
export const mustFail = <A>(e: E.Either<TmamlError, A>): TmamlError => {
  if (E.isRight(e)) throw new Error('expected an error, got a success')
  return e.left
}

/** The error's human message (`where` + `message`, or the decode issues). */
export const text = (e: TmamlError): string => formatError(e)

/** Create an env or fail the test. */
export const makeEnv = async <T>(spec: EnvSpec<T>, options: VecEnvOptions<NoInfer<T>>): Promise<VecEnv<T>> =>
  must(await spec.make(options))

/** One step or fail. */
export const stepOk = <T>(env: VecEnv<T>, actions: ArrayLike<number>): StepResult => must(env.step(actions))

/** Byte-wise equality of two typed arrays (NaN-safe, -0 vs 0 distinguished): "bit-identical". */
export const sameBits = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  a.byteLength === b.byteLength &&
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  ) === 0
