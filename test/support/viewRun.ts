/**
 * A tiny real training run for the `tmaml view` tests: halfcheetah-dir, 2 tasks x 2 episodes of 20
 * steps, a 8-unit policy, 3 iterations, trained by the CLI in a child process (about 2 s), so the
 * folder has everything a run has: config.json, metrics.jsonl, checkpoint.json.
 */
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const tinyRun = (dir: string, name = 'hc-tiny-s1', iterations = 3): string => {
  const run = join(dir, name)
  const config = join(dir, `${name}.config.json`)
  writeFileSync(config, JSON.stringify({ hidden: [8] }))
  const r = spawnSync(
    process.execPath,
    [
      'bin/tmaml.js',
      'train',
      '--config',
      config,
      '--env',
      'halfcheetah-dir',
      '--tasks',
      '2',
      '--rollouts',
      '2',
      '--horizon',
      '20',
      '--iterations',
      String(iterations),
      '--workers',
      '0',
      '--eval-every',
      '0',
      '--run-dir',
      run
    ],
    { encoding: 'utf8' }
  )
  if (r.status !== 0) throw new Error(`tiny run failed: ${r.stderr}`)
  return run
}
