// The 3D replay: recorded positions (qpos per frame, from the server's `recordAdaptation`) turned into
// body poses by MuJoCo itself, in the browser (mujoco-js: set qpos, mj_forward, read xpos/xquat), and
// drawn with three.js, one panel per policy (before adaptation, after 1..k inner steps), all on one
// clock. MuJoCo is z-up: the cameras are too (camera.up = z), so poses need no axis conversion.
import * as THREE from '/vendor/three.module.js'
import loadMujoco from '/vendor/mujoco_wasm.js'

const background = new THREE.Color('#eef2f5')
let mujoco
const getMujoco = () => (mujoco ??= loadMujoco())

/** MuJoCo's (w, x, y, z) at `q[4 i ..]` as a three.js quaternion. */
const quatAt = (q, i) => new THREE.Quaternion(q[4 * i + 1], q[4 * i + 2], q[4 * i + 3], q[4 * i])

/** A compiled model and one MjData to compute poses with. */
const compile = async (xml) => {
  const mj = await getMujoco()
  if (!mj.FS.analyzePath('/view', false).exists) mj.FS.mkdir('/view')
  mj.FS.writeFile('/view/model.xml', xml)
  const model = mj.MjModel.loadFromXML('/view/model.xml')
  const data = new mj.MjData(model)
  return { mj, model, data }
}

/** The shape of geom g (MuJoCo geom types: 0 plane, 2 sphere, 3 capsule, 4 ellipsoid, 5 cylinder, 6 box). */
const geometryOf = (type, s) => {
  switch (type) {
    case 0:
      return new THREE.PlaneGeometry(s[0] > 0 ? 2 * s[0] : 60, s[1] > 0 ? 2 * s[1] : 60)
    case 2:
      return new THREE.SphereGeometry(s[0], 20, 14)
    case 3:
      return new THREE.CapsuleGeometry(s[0], 2 * s[1], 6, 16).rotateX(Math.PI / 2)
    case 4:
      return new THREE.SphereGeometry(1, 20, 14).scale(s[0], s[1], s[2])
    case 5:
      return new THREE.CylinderGeometry(s[0], s[0], 2 * s[1], 16).rotateX(Math.PI / 2)
    case 6:
      return new THREE.BoxGeometry(2 * s[0], 2 * s[1], 2 * s[2])
    default:
      return undefined
  }
}

/** One group per body with its geoms as children, placed from geom_pos/geom_quat once. */
const buildBodies = (model, scene, tint) => {
  const groups = Array.from({ length: model.nbody }, () => new THREE.Group())
  for (const g of groups) scene.add(g)
  const type = model.geom_type
  const size = model.geom_size
  const pos = model.geom_pos
  const quat = model.geom_quat
  const body = model.geom_bodyid
  const rgba = model.geom_rgba
  const matid = model.geom_matid
  const matRgba = model.mat_rgba
  for (let g = 0; g < model.ngeom; g++) {
    const geometry = geometryOf(type[g], [size[3 * g], size[3 * g + 1], size[3 * g + 2]])
    if (geometry === undefined) continue
    const m = matid[g]
    const c =
      m >= 0
        ? [matRgba[4 * m], matRgba[4 * m + 1], matRgba[4 * m + 2], matRgba[4 * m + 3]]
        : [rgba[4 * g], rgba[4 * g + 1], rgba[4 * g + 2], rgba[4 * g + 3]]
    if (c[3] === 0) continue
    const isPlane = type[g] === 0
    // MuJoCo's default grey means the model chose no colour: the panel's tint tells the policies apart.
    const grey = c[0] === 0.5 && c[1] === 0.5 && c[2] === 0.5
    const material = new THREE.MeshStandardMaterial({
      color: isPlane ? new THREE.Color('#d9dde2') : grey ? new THREE.Color(tint) : new THREE.Color(c[0], c[1], c[2]),
      roughness: 0.8,
      transparent: c[3] < 1,
      opacity: c[3]
    })
    const mesh = new THREE.Mesh(geometry, material)
    mesh.position.set(pos[3 * g], pos[3 * g + 1], pos[3 * g + 2])
    mesh.quaternion.copy(quatAt(quat, g))
    groups[body[g]].add(mesh)
    if (isPlane) {
      // Lines on the floor, so that moving forward is visible.
      const grid = new THREE.GridHelper(60, 120, 0x5d6670, 0x7d8792)
      grid.rotation.x = Math.PI / 2
      grid.position.set(pos[3 * g], pos[3 * g + 1], pos[3 * g + 2] + 0.002)
      groups[body[g]].add(grid)
    }
  }
  return groups
}

const lights = (scene) => {
  scene.add(new THREE.HemisphereLight(0xffffff, 0x667788, 1.6))
  const sun = new THREE.DirectionalLight(0xffffff, 1.8)
  sun.position.set(3, -4, 6)
  scene.add(sun)
}

// Before adaptation blue, after it orange then green (the learning curves' palette order).
const tintOf = (innerStep) => ['#0072B2', '#E69F00', '#009E73', '#D55E00'][Math.min(innerStep, 3)]

const returnsSoFar = (rewards) => {
  const out = [0]
  for (const r of rewards) out.push(out[out.length - 1] + r)
  return out
}

/** A panel: its canvas, renderer, scene, camera and how to pose frame f. */
const makePanel = (container, title) => {
  const box = document.createElement('div')
  box.className = 'panel'
  const h = document.createElement('h3')
  h.textContent = title
  const canvas = document.createElement('canvas')
  canvas.width = 720
  canvas.height = 480
  const ret = document.createElement('div')
  ret.className = 'return'
  box.append(h, canvas, ret)
  container.append(box)
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true })
  renderer.setSize(720, 480, false)
  const scene = new THREE.Scene()
  scene.background = background
  lights(scene)
  const camera = new THREE.PerspectiveCamera(40, 720 / 480, 0.05, 200)
  camera.up.set(0, 0, 1)
  return { box, canvas, ret, renderer, scene, camera }
}

/** What a panel shows: the meta-policy, or the policy after k inner steps. */
const panelTitle = (k) => (k === 0 ? 'before adaptation (meta-policy)' : `after ${k} inner step${k === 1 ? '' : 's'}`)

/** A MuJoCo robot's panels: poses from qpos by mj_forward. */
const robotScene = async (xml, steps, container) => {
  const { mj, model, data } = await compile(xml)
  const panels = steps.map((s) => {
    const p = makePanel(container, panelTitle(s.innerStep))
    return {
      ...p,
      bodies: buildBodies(model, p.scene, tintOf(s.innerStep)),
      episode: s.episodes[0],
      returns: returnsSoFar(s.episodes[0].rewards)
    }
  })
  const pose = (panel, f) => {
    const frames = panel.episode.qpos
    const q = frames[Math.min(f, frames.length - 1)]
    data.qpos.set(q)
    mj.mj_forward(model, data)
    const xpos = data.xpos
    const xquat = data.xquat
    panel.bodies.forEach((g, b) => {
      if (b === 0) return
      g.position.set(xpos[3 * b], xpos[3 * b + 1], xpos[3 * b + 2])
      g.quaternion.copy(quatAt(xquat, b))
    })
    // Follow the root body.
    const x = xpos[3],
      y = xpos[4]
    panel.camera.position.set(x + 0.6, y - 3.6, 1.4)
    panel.camera.lookAt(x, y, 0.4)
  }
  const dispose = () => {
    data.delete()
    model.delete()
  }
  return { panels, pose, dispose }
}

/** A JS env's panels (point2d, point1d): a ball on the floor, the goal when the task has one. */
const pointScene = (steps, task, container) => {
  const goal = Array.isArray(task?.goal) ? task.goal : typeof task?.goal === 'number' ? [task.goal, 0] : undefined
  const panels = steps.map((s) => {
    const p = makePanel(container, panelTitle(s.innerStep))
    const floor = new THREE.GridHelper(2, 20, 0x5d6670, 0x9aa3ad)
    floor.rotation.x = Math.PI / 2
    p.scene.add(floor)
    const ball = new THREE.Mesh(
      new THREE.SphereGeometry(0.03, 20, 14),
      new THREE.MeshStandardMaterial({ color: tintOf(s.innerStep) })
    )
    p.scene.add(ball)
    if (goal !== undefined) {
      const g = new THREE.Mesh(
        new THREE.CylinderGeometry(0.04, 0.04, 0.005, 24).rotateX(Math.PI / 2),
        new THREE.MeshStandardMaterial({ color: '#D55E00' })
      )
      g.position.set(goal[0], goal[1] ?? 0, 0)
      p.scene.add(g)
    }
    p.camera.position.set(0, -1.3, 1.3)
    p.camera.lookAt(0, 0, 0)
    return { ...p, ball, episode: s.episodes[0], returns: returnsSoFar(s.episodes[0].rewards) }
  })
  const pose = (panel, f) => {
    const frames = panel.episode.qpos
    const q = frames[Math.min(f, frames.length - 1)]
    panel.ball.position.set(q[0], q[1] ?? 0, 0.03)
  }
  return { panels, pose, dispose: () => undefined }
}

/** The replay widget: panels side by side, play/pause, a scrub slider, the return so far under each. */
export class Replay {
  constructor({ panels, controls, play, scrub, label }) {
    this.container = panels
    this.controls = controls
    this.playButton = play
    this.scrub = scrub
    this.label = label
    this.scene = undefined
    this.frame = 0
    this.frames = 0
    this.playing = false
    this.dt = 0.05
    play.addEventListener('click', () => (this.playing ? this.pause() : this.play()))
    scrub.addEventListener('input', () => {
      this.pause()
      this.setFrame(Number(scrub.value))
    })
  }

  async show(recording, xml) {
    this.pause()
    this.scene?.dispose()
    for (const p of this.scene?.panels ?? []) p.renderer.dispose()
    this.container.replaceChildren()
    this.scene =
      xml === null
        ? pointScene(recording.steps, recording.task, this.container)
        : await robotScene(xml, recording.steps, this.container)
    this.frames = Math.max(...recording.steps.map((s) => s.episodes[0].qpos.length))
    this.dt = recording.dt ?? 0.05
    this.scrub.max = String(this.frames - 1)
    this.controls.hidden = false
    this.setFrame(0)
  }

  setFrame(f) {
    if (this.scene === undefined) return
    this.frame = Math.max(0, Math.min(this.frames - 1, f))
    this.scrub.value = String(this.frame)
    this.label.textContent = `frame ${this.frame} / ${this.frames - 1}`
    for (const p of this.scene.panels) {
      this.scene.pose(p, this.frame)
      p.renderer.render(p.scene, p.camera)
      const steps = p.returns.length - 1
      const k = Math.min(this.frame, steps)
      p.ret.textContent = `return so far ${p.returns[k].toFixed(2)} (step ${k} of ${steps}; episode ${p.episode.return.toFixed(2)})`
    }
  }

  play() {
    if (this.scene === undefined) return
    if (this.frame >= this.frames - 1) this.setFrame(0)
    this.playing = true
    this.playButton.textContent = 'pause'
    let last = performance.now()
    let acc = 0
    const tick = (now) => {
      if (!this.playing) return
      acc += (now - last) / 1000
      last = now
      const advance = Math.floor(acc / this.dt)
      if (advance > 0) {
        acc -= advance * this.dt
        this.setFrame(this.frame + advance)
      }
      if (this.frame >= this.frames - 1) return this.pause()
      requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  }

  pause() {
    this.playing = false
    this.playButton.textContent = 'play'
  }
}
