// Importing the library does no work: no tfjs backend is registered and no native addon is loaded
// until a backend is started (`initBackend`), which then registers only what it needs.
import * as tf from '@tensorflow/tfjs-core'
import { describe, expect, it } from 'vitest'

const registered = (): string[] =>
  ['cpu', 'wasm', 'native', 'tensorflow'].filter((name) => tf.findBackendFactory(name) !== null)

describe('importing src/index.ts', () => {
  it('registers no backend; initBackend registers the one it starts', async () => {
    const lib = await import('../../src/index.js')
    expect(registered()).toEqual([])
    const info = await lib.initBackendOrThrow('wasm')
    expect(info.active).toBe('wasm')
    expect(registered()).toEqual(['wasm'])
  })
})
