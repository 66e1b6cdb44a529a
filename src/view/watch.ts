/**
 * Following a growing file (a run's metrics.jsonl while it trains): complete new lines as they are
 * appended. Polls the file's size (`fs.watchFile`), which works whatever the file system and also
 * sees a file that is replaced by a new one, as a resumed run's truncation does.
 *
 * @packageDocumentation
 */
import { type Stats, unwatchFile, watchFile } from 'node:fs'
import { open } from 'node:fs/promises'

/** What a watched file did: new complete lines, or it shrank (rewritten: read it again from the start). */
export type FileChange = { readonly _tag: 'Lines'; readonly lines: ReadonlyArray<string> } | { readonly _tag: 'Reset' }

/**
 * Call `onChange` with the complete lines appended to `file` after `from` bytes (default: its size
 * now), and with `Reset` when it shrinks. Returns the function that stops watching.
 *
 * @category io
 */
export const watchAppends = (
  file: string,
  from: number,
  onChange: (c: FileChange) => void,
  intervalMs = 250
): (() => void) => {
  let offset = from
  let partial = ''
  let reading = Promise.resolve()
  const read = async (size: number): Promise<void> => {
    if (size < offset) {
      offset = 0
      partial = ''
      onChange({ _tag: 'Reset' })
    }
    if (size <= offset) return
    const h = await open(file, 'r').catch(() => undefined)
    if (h === undefined) return
    try {
      const buf = Buffer.alloc(size - offset)
      const { bytesRead } = await h.read(buf, 0, buf.length, offset)
      offset += bytesRead
      const text = partial + buf.subarray(0, bytesRead).toString('utf8')
      const parts = text.split('\n')
      partial = parts.pop() ?? ''
      const lines = parts.filter((l) => l.trim() !== '')
      if (lines.length > 0) onChange({ _tag: 'Lines', lines })
    } finally {
      await h.close()
    }
  }
  const listener = (cur: Stats): void => {
    reading = reading.then(() => read(cur.size)).catch(() => undefined)
  }
  watchFile(file, { interval: intervalMs, persistent: false }, listener)
  return () => unwatchFile(file, listener)
}
