/**
 * JSON text with errors a user can act on: a syntax error names the file and its line:column
 * (JSON.parse reports only a character offset, or nothing useful), and a UTF-8 byte-order mark
 * (some editors write one) is not part of the JSON.
 *
 * @example
 * parseJson('{\n  "a": 1,\n}', 'c.json') // Left: c.json:3:1: not JSON: Unexpected token '}' ...
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import { type TmamlError, resourceError } from './errors.js'

/** 1-based line and column of character `offset` of `text`. @category utils */
export const lineColumn = (text: string, offset: number): { readonly line: number; readonly column: number } => {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)))
  const lines = before.split('\n')
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 }
}

/** Where JSON.parse stopped: its message gives a position (Node 20) or a line and column (Node 22). */
const offsetOf = (message: string, text: string): number | null => {
  const pos = /at position (\d+)/.exec(message)
  if (pos !== null) return Number(pos[1])
  const lc = /line (\d+) column (\d+)/.exec(message)
  if (lc !== null) {
    const lines = text.split('\n')
    let off = 0
    for (let i = 0; i < Number(lc[1]) - 1 && i < lines.length; i++) off += lines[i].length + 1
    return off + Number(lc[2]) - 1
  }
  return /Unexpected end of JSON input/.test(message) ? text.length : null
}

/** Parse `text` (from `source`, e.g. a file name); a syntax error says `source:line:column`. @category io */
export const parseJson = (text: string, source: string): E.Either<TmamlError, unknown> => {
  const body = text.replace(/^\uFEFF/, '')
  try {
    return E.right(JSON.parse(body))
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const off = offsetOf(message, body)
    const at = off === null ? source : `${source}:${lineColumn(body, off).line}:${lineColumn(body, off).column}`
    return E.left(resourceError(at, `not JSON: ${message.replace(/\s*\(line \d+ column \d+\)/, '')}`))
  }
}

/** Read and parse a JSON file; errors name the file (and line:column for a syntax error). @category io */
export const readJsonFile = (file: string): E.Either<TmamlError, unknown> => {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    return E.left(resourceError(file, err instanceof Error ? err.message : String(err)))
  }
  return parseJson(text, file)
}
