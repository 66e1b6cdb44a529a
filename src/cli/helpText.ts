/**
 * Help-text fragments shared by the sub-commands, built from the values the code accepts (the backend
 * codec, the control-variate registry) so that no command's help can list a stale set.
 */
import { BackendChoice } from '../graph/backend.js'
import { controlVariateNames } from '../pipelines/controlVariates/registry.js'

/** The values `--backend` accepts. */
export const backendChoices: string = ['auto', ...Object.keys(BackendChoice.keys)].join(' | ')

/** Where the backend comes from when `--backend` is not given (resolveBackendChoice). */
export const backendDefault = 'default: TMAML_BACKEND, else auto = native when its addon is built, else wasm'

/** The control-variate kinds (`--cv`, the `:cv` suffix of an experiment method). */
export const controlVariateChoices: string = controlVariateNames.join(' | ')
