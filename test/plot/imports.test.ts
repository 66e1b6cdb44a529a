// The layering rule of src/plot: it imports only src/base, fp-ts, io-ts, @resvg/resvg-js and Node built-ins.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(process.cwd(), 'src', 'plot')

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []
  )

const allowed = (spec: string, file: string): boolean => {
  if (spec.startsWith('node:') || spec === 'io-ts' || spec === '@resvg/resvg-js' || spec.startsWith('fp-ts/'))
    return true
  if (!spec.startsWith('.')) return false
  const target = relative(process.cwd(), join(file, '..', spec)).replace(/\\/g, '/')
  return target.startsWith('src/plot/') || target.startsWith('src/base/')
}

describe('plot/imports', () => {
  it('every module of src/plot imports only src/base, fp-ts, io-ts, @resvg/resvg-js and node: built-ins', () => {
    const offenders: string[] = []
    for (const file of files(root)) {
      const source = readFileSync(file, 'utf8')
      for (const m of source.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
        const spec = m[1] ?? m[2]
        if (!allowed(spec, file)) offenders.push(`${relative(process.cwd(), file)}: ${spec}`)
      }
    }
    expect(offenders).toEqual([])
  })

  it('the rule itself rejects a tfjs or pipelines import', () => {
    expect(allowed('@tensorflow/tfjs-core', join(root, 'x.ts'))).toBe(false)
    expect(allowed('../pipelines/meta.js', join(root, 'x.ts'))).toBe(false)
    expect(allowed('../base/errors.js', join(root, 'x.ts'))).toBe(true)
  })
})
