/**
 * The paper's experiments as library functions (the `tmaml experiment` commands call these):
 * gradient accuracy (Fig. 4), gradient variance along training (Fig. 2), method comparison (Fig. 3 /
 * Table 1), and the statistics they use.
 *
 * @packageDocumentation
 */
export * from './stats.js'
export * from './progress.js'
export * from './report.js'
export * from './metaGradients.js'
export * from './gradAccuracy.js'
export * from './gradVariance.js'
export * from './compare.js'
