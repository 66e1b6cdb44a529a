// Prints the compiler or linker flags for OpenBLAS, for binding.gyp (`node blasFlags.mjs include|libs`):
// pkg-config when it knows openblas, else the Debian/Ubuntu and common install locations. Prints
// nothing for includes it cannot find; the compile then fails with a clear "cblas.h not found".
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const what = process.argv[2]

const pkgConfig = (flag) => {
  try {
    return execFileSync('pkg-config', [flag, 'openblas'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim()
  } catch {
    return null
  }
}

const candidates = [
  '/usr/include/x86_64-linux-gnu/openblas-pthread',
  '/usr/include/aarch64-linux-gnu/openblas-pthread',
  '/usr/include/x86_64-linux-gnu/openblas-openmp',
  '/usr/include/openblas',
  '/usr/local/include/openblas',
  '/opt/homebrew/opt/openblas/include',
  '/usr/local/opt/openblas/include'
]

if (what === 'include') {
  const flags = pkgConfig('--cflags-only-I')
  if (flags !== null && flags !== '') {
    console.log(
      flags
        .split(/\s+/)
        .map((f) => f.replace(/^-I/, ''))
        .join(' ')
    )
  } else {
    const dir = candidates.find((d) => existsSync(`${d}/cblas.h`))
    console.log(dir ?? '')
  }
} else if (what === 'libs') {
  const flags = pkgConfig('--libs')
  console.log(flags !== null && flags !== '' ? flags : '-lopenblas')
} else {
  console.error('usage: node blasFlags.mjs include|libs')
  process.exit(2)
}
