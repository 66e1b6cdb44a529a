/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// `tmaml view` in a real browser: Debian's chromium, driven headless by playwright-core (no browser is
// downloaded), against the server on a tiny real training run. Screenshots go to the test's temp folder.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { type Browser, type Page, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ViewServer, startViewServer } from '../../src/view/server.js'
import { tinyRun } from '../support/viewRun.js'

const executablePath = process.env['TMAML_CHROMIUM'] ?? '/usr/bin/chromium'
const haveChromium = existsSync(executablePath)
if (!haveChromium)
  console.warn(
    `\n********************************************************************************\n` +
      `SKIPPED: the tmaml view browser tests need chromium at ${executablePath}\n` +
      `(apt-get install chromium; .ci/run installs it; TMAML_CHROMIUM=path for another)\n` +
      `********************************************************************************\n`
  )

// Flags for a root, sandboxed, offline machine (no GPU: WebGL runs on SwiftShader).
const flags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--enable-unsafe-swiftshader',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

const dir = mkdtempSync(join(tmpdir(), 'tmaml-view-browser-'))
let run = ''
let server: ViewServer
let browser: Browser
let page: Page
const problems: string[] = []

/** Vertices of each drawn learning-curve line, in legend order. */
const curvePoints = (): Promise<number[]> =>
  page.$$eval('#curves svg .mark-line path', (ps) =>
    ps.map((p) => (p.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0)
  )

/** Of a replay canvas: pixels unlike the background, pixels of the robot's tint, and a sample of all pixels. */
const canvasPixels = (panel: number) =>
  page.evaluate((i) => {
    const c = document.querySelectorAll<HTMLCanvasElement>('#replay-panels canvas')[i]
    const t = document.createElement('canvas')
    t.width = c.width
    t.height = c.height
    const g = t.getContext('2d') as CanvasRenderingContext2D
    g.drawImage(c, 0, 0)
    const d = g.getImageData(0, 0, t.width, t.height).data
    let foreground = 0
    let tinted = 0
    const sample: number[] = []
    for (let k = 0; k < d.length; k += 4) {
      const [r, gr, b] = [d[k], d[k + 1], d[k + 2]]
      if (Math.abs(r - 0xee) + Math.abs(gr - 0xf2) + Math.abs(b - 0xf5) > 24) foreground++
      if (b > r + 60 && b > gr + 20) tinted++
      if (k % 28 === 0) sample.push(r, gr, b)
    }
    return { foreground, tinted, total: d.length / 4, sample }
  }, panel)

describe.skipIf(!haveChromium)('tmaml view in a real browser', () => {
  beforeAll(async () => {
    run = tinyRun(dir)
    const s = await startViewServer({ folders: [run], port: 0, pollMs: 50 })
    if (E.isLeft(s)) throw new Error(JSON.stringify(s.left))
    server = s.right
    browser = await chromium.launch({ executablePath, args: flags, timeout: 30_000 })
    page = await browser.newPage({ viewport: { width: 1280, height: 1600 } })
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`))
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`)
    })
  })
  afterAll(async () => {
    await browser?.close()
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('loads without console errors and draws one curve point per iteration', async () => {
    await page.goto(server.url)
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 })
    const iterations = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length
    expect(iterations).toBe(3)
    expect(await curvePoints()).toEqual([iterations, iterations]) // post- and pre-adaptation
    expect(await page.textContent('#status')).toContain('3 iterations')
    expect(await page.$$eval('#timings svg .mark-rect path', (ps) => ps.length)).toBeGreaterThanOrEqual(3 * 4)
    expect(await page.textContent('#runs')).toContain('halfcheetah-dir')
    await page.screenshot({ path: join(dir, 'page.png'), fullPage: true })
    expect(problems).toEqual([])
  })

  it('shows a new metrics line without a reload', async () => {
    const before = await page.evaluate(() => performance.timeOrigin)
    const last = JSON.parse(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').pop() ?? '{}')
    appendFileSync(
      join(run, 'metrics.jsonl'),
      JSON.stringify({ ...last, iteration: 3, returnPost: last.returnPost + 1 }) + '\n'
    )
    await page.waitForFunction(
      // The curves and the run summary are redrawn independently: wait for both.
      () =>
        [...document.querySelectorAll('#curves svg .mark-line path')].every(
          (p) => (p.getAttribute('d') ?? '').match(/[ML]/g)?.length === 4
        ) && document.getElementById('status')?.dataset['iterations'] === '4',
      undefined,
      { timeout: 15_000 }
    )
    expect(await curvePoints()).toEqual([4, 4])
    expect(await page.textContent('#status')).toContain('4 iterations')
    expect(await page.evaluate(() => performance.timeOrigin)).toBe(before) // the same document: no reload
    expect(problems).toEqual([])
  })

  it('replays in 3D: the robot is drawn, and the picture changes between two frames', async () => {
    await page.selectOption('#replay-task', JSON.stringify({ direction: -1 }))
    await page.selectOption('#replay-steps', '2')
    await page.click('#replay-go')
    await page.waitForSelector('#replay-controls:not([hidden])', { timeout: 60_000 })
    expect(await page.$$eval('#replay-panels canvas', (cs) => cs.length)).toBe(3) // before, after 1, after 2
    const first = await canvasPixels(0)
    expect(first.foreground).toBeGreaterThan(first.total * 0.2)
    expect(first.tinted).toBeGreaterThan(200)
    expect(await page.textContent('#replay-panels .return')).toContain('return so far 0.00')
    await page.$eval('#scrub', (el) => {
      const s = el as HTMLInputElement
      s.value = s.max
      s.dispatchEvent(new Event('input'))
    })
    const lastFrame = await canvasPixels(0)
    const changed = first.sample.filter((v, i) => Math.abs(v - lastFrame.sample[i]) > 8).length
    expect(changed).toBeGreaterThan(100)
    expect(await page.textContent('#frame-label')).toBe('frame 20 / 20')
    expect(await page.textContent('#replay-panels .return')).not.toContain('return so far 0.00')
    await (await page.$('#replay-section'))?.screenshot({ path: join(dir, 'replay.png') })
    expect(problems).toEqual([])
  })
})
