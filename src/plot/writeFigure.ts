/**
 * `writeFigure`: a chart to `<path>.svg` and `<path>.png`, each written atomically (temp file in the
 * same folder, then rename), so a reader never sees a half-written figure.
 *
 * @packageDocumentation
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { pipe } from 'fp-ts/lib/function.js'
import { type TmamlError, resourceError } from '../base/errors.js'
import type { LineChart } from './chart.js'
import { type ChartSpec, type SpecSize, lineChartSpec } from './lineSpec.js'
import { type PngOptions, renderPng } from './renderPng.js'
import { renderSvg } from './renderSvg.js'

/** Where a figure was written. */
export interface FigurePaths {
  readonly svg: string
  readonly png: string
}

/** Options of `writeFigure`: the drawing size and the PNG scale. */
export type FigureOptions = SpecSize & PngOptions

/**
 * Write `data` to `path` atomically: a temp file beside it, then rename over it. Creates the folder.
 *
 * @category utils
 */
export const writeFileAtomic = (path: string, data: string | Uint8Array): TE.TaskEither<TmamlError, string> =>
  TE.tryCatch(
    async () => {
      await mkdir(dirname(path), { recursive: true })
      const tmp = `${path}.${process.pid}.tmp`
      try {
        await writeFile(tmp, data)
        await rename(tmp, path)
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      }
      return path
    },
    (err) => resourceError(path, `cannot write: ${err instanceof Error ? err.message : String(err)}`)
  )

/**
 * Render a vega-lite spec and write `<path>.svg` and `<path>.png` (`path` has no extension; a
 * trailing `.svg` or `.png` is dropped).
 *
 * @category rendering
 */
export const writeSpecFigure = (
  path: string,
  spec: ChartSpec,
  options: PngOptions = {}
): TE.TaskEither<TmamlError, FigurePaths> => {
  const base = path.replace(/\.(svg|png)$/i, '')
  return pipe(
    renderSvg(spec),
    TE.chain((svg) => TE.map((png: Uint8Array) => ({ svg, png }))(TE.fromEither(renderPng(svg, options)))),
    TE.chain((r) =>
      pipe(
        writeFileAtomic(`${base}.svg`, r.svg),
        TE.chain((svgPath) =>
          TE.map((pngPath: string) => ({ svg: svgPath, png: pngPath }))(writeFileAtomic(`${base}.png`, r.png))
        )
      )
    )
  )
}

/**
 * Render `chart` (through `lineChartSpec`) and write `<path>.svg` and `<path>.png`.
 *
 * @example
 * const written = await writeFigure('runs/learning-curves', chart)() // Either<TmamlError, { svg, png }>
 *
 * @category rendering
 */
export const writeFigure = (
  path: string,
  chart: LineChart,
  options: FigureOptions = {}
): TE.TaskEither<TmamlError, FigurePaths> => writeSpecFigure(path, lineChartSpec(chart, options), options)
