/**
 * The built-in control variates, by name: what `--cv`, configs and experiment method lists accept.
 *
 * @packageDocumentation
 */
import { actionDependentControlVariate } from './actionDependent.js'
import type { ControlVariateKind } from './controlVariate.js'
import { linearControlVariate } from './linearFeature.js'
import { metaControlVariate } from './metaValue.js'
import { noControlVariate } from './none.js'
import { valueControlVariate } from './valueNet.js'

export const controlVariates: ReadonlyArray<ControlVariateKind> = [
  metaControlVariate,
  valueControlVariate,
  actionDependentControlVariate,
  linearControlVariate,
  noControlVariate
]

export const controlVariateNames: ReadonlyArray<string> = controlVariates.map((cv) => cv.name)

export const controlVariateByName = (name: string): ControlVariateKind | undefined =>
  controlVariates.find((cv) => cv.name === name)
