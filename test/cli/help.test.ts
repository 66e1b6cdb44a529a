// Every command's --help lists what the code accepts: the backends of the codec, the control-variate
// kinds of the registry, estimator module paths wherever an estimator is named, and the quickstart
// preset's size (the README's quick start too).
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BackendChoice } from '../../src/graph/backend.js'
import { controlVariateNames } from '../../src/pipelines/controlVariates/registry.js'
import { publishedDefaults, quickstart } from '../../src/pipelines/config.js'

const helpOf = (command: ReadonlyArray<string>): string => {
  const r = spawnSync(process.execPath, ['bin/tmaml.js', ...command, '--help'], { encoding: 'utf8', timeout: 60_000 })
  expect(r.status, r.stderr).toBe(0)
  return r.stdout
}

/** The help lines from the option line of `flag` up to the next option. */
const flagText = (help: string, flag: string): string => {
  const lines = help.split('\n')
  const from = lines.findIndex((l) => new RegExp(`(^|\\s\\s)${flag}\\b`).test(l)) // not the usage line
  expect(from, `${flag} in\n${help}`).toBeGreaterThanOrEqual(0)
  const rest = lines.slice(from + 1)
  const to = rest.findIndex((l) => /^\s*--/.test(l))
  return [lines[from], ...(to < 0 ? rest : rest.slice(0, to))].join('\n')
}

const commands: ReadonlyArray<{
  readonly command: ReadonlyArray<string>
  readonly estimator?: string
  readonly cv?: boolean
}> = [
  { command: ['train'], estimator: '--estimator', cv: true },
  { command: ['doctor'] },
  { command: ['estimators'] },
  { command: ['experiment', 'compare'], estimator: '--estimators', cv: true },
  { command: ['experiment', 'grad-variance'], estimator: '--estimators', cv: true },
  { command: ['experiment', 'grad-accuracy'], estimator: '--estimators' }
]

describe('tmaml --help', () => {
  it.each(commands)('$command lists every backend, control variate and estimator form it accepts', (c) => {
    const help = helpOf(c.command)
    const backend = flagText(help, '--backend B')
    for (const b of ['auto', ...Object.keys(BackendChoice.keys)]) expect(backend).toContain(` ${b}`)
    expect(backend).toContain('TMAML_BACKEND')
    if (c.cv === true) expect(help).toContain(controlVariateNames.join(' | '))
    if (c.estimator !== undefined) expect(flagText(help, c.estimator)).toMatch(/module/)
  })

  it('estimators check names --module', () => {
    expect(flagText(helpOf(['estimators']), '--module')).toContain('module exports')
  })

  it('train and the README state the quickstart preset as it is', () => {
    const q = { ...publishedDefaults, ...quickstart, trpo: { ...publishedDefaults.trpo, ...quickstart.trpo } }
    const summary =
      `${q.env}, ${q.tasksPerBatch} tasks x ${q.rolloutsPerTask} rollouts, ${String(q.estimator)} + ` +
      `${String(q.controlVariate)} control variate, ${q.outer.toUpperCase()} (max KL ${q.trpo.maxKl}: 0.01 per action component), ` +
      `gamma ${q.gamma}, ${q.iterations} iterations`
    expect(helpOf(['train']).replace(/\s+/g, ' ')).toContain(`the quickstart: ${summary}`)
    const readme = fs.readFileSync('README.md', 'utf8')
    const quickStart = readme.slice(
      readme.indexOf('## Quick start'),
      readme.indexOf('```sh', readme.indexOf('## Quick start'))
    )
    expect(quickStart.replace(/\s+/g, ' ')).toContain(
      `${q.env} at half the published batch: ${String(q.estimator).toUpperCase()} with ${q.outer.toUpperCase()}, ` +
        `${q.tasksPerBatch} tasks x ${q.rolloutsPerTask} episodes, ${q.iterations} iterations`
    )
  })
})
