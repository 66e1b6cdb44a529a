// The layering of src/ (DESIGN.md, "an arrow never points up"): each folder imports only the folders
// below it and the packages its README names. One table for every layer, checked over every module.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const tfjs = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm']
const fp = ['fp-ts', 'io-ts']

/** Per folder of src/: the folders it may import (besides itself) and the npm packages. */
const layers: Readonly<
  Record<string, { readonly folders: ReadonlyArray<string>; readonly packages: ReadonlyArray<string> }>
> = {
  base: { folders: [], packages: fp },
  native: { folders: ['base'], packages: [...fp, ...tfjs] },
  graph: {
    folders: ['base', 'native'],
    packages: [...fp, ...tfjs, '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']
  },
  estimators: { folders: ['base', 'graph'], packages: [...fp, ...tfjs] },
  envs: { folders: ['base'], packages: [...fp, 'mujoco-js'] },
  plot: { folders: ['base'], packages: [...fp, '@resvg/resvg-js', 'vega', 'vega-lite'] },
  pipelines: {
    folders: ['base', 'native', 'graph', 'estimators', 'envs'],
    packages: [...fp, ...tfjs, 'rxjs', 'protobufjs', 'crc-32']
  },
  experiments: {
    folders: ['base', 'native', 'graph', 'estimators', 'envs', 'pipelines', 'plot'],
    packages: [...fp, ...tfjs]
  },
  view: { folders: ['base', 'graph', 'envs', 'pipelines', 'plot'], packages: fp },
  distributed: { folders: ['base', 'graph', 'envs', 'pipelines'], packages: [...fp, 'rxjs', 'bullmq', 'ioredis'] },
  cli: {
    folders: [
      'base',
      'native',
      'graph',
      'estimators',
      'envs',
      'pipelines',
      'plot',
      'experiments',
      'view',
      'distributed'
    ],
    packages: [...fp, ...tfjs, 'rxjs']
  }
}

const src = join(process.cwd(), 'src')

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []
  )

const packageOf = (spec: string): string => {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec)
}

/** Why `spec`, imported by a module of `layer`, breaks the rule; undefined when it is allowed. */
const violation = (layer: string, spec: string, file: string): string | undefined => {
  const rule = layers[layer]
  if (rule === undefined) return `src/${layer} is not in the layer table`
  if (spec.startsWith('node:')) return undefined
  if (!spec.startsWith('.')) return rule.packages.includes(packageOf(spec)) ? undefined : `package ${packageOf(spec)}`
  const target =
    relative(src, join(file, '..', spec))
      .replace(/\\/g, '/')
      .split('/')[0] ?? ''
  return target === layer || rule.folders.includes(target) ? undefined : `src/${target}`
}

const importsOf = (source: string): string[] =>
  [...source.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? ''
  )

describe('layering of src/', () => {
  it('every folder of src/ has a row in the table', () => {
    const folders = readdirSync(src, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
    expect(folders.filter((f) => layers[f] === undefined)).toEqual([])
  })

  it('every module imports only the layers below its own and the packages of its layer', () => {
    const offenders: string[] = []
    for (const layer of Object.keys(layers)) {
      for (const file of files(join(src, layer))) {
        for (const spec of importsOf(readFileSync(file, 'utf8'))) {
          const why = violation(layer, spec, file)
          if (why !== undefined) offenders.push(`${relative(process.cwd(), file)} imports ${spec} (${why})`)
        }
      }
    }
    expect(offenders).toEqual([])
  })

  it('the table has no cycle: each folder lists only folders that do not list it back, transitively', () => {
    const reaches = (from: string, to: string, seen: ReadonlySet<string> = new Set()): boolean =>
      (layers[from]?.folders ?? []).some((f) => f === to || (!seen.has(f) && reaches(f, to, new Set([...seen, f]))))
    expect(Object.keys(layers).filter((l) => reaches(l, l))).toEqual([])
  })

  it('the rule rejects an upward import, a foreign package, and accepts a downward one', () => {
    const at = (layer: string): string => join(src, layer, 'x.ts')
    expect(violation('envs', '@tensorflow/tfjs-core', at('envs'))).toBe('package @tensorflow/tfjs-core')
    expect(violation('experiments', '../cli/train.js', at('experiments'))).toBe('src/cli')
    expect(violation('plot', '../pipelines/meta.js', at('plot'))).toBe('src/pipelines')
    expect(violation('view', '../cli/main.js', at('view'))).toBe('src/cli')
    expect(violation('pipelines', '../view/server.js', at('pipelines'))).toBe('src/view')
    expect(violation('pipelines', '../distributed/redisSampler.js', at('pipelines'))).toBe('src/distributed')
    expect(violation('distributed', '../cli/train.js', at('distributed'))).toBe('src/cli')
    expect(violation('pipelines', '../graph/ops.js', at('pipelines'))).toBeUndefined()
    expect(violation('pipelines', './sampler/index.js', at('pipelines'))).toBeUndefined()
  })
})
