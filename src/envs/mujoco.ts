/**
 * The MuJoCo WebAssembly module (npm `mujoco-js`, the official build of MuJoCo 3.3.8): one module per
 * thread, loaded once, and MJCF models compiled through its in-memory file system.
 *
 * This file and `mujocoEnv.ts` are the imperative edge of `src/envs`: everything that holds a MuJoCo
 * handle lives there, and every handle is `.delete()`d by its owner.
 *
 * Facts this file encodes (measured, see DESIGN.md "Environments"):
 * - the module is ESM-only and starts in ~100 ms; each module has its own heap, capped at 2 GiB;
 * - XML compile errors arrive as a `CppException` without a message (or, for a document that is not
 *   XML, as a null model), so errors here name the model and the C++ function that threw;
 * - MuJoCo prints warnings through the module's `print` hook: they are captured (not echoed) and kept
 *   in a short ring buffer so that a divergence report can quote them; MuJoCo errors (`mju_error`) are
 *   thrown as JS `Error`s.
 *
 * @packageDocumentation
 */
import type { MainModule, MjModel } from 'mujoco-js'
import * as E from 'fp-ts/lib/Either.js'
import { invalidInput, resourceError, type TmamlError } from '../base/errors.js'

/** The loaded MuJoCo module (one per thread). */
export type Mujoco = MainModule

const recentMessages: string[] = []
const keepMessages = 16
let messageCount = 0

const capture = (line: string): void => {
  if (line.trim() === '') return
  messageCount++
  recentMessages.push(line.trim())
  if (recentMessages.length > keepMessages) recentMessages.shift()
}

/**
 * The last lines MuJoCo printed in this thread (oldest first, at most 16): warnings such as
 * "Nan, Inf or huge value in QACC at DOF 3".
 */
export const mujocoMessages = (): ReadonlyArray<string> => [...recentMessages]

/**
 * How many lines MuJoCo has printed in this thread so far. MuJoCo prints a warning the first time it
 * occurs in an MjData (until the data is reset), so a change of this counter across `mj_step` is a
 * cheap signal that the step raised a warning.
 */
export const mujocoMessageCount = (): number => messageCount

let modulePromise: Promise<Mujoco> | undefined

/**
 * The MuJoCo module of this thread, loaded on first use. Every call returns the same promise, so all
 * environments of a thread share one wasm heap (and a worker thread has its own). A failed load is
 * forgotten, so that a later call tries again.
 */
export const getMujoco = (): Promise<Mujoco> => {
  if (modulePromise === undefined) {
    // MuJoCo's warnings arrive on `print` (captured, not echoed); `printErr` carries the runtime's own
    // diagnostics (aborts), which are captured and still shown.
    const printErr = (line: string): void => {
      capture(line)
      console.error(`mujoco-js: ${line}`)
    }
    const loading = import('mujoco-js').then((m) => m.default({ print: capture, printErr }))
    modulePromise = loading
    loading.catch(() => {
      if (modulePromise === loading) modulePromise = undefined
    })
  }
  return modulePromise
}

/** `getMujoco` as a value: a load failure (missing package, no WebAssembly) becomes a `ResourceError`. */
export const loadMujoco = async (): Promise<E.Either<TmamlError, Mujoco>> => {
  try {
    return E.right(await getMujoco())
  } catch (e) {
    return E.left(
      resourceError(
        'envs: mujoco-js',
        `cannot load the MuJoCo WebAssembly module: ${e instanceof Error ? e.message : String(e)}`
      )
    )
  }
}

/**
 * The size of the module's heap in bytes (the wasm linear memory). It grows when MuJoCo allocates and
 * never shrinks, so a leak shows up as growth across repeated create/dispose or reset/step cycles.
 */
export const heapBytes = (mj: Mujoco): number => {
  const probe = new mj.DoubleBuffer(1)
  try {
    const view: unknown = probe.GetView()
    return view instanceof Float64Array ? view.buffer.byteLength : 0
  } finally {
    probe.delete()
  }
}

/** How much of the module's heap is in use, estimated by `heapInUse`. */
export interface HeapUsage {
  /** Size of the heap when the probe started. */
  readonly heapBytes: number
  /** Bytes that could be allocated in blocks of `blockBytes` before the heap had to grow. */
  readonly freeBytes: number
  /** `heapBytes - freeBytes`: live allocations plus fragments smaller than a block. */
  readonly liveBytes: number
}

/**
 * Estimate the bytes in use on the module's heap: allocate blocks of `blockBytes` until the heap has
 * to grow, then free them. The estimate is exact to within the fragments smaller than a block, which
 * makes it a leak detector: a leak of L bytes raises `liveBytes` by about L, whereas the heap size
 * alone only moves when free space runs out.
 *
 * Side effect: the heap grows by one step (emscripten grows it by ~20%) at every call, since growth is
 * how the probe knows it is full. Use it a few times per process (tests, diagnostics), not in loops.
 */
export const heapInUse = (mj: Mujoco, blockBytes = 16384): HeapUsage => {
  const start = heapBytes(mj)
  const held: Array<{ delete: () => void }> = []
  let free = 0
  try {
    for (;;) {
      const block = new mj.DoubleBuffer(Math.max(1, Math.floor(blockBytes / 8)))
      held.push(block)
      const view: unknown = block.GetView()
      if (!(view instanceof Float64Array) || view.buffer.byteLength !== start) break
      free += blockBytes
    }
  } catch {
    // Out of memory at the 2 GiB cap: what was allocated so far is the free space.
  } finally {
    for (const b of held) b.delete()
  }
  return { heapBytes: start, freeBytes: free, liveBytes: start - free }
}

const describeThrown = (e: unknown): string => {
  if (e instanceof Error) {
    // Emscripten's CppException carries the C++ type in `name` and the throwing function in its stack.
    const frame = /mujoco_wasm\.wasm\.([^\s(][^(]*)\(/.exec(e.stack ?? '')
    const where = frame === null ? '' : ` thrown in ${frame[1].replace(/std::__2::/g, 'std::').slice(0, 120)}`
    return `${e.name}${e.message === undefined || e.message === '' ? '' : `: ${e.message}`}${where}`
  }
  return String(e)
}

let modelCounter = 0

/**
 * Compile an MJCF document. The XML is written to MEMFS under a unique name, compiled with
 * `MjModel.loadFromXML`, and the file removed. A compile failure becomes an `InvalidInput` error that
 * names the model; the caller owns the returned model and must `.delete()` it.
 */
export const compileModel = (mj: Mujoco, name: string, xml: string): E.Either<TmamlError, MjModel> => {
  const dir = '/tmaml-models'
  try {
    if (!mj.FS.analyzePath(dir, false).exists) mj.FS.mkdir(dir)
  } catch (e) {
    return E.left(resourceError(`envs: model '${name}'`, `cannot create ${dir} in MEMFS: ${describeThrown(e)}`))
  }
  const path = `${dir}/${name.replace(/[^A-Za-z0-9_-]/g, '_')}-${modelCounter++}.xml`
  try {
    mj.FS.writeFile(path, xml)
    // Some failures (e.g. a document that is not XML) come back as a null model rather than a throw.
    const m: MjModel | null | undefined = mj.MjModel.loadFromXML(path)
    if (m === null || m === undefined)
      return E.left(
        invalidInput(
          `envs: model '${name}'`,
          'the MJCF failed to compile (MuJoCo returned no model): is it an MJCF document?'
        )
      )
    return E.right(m)
  } catch (e) {
    return E.left(
      invalidInput(
        `envs: model '${name}'`,
        `the MJCF failed to compile (${describeThrown(e)}); this MuJoCo build gives no message, so check the ` +
          'XML against the MuJoCo 3.3 schema (attribute names and value counts)'
      )
    )
  } finally {
    try {
      mj.FS.unlink(path)
    } catch {
      // The file was never written: nothing to remove.
    }
  }
}
