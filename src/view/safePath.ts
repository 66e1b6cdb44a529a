/**
 * Which file a request may read: the only part of `tmaml view` that touches paths from the network.
 * A request path is split into segments, each percent-decoded once; anything but plain names
 * (empty, `.`, `..`, a slash or backslash or NUL after decoding, a malformed escape) is refused.
 * A file is then served only if its real path, symlinks resolved, lies inside the real path of its
 * root: a symlink out of a run folder is refused like `../`.
 *
 * @packageDocumentation
 */
import { realpath, stat } from 'node:fs/promises'
import { join, sep } from 'node:path'

/**
 * The decoded segments of `pathname` (without a leading slash), or undefined when one is not a plain name.
 * A trailing slash gives a final empty segment, which marks a folder.
 *
 * @category paths
 */
export const pathSegments = (pathname: string): ReadonlyArray<string> | undefined => {
  if (!pathname.startsWith('/')) return undefined
  const raw = pathname.slice(1).split('/')
  const out: string[] = []
  for (let i = 0; i < raw.length; i++) {
    let s: string
    try {
      s = decodeURIComponent(raw[i])
    } catch {
      return undefined
    }
    const last = i === raw.length - 1
    if (s === '' && last) {
      out.push('')
      continue
    }
    if (s === '' || s === '.' || s === '..' || /[/\\\0]/.test(s)) return undefined
    out.push(s)
  }
  return out
}

/** A file or folder inside a root, found by `resolveUnder`. */
export interface Resolved {
  readonly path: string
  readonly kind: 'file' | 'folder'
  readonly size: number
}

/**
 * The real path of `root/segments...` if it exists and lies inside the real path of `root` (or is it);
 * undefined otherwise (missing, unreadable, or outside through a symlink).
 *
 * @category paths
 */
export const resolveUnder = async (root: string, segments: ReadonlyArray<string>): Promise<Resolved | undefined> => {
  try {
    const realRoot = await realpath(root)
    const real = await realpath(join(realRoot, ...segments.filter((s) => s !== '')))
    if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) return undefined
    const s = await stat(real)
    if (s.isDirectory()) return { path: real, kind: 'folder', size: 0 }
    return s.isFile() ? { path: real, kind: 'file', size: s.size } : undefined
  } catch {
    return undefined
  }
}
