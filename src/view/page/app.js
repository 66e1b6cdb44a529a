// The tmaml view page: learning curves, timings and run details from the server's JSON API, drawn
// with vega from the vega-lite specs the server builds (the same specs as `tmaml plot`), redrawn when
// the server reports new metrics lines; and the replay (replay.js). vega and vegaLite are globals
// from their browser builds.
import { Replay } from '/page/replay.js'

const $ = (id) => document.getElementById(id)

const getJson = async (url) => {
  const r = await fetch(url)
  const body = await r.json()
  if (!r.ok) throw new Error(body.error ?? `${url}: ${r.status}`)
  return body
}

const shown = (v) => (typeof v === 'string' ? v : JSON.stringify(v))

const views = new Map()
/** Draw a vega-lite spec into `el` (SVG, so that what is drawn can be read from the page). */
const draw = async (el, spec) => {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'svg', container: el, hover: false })
  await view.runAsync()
  views.get(el)?.finalize()
  views.set(el, view)
}

const fail = (where, err) => {
  const msg = `${where}: ${err instanceof Error ? err.message : String(err)}`
  $('status').textContent = msg
  $('status').className = 'error'
}

// ---------------------------------------------------------------------------------------------
// learning curves
// ---------------------------------------------------------------------------------------------

const metricChoices = (fields) => {
  const out = []
  if (fields.includes('returnPost') || fields.includes('returnPre'))
    out.push({
      label: 'returns before/after adaptation',
      metrics: ['returnPost', 'returnPre'].filter((f) => fields.includes(f))
    })
  if (fields.includes('evalPost') || fields.includes('evalPre'))
    out.push({
      label: 'held-out returns before/after adaptation',
      metrics: ['evalPost', 'evalPre'].filter((f) => fields.includes(f))
    })
  for (const f of fields) out.push({ label: f, metrics: [f] })
  return out
}

let curveVersion = 0
const drawCurves = async () => {
  const option = $('metric').selectedOptions[0]
  const metrics = option === undefined ? 'returnPost,returnPre' : option.value
  const x = $('x').value
  const width = Math.max(480, Math.min(1100, document.body.clientWidth - 48))
  const c = await getJson(`/api/curves?metrics=${encodeURIComponent(metrics)}&x=${x}&width=${width}&height=420`)
  await draw($('curves'), c.spec)
  $('curves').dataset.series = JSON.stringify(c.series)
  $('curves').dataset.version = String(++curveVersion)
  $('curves-note').textContent = c.series.map((s) => `${s.name}: ${s.points} points`).join(' · ')
}

// ---------------------------------------------------------------------------------------------
// runs, timings
// ---------------------------------------------------------------------------------------------

let runs = []

const drawRuns = () => {
  const box = $('runs')
  box.replaceChildren(
    ...runs.map((r) => {
      const d = document.createElement('details')
      d.open = runs.length === 1
      const s = document.createElement('summary')
      s.textContent = `${r.name} — ${r.iterations} iterations`
      const table = document.createElement('table')
      table.className = 'prov'
      for (const [k, v] of Object.entries(r.provenance)) {
        if (v === null) continue
        const tr = table.insertRow()
        tr.insertCell().textContent = k
        tr.insertCell().textContent = shown(v)
      }
      const pre = document.createElement('pre')
      pre.className = 'config'
      pre.textContent = r.config === null ? r.problems.join('\n') : JSON.stringify(r.config, null, 2)
      d.append(s, table, pre)
      return d
    })
  )
  const total = runs.reduce((a, r) => a + r.iterations, 0)
  $('status').textContent = `${runs.length} run${runs.length === 1 ? '' : 's'}, ${total} iterations recorded`
  $('status').dataset.iterations = String(total)
}

const fillRunSelect = (select) => {
  const keep = select.value
  select.replaceChildren(...runs.map((r) => new Option(r.name, String(r.id))))
  if (keep !== '') select.value = keep
}

const drawTimings = async () => {
  const width = Math.max(480, Math.min(1100, document.body.clientWidth - 48))
  await draw($('timings'), await getJson(`/api/timings?run=${$('timing-run').value || 0}&width=${width}`))
}

const refreshRuns = async () => {
  runs = await getJson('/api/runs')
  drawRuns()
}

// ---------------------------------------------------------------------------------------------
// replay
// ---------------------------------------------------------------------------------------------

const replay = new Replay({
  panels: $('replay-panels'),
  controls: $('replay-controls'),
  play: $('play'),
  scrub: $('scrub'),
  label: $('frame-label')
})

const fillTasks = async () => {
  const tasks = await getJson(`/api/tasks?run=${$('replay-run').value || 0}`)
  $('replay-task').replaceChildren(...tasks.map((t) => new Option(shown(t), JSON.stringify(t))))
}

const record = async () => {
  const status = $('replay-status')
  status.className = 'note'
  status.textContent = 'recording (sampling, adapting, sampling again)…'
  $('replay-go').disabled = true
  try {
    const run = $('replay-run').value || '0'
    const q = new URLSearchParams({
      run,
      from: $('replay-from').value,
      task: $('replay-task').value,
      steps: $('replay-steps').value,
      seed: $('replay-seed').value || '0',
      show: '1'
    })
    const [rec, model] = await Promise.all([getJson(`/api/replay?${q}`), getJson(`/api/model?run=${run}`)])
    await replay.show(rec, model.xml)
    const returns = rec.steps.map((s) => s.meanReturn.toFixed(1)).join(' → ')
    status.textContent = `mean return over the batch: ${returns}`
  } catch (err) {
    status.className = 'error'
    status.textContent = err instanceof Error ? err.message : String(err)
  } finally {
    $('replay-go').disabled = false
  }
}

// ---------------------------------------------------------------------------------------------
// start
// ---------------------------------------------------------------------------------------------

const start = async () => {
  await refreshRuns()
  const fields = await getJson('/api/fields')
  $('metric').replaceChildren(...metricChoices(fields).map((c) => new Option(c.label, c.metrics.join(','))))
  for (const s of [$('replay-run'), $('timing-run')]) fillRunSelect(s)
  await Promise.all([drawCurves(), drawTimings(), fillTasks()])
  $('metric').addEventListener('change', () => drawCurves().catch((e) => fail('curves', e)))
  $('x').addEventListener('change', () => drawCurves().catch((e) => fail('curves', e)))
  $('timing-run').addEventListener('change', () => drawTimings().catch((e) => fail('timings', e)))
  $('replay-run').addEventListener('change', () => fillTasks().catch((e) => fail('tasks', e)))
  $('replay-go').addEventListener('click', () => record())

  // Live: the server says when a run's metrics.jsonl grew (or was rewritten); redraw what depends on it.
  let pending = false
  const update = () => {
    if (pending) return
    pending = true
    setTimeout(() => {
      pending = false
      Promise.all([refreshRuns(), drawCurves(), drawTimings()]).catch((e) => fail('update', e))
    }, 100)
  }
  const events = new EventSource('/api/events')
  events.addEventListener('metrics', update)
  events.addEventListener('reset', update)
  document.body.dataset.ready = 'true'
}

start().catch((e) => fail('start', e))
