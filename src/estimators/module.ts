/**
 * Estimators from user modules: `--estimator ./my-estimator.mjs` (or `"estimator": "./my.mjs"` in a
 * config, or `./many.mjs#name` to pick one of several) loads the module, validates what it exports
 * with `EstimatorCodec` exactly as `tmaml estimators check --module` does, and remembers the result
 * under the module's absolute path, so the config codec can decode that path to the estimator (the
 * codec is synchronous; loading is not). The loaded estimator carries `module` (the absolute path),
 * which is what a config records for it, so a resumed run or a child process loads the same file.
 *
 * @example
 * const e = await loadEstimatorModule('./my-estimator.mjs')   // Right(estimator) | Left(error)
 * resolveConfig({ estimator: './my-estimator.mjs' })            // now decodes to it
 *
 * @packageDocumentation
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, decodeWith, invalidInput, resourceError } from '../base/errors.js'
import { EstimatorCodec } from './codec.js'
import { estimatorByName } from './builtins.js'
import type { Estimator } from './estimator.js'

/** An estimator loaded from a module: `module` is `<absolute path>` or `<absolute path>#<name>`. */
export type ModuleEstimator = Estimator & { readonly module: string }

/** Whether an estimator name is a module path (it has a slash or a script extension). @category utils */
export const isModuleSpec = (s: string): boolean => /[\\/]/.test(s) || /\.(m?js|cjs|m?ts)(#.*)?$/.test(s)

const split = (spec: string, base: string): { readonly file: string; readonly pick: string | null } => {
  const hash = spec.lastIndexOf('#')
  const [p, pick] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash + 1)] : [spec, null]
  return { file: resolve(base, p), pick }
}

const loaded = new Map<string, ModuleEstimator>()

/**
 * Every estimator a module exports (`default`, `estimator`, or the array `estimators`), each validated;
 * errors name the export and the field. @category io
 */
export const loadEstimators = async (path: string): Promise<E.Either<TmamlError, ReadonlyArray<Estimator>>> => {
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>
  } catch (err) {
    return E.left(
      resourceError(`estimator module ${path}`, `cannot import it: ${err instanceof Error ? err.message : String(err)}`)
    )
  }
  const candidates: Array<[string, unknown]> = [
    ...(mod['default'] !== undefined ? [['default', mod['default']] as [string, unknown]] : []),
    ...(mod['estimator'] !== undefined ? [['estimator', mod['estimator']] as [string, unknown]] : []),
    ...(Array.isArray(mod['estimators'])
      ? (mod['estimators'] as unknown[]).map((e, i): [string, unknown] => [`estimators.${i}`, e])
      : [])
  ]
  if (candidates.length === 0)
    return E.left(
      invalidInput(
        `estimator module ${path}`,
        "it exports no estimator; export 'estimator', 'estimators' (an array) or a default built with estimator()"
      )
    )
  const out: Estimator[] = []
  for (const [name, value] of candidates) {
    const r = decodeWith(EstimatorCodec, `estimator '${name}' of ${path}`)(value)
    if (E.isLeft(r)) return r
    if (!out.some((e) => e.name === r.right.name)) out.push(r.right)
  }
  return E.right(out)
}

/**
 * Load the one estimator `spec` names (`path`, or `path#name` when the module exports several),
 * resolved against `base` (default: the working folder), and remember it for the config codec.
 * @category io
 */
export const loadEstimatorModule = async (
  spec: string,
  base: string = process.cwd()
): Promise<E.Either<TmamlError, ModuleEstimator>> => {
  const { file, pick } = split(spec, base)
  const key = pick === null ? file : `${file}#${pick}`
  const known = loaded.get(key)
  if (known !== undefined) return E.right(known)
  const all = await loadEstimators(file)
  if (E.isLeft(all)) return all
  const chosen =
    pick === null ? (all.right.length === 1 ? all.right[0] : undefined) : all.right.find((e) => e.name === pick)
  if (chosen === undefined)
    return E.left(
      invalidInput(
        `estimator module ${file}`,
        pick === null
          ? `it exports ${all.right.length} estimators (${all.right.map((e) => e.name).join(', ')}); pick one with ${spec}#<name>`
          : `it exports no estimator named '${pick}' (it has ${all.right.map((e) => e.name).join(', ')})`
      )
    )
  const e: ModuleEstimator = { ...chosen, module: key }
  loaded.set(key, e)
  return E.right(e)
}

/** The estimator loaded for `spec` (resolved against `base`), if `loadEstimatorModule` loaded it. @category utils */
export const loadedEstimator = (spec: string, base: string = process.cwd()): ModuleEstimator | undefined => {
  const { file, pick } = split(spec, base)
  return loaded.get(pick === null ? file : `${file}#${pick}`)
}

/** The module of an estimator value, if it came from one. @category utils */
export const moduleOf = (e: Estimator): string | undefined =>
  'module' in e && typeof (e as { module?: unknown }).module === 'string' ? (e as ModuleEstimator).module : undefined

/**
 * Load the estimator module a user config names (`estimator: './my.mjs'`), if any, resolving the path
 * against `base` (a config file's folder): afterwards `resolveConfig` decodes the config. @category io
 */
export const preloadConfigEstimator = async (
  user: unknown,
  base: string = process.cwd()
): Promise<E.Either<TmamlError, unknown>> => {
  if (typeof user !== 'object' || user === null || Array.isArray(user)) return E.right(user)
  const spec = (user as Record<string, unknown>)['estimator']
  if (typeof spec !== 'string' || !isModuleSpec(spec)) return E.right(user)
  const e = await loadEstimatorModule(spec, base)
  return E.map((m: ModuleEstimator) => ({ ...(user as Record<string, unknown>), estimator: m.module }))(e)
}

/**
 * The estimator a name or a loaded module path stands for: a built-in (`estimatorByName`), else one
 * `loadEstimatorModule` loaded. @category utils
 */
export const estimatorBySpec = (spec: string): Estimator | undefined => estimatorByName(spec) ?? loadedEstimator(spec)
