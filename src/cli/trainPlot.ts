// The learning curve of a finished training run: <run>/learning-curve.{svg,png}.
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import type { TmamlError } from '../base/errors.js'
import { plotLearningCurves } from '../plot/learningCurves.js'

/** Render a run folder's returns (pre and post adaptation) against iteration; the written paths. */
export const renderLearningCurve = async (runDir: string): Promise<E.Either<TmamlError, ReadonlyArray<string>>> => {
  const r = await plotLearningCurves([runDir], join(runDir, 'learning-curve'), {
    metrics: ['returnPost', 'returnPre']
  })()
  return E.map((p: { readonly paths: { readonly svg: string; readonly png: string } }) => [p.paths.svg, p.paths.png])(r)
}
