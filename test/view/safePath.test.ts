import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { pathSegments, resolveUnder } from '../../src/view/safePath.js'

const dir = mkdtempSync(join(tmpdir(), 'tmaml-safepath-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const root = join(dir, 'run')
mkdirSync(join(root, 'sub'), { recursive: true })
writeFileSync(join(root, 'a.txt'), 'a')
writeFileSync(join(root, 'sub', 'b.txt'), 'b')
writeFileSync(join(dir, 'secret.txt'), 'secret')
symlinkSync(join(dir, 'secret.txt'), join(root, 'out-file'))
symlinkSync(dir, join(root, 'out-dir'))
symlinkSync(join(root, 'a.txt'), join(root, 'in-link'))

describe('view/safePath', () => {
  describe('pathSegments', () => {
    it('decodes each segment once and keeps a trailing slash as an empty last segment', () => {
      expect(pathSegments('/runs/0/a%20b.txt')).toEqual(['runs', '0', 'a b.txt'])
      expect(pathSegments('/runs/0/')).toEqual(['runs', '0', ''])
      expect(pathSegments('/runs/0/%252e%252e')).toEqual(['runs', '0', '%2e%2e'])
    })

    it('refuses dot segments, encoded ones, encoded slashes, empty segments, NUL and bad escapes', () => {
      for (const p of [
        '/runs/0/../x',
        '/runs/0/./x',
        '/runs/0/%2e%2e/x',
        '/runs/0/%2E%2E%2Fx',
        '/runs/0/..%2fx',
        '/runs/0/..%5cx',
        '/runs/0//etc/passwd',
        '/runs/0/%2fetc%2fpasswd',
        '/runs/0/a%00',
        '/runs/0/%zz',
        'runs/0/a'
      ])
        expect([p, pathSegments(p)]).toEqual([p, undefined])
    })
  })

  describe('resolveUnder', () => {
    it('finds files and folders inside the root, through a symlink that stays inside', async () => {
      expect(await resolveUnder(root, ['sub', 'b.txt'])).toMatchObject({ kind: 'file', size: 1 })
      expect(await resolveUnder(root, ['sub', ''])).toMatchObject({ kind: 'folder' })
      expect(await resolveUnder(root, ['in-link'])).toMatchObject({ kind: 'file' })
    })

    it('refuses symlinks out of the root, absolute and parent paths, and missing files', async () => {
      expect(await resolveUnder(root, ['out-file'])).toBeUndefined()
      expect(await resolveUnder(root, ['out-dir', 'secret.txt'])).toBeUndefined()
      expect(await resolveUnder(root, ['out-dir', ''])).toBeUndefined()
      expect(await resolveUnder(root, ['..', 'secret.txt'])).toBeUndefined()
      expect(await resolveUnder(root, [join(dir, 'secret.txt')])).toBeUndefined()
      expect(await resolveUnder(root, ['nope'])).toBeUndefined()
    })
  })
})
