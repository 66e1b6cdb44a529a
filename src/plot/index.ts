/**
 * Plotting: charts as data, described as vega-lite specs, rendered to SVG (vega, headless) and PNG
 * (resvg) without a browser; learning curves from run folders; aggregation and Markdown tables for
 * experiments.
 *
 * @packageDocumentation
 */
export * from './chart.js'
export * from './palette.js'
export * from './textWidth.js'
export * from './lineSpec.js'
export * from './timingSpec.js'
export * from './renderSvg.js'
export * from './renderPng.js'
export * from './writeFigure.js'
export * from './aggregate.js'
export * from './renderTable.js'
export * from './readRun.js'
export * from './learningCurves.js'
