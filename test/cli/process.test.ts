// The stop watch of long commands (src/cli/process.ts): a parent that is gone is seen at the next
// look, even by a process that has not returned to its event loop since (a training run between two
// iterations; the sweep test's killed worker once got one iteration more from its child than asked).
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'

const until = async (ok: () => boolean, what: string, ms: number): Promise<void> => {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('cli/process watchStopRequests', () => {
  it('reports parent-exit at the first look after the parent is killed, without an event-loop turn', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tmaml-orphan-'))
    const out = path.join(tmp, 'seen.json')
    const fixture = path.resolve('test/fixtures/orphanStopWatch.mjs')
    // The parent: starts the watcher and stays until killed.
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `require('child_process').spawn(process.execPath, ${JSON.stringify([fixture, out])}, { stdio: 'inherit' }); setInterval(() => {}, 1000)`
      ],
      { stdio: 'inherit' }
    )
    try {
      await until(() => fs.existsSync(`${out}.ready`), 'the watcher to start', 20_000)
      parent.kill('SIGKILL')
      await until(() => fs.existsSync(out), 'the watcher to write what it saw', 20_000)
      const seen = JSON.parse(fs.readFileSync(out, 'utf8')) as { cause: string | null; ms: number }
      // Before the synchronous look: null after the loop's 10 s (the 60 s poll never ran).
      expect(seen.cause).toBe('parent-exit')
      expect(seen.ms).toBeLessThan(10_000)
    } finally {
      parent.kill('SIGKILL')
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  }, 60_000)
})
