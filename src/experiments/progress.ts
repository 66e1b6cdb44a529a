/**
 * Progress lines with an ETA on stderr for long experiments: `\r`-rewritten on a terminal, one line
 * every `everyMs` otherwise (logs of background runs stay short).
 *
 * @example
 * const p = progress('grad-accuracy', 120)
 * p.tick('n=10 tmaml') // "grad-accuracy 1/120  n=10 tmaml  2.1 s/step  ETA 4m10s"
 * p.done()
 *
 * @packageDocumentation
 */

/** `1h02m`, `4m10s`, `12s`; `?` when unknown. @category utils */
export const formatDuration = (s: number): string => {
  if (!Number.isFinite(s) || s < 0) return '?'
  if (s >= 3570) {
    const m = Math.round(s / 60) // whole minutes first, so 119.6 min is 2h00m, not 1h60m
    return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
  }
  const r = Math.round(s)
  if (r >= 60) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`
  return `${r}s`
}

/** A progress reporter: `tick` after each unit of work; `done` ends the line. */
export interface Progress {
  readonly tick: (note?: string, units?: number) => void
  /** Write a message on its own line (keeping the progress line intact on a terminal). */
  readonly log: (message: string) => void
  readonly done: () => void
}

/**
 * A reporter for `total` units of work. The ETA is the mean time per unit so far times the units left.
 *
 * @category constructors
 */
export const progress = (
  label: string,
  total: number,
  options: { readonly everyMs?: number; readonly write?: (s: string) => void; readonly tty?: boolean } = {}
): Progress => {
  const write = options.write ?? ((s: string) => void process.stderr.write(s))
  const tty = options.tty ?? process.stderr.isTTY === true
  const everyMs = options.everyMs ?? (tty ? 200 : 10_000)
  const started = Date.now()
  let done = 0
  let last = 0
  let open = false
  const line = (note: string): string => {
    const elapsed = (Date.now() - started) / 1000
    const per = elapsed / Math.max(done, 1)
    return `${label} ${done}/${total}${note !== '' ? `  ${note}` : ''}  elapsed ${formatDuration(elapsed)}  ETA ${formatDuration(per * (total - done))}`
  }
  return {
    tick: (note = '', units = 1) => {
      done += units
      const now = Date.now()
      if (now - last < everyMs && done < total) return
      last = now
      if (tty) {
        write(`\r${line(note)}\x1b[K`)
        open = true
      } else write(`${line(note)}\n`)
    },
    log: (message) => {
      write(`${tty && open ? '\n' : ''}${message}\n`)
      open = false
    },
    done: () => {
      if (tty && open) write('\n')
      open = false
    }
  }
}
