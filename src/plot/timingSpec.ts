/**
 * `timingSpec`: where an iteration's wall time went, as a vega-lite stacked bar (one bar per
 * iteration, one segment per stage). The `tmaml view` page draws it; `renderSvg` renders it too.
 *
 * @packageDocumentation
 */
import { type ChartSpec, chartConfig } from './lineSpec.js'
import { palette } from './palette.js'

/** Seconds one stage took in one iteration. */
export interface TimingRow {
  readonly iteration: number
  readonly stage: string
  readonly seconds: number
}

/**
 * Timing rows of metrics lines (`{iteration, timings: {stage: seconds}}`); non-finite values are left out.
 *
 * @category data
 */
export const timingRows = (
  lines: ReadonlyArray<{ readonly iteration: number; readonly timings?: Readonly<Record<string, number>> }>
): ReadonlyArray<TimingRow> =>
  lines.flatMap((l) =>
    Object.entries(l.timings ?? {})
      .filter(([, s]) => typeof s === 'number' && Number.isFinite(s))
      .map(([stage, seconds]) => ({ iteration: l.iteration, stage, seconds }))
  )

/**
 * The stacked bar of `rows`: iteration across, seconds up, stages stacked in the order they first
 * appear, coloured from the palette.
 *
 * @category specs
 */
export const timingSpec = (
  rows: ReadonlyArray<TimingRow>,
  size: { readonly width?: number; readonly height?: number; readonly title?: string } = {}
): ChartSpec => {
  const stages = [...new Set(rows.map((r) => r.stage))]
  const order = new Map(stages.map((s, i) => [s, i]))
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: size.width ?? 720,
    height: size.height ?? 300,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 10,
    config: chartConfig,
    title: size.title ?? 'seconds per iteration, by stage',
    data: { values: rows.map((r) => ({ ...r, stageOrder: order.get(r.stage) ?? 0 })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'iteration', type: 'ordinal', title: 'iteration', axis: { labelOverlap: 'parity', labelAngle: 0 } },
      y: { field: 'seconds', type: 'quantitative', stack: 'zero', title: 'seconds' },
      color: {
        field: 'stage',
        type: 'nominal',
        scale: { domain: stages, range: stages.map((_, i) => palette[i % palette.length]) },
        legend: { title: null, orient: 'right' }
      },
      order: { field: 'stageOrder' }
    }
  } as unknown as ChartSpec
}
