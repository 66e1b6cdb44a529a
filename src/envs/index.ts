/**
 * Task distributions on MuJoCo (official WebAssembly build) and exact small environments, vectorised
 * and seeded. See README.md in this folder.
 *
 * @packageDocumentation
 */
export * from './mujoco.js'
export * from './mujocoEnv.js'
export * from './pointEnvs.js'
export * from './registry.js'
export * from './rewards.js'
export * from './robots.js'
export * from './tabularMdp.js'
export * from './tasks.js'
export * from './vecEnv.js'
