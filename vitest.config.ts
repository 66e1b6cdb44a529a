import { defineConfig } from 'vitest/config'

// Each test file runs in its own forked process: tfjs keeps its engine, kernel and gradient registries in
// process globals, and MuJoCo modules own a wasm heap, so files must not share them.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2
  }
})
