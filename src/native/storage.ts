/**
 * The `native` backend's storage: MathBackendCPU plus a pool that recycles the output arrays of
 * native kernels. Fresh multi-megabyte typed arrays cost page faults and zeroing on every kernel call,
 * and their garbage collection is late and expensive; recycled ones are already mapped.
 *
 * Safety: an array is recycled only while this backend is its sole holder. It is "live" from the
 * moment a native kernel registers it as an output until its tensor data is released. Any other
 * way the array (or a view of its buffer) can leave the backend makes it escape for good: `readSync`
 * / `read` (dataSync hands the array itself to the caller), and `write` / `move` of a value sharing
 * its buffer (e.g. the cpu Slice kernel returns subarrays of its input).
 *
 * @packageDocumentation
 */
import { totalmem } from 'node:os'
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu'
import type * as tf from '@tensorflow/tfjs-core'

/** Arrays the pool hands out and takes back. */
export type PooledArray = Float32Array | Int32Array

/**
 * Pool settings: arrays shorter than `minLength` are not pooled; the pool keeps at most as many bytes
 * as were ever live at once (its working set: what the next computation of the same shapes needs
 * again), and never more than `maxBytes`.
 */
export interface PoolOptions {
  readonly minLength: number
  readonly maxBytes: number
}

/**
 * Defaults: arrays of >= 1024 elements, at most a quarter of physical memory (TMAML_NATIVE_POOL_MB
 * overrides; 0 disables). Why bounded by the working set and not by a fixed size: a meta-KL HVP of
 * TRPO at 20 tasks x 20 episodes x 100 steps, as a double backward, kept ~1.9 GB of native outputs alive at its peak, and
 * with a 1 GiB pool half of its allocations missed and the HVP took 3x as long (4.2-4.5 s against
 * 1.3-1.5 s measured in one session, at the same 1.93 GiB resident size: the missed arrays stay
 * resident until V8 collects them anyway). Keeping no more than the peak live bytes means the pool
 * raises the resident size only up to the peak already reached.
 */
export const poolOptionsFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): PoolOptions => {
  const fallback = Math.floor(totalmem() / 4)
  const setting = env['TMAML_NATIVE_POOL_MB']
  const mb = setting === undefined || setting.trim() === '' ? NaN : Number(setting)
  return { minLength: 1024, maxBytes: Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : fallback }
}

/** Counters for tests and diagnostics. */
export interface PoolStats {
  readonly pooledBytes: number
  /** Bytes of recyclable arrays held by tensors now, and the most there ever were (the pool's bound). */
  readonly liveBytes: number
  readonly peakLiveBytes: number
  readonly hits: number
  readonly misses: number
  readonly escapes: number
}

type Kind = 'float32' | 'int32'

const keyOf = (a: PooledArray): string => `${a instanceof Int32Array ? 'int32' : 'float32'}:${a.length}`

/**
 * A MathBackendCPU that recycles native kernels' output arrays (see the module comment). The
 * inherited cpu kernels run on it unchanged.
 *
 * @category storage
 * @since 0.1.0
 */
export class NativeBackend extends MathBackendCPU {
  /** Free arrays by kind and length; the most recently freed last (likely still in cache). */
  private readonly free = new Map<string, PooledArray[]>()
  /** Every free array, oldest first: when the pool is full, the oldest go (sizes change over a run). */
  private readonly age = new Set<PooledArray>()
  private readonly live = new WeakMap<ArrayBufferLike, PooledArray>()
  private pooledBytes = 0
  private liveBytes = 0
  private peakLiveBytes = 0
  private hits = 0
  private misses = 0
  private escapes = 0

  constructor(private readonly options: PoolOptions = poolOptionsFromEnv()) {
    super()
    // No "install tfjs-node" banner: this backend is the fast one.
    ;(this as unknown as { firstUse: boolean }).firstUse = false
  }

  /** An array of `n` elements for a native kernel to fill completely (contents unspecified). */
  alloc(kind: Kind, n: number): PooledArray {
    if (n >= this.options.minLength) {
      const list = this.free.get(`${kind}:${n}`)
      const a = list?.pop()
      if (a !== undefined) {
        this.age.delete(a)
        this.pooledBytes -= a.byteLength
        this.hits++
        return a
      }
      this.misses++
    }
    return kind === 'int32' ? new Int32Array(n) : new Float32Array(n)
  }

  /** Register a native kernel's freshly filled output as a tensor; its array becomes recyclable. */
  adopt(shape: number[], dtype: Kind, values: PooledArray): tf.TensorInfo {
    const info = this.makeTensorInfo(shape, dtype, values)
    if (values.length >= this.options.minLength && values.byteOffset === 0 && !this.live.has(values.buffer)) {
      this.live.set(values.buffer, values)
      this.liveBytes += values.byteLength
      this.peakLiveBytes = Math.max(this.peakLiveBytes, this.liveBytes)
    }
    return info
  }

  private escape(values: unknown): void {
    if (ArrayBuffer.isView(values) && this.live.delete(values.buffer)) {
      this.liveBytes -= values.byteLength
      this.escapes++
    }
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    this.escape(values)
    return super.write(values, shape, dtype)
  }

  override move(
    dataId: tf.DataId,
    values: tf.backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
    refCount: number
  ): void {
    this.escape(values)
    super.move(dataId, values, shape, dtype, refCount)
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    this.escape(this.data.get(dataId)?.values)
    return super.readSync(dataId)
  }

  override read(dataId: tf.DataId): Promise<tf.backend_util.BackendValues> {
    this.escape(this.data.get(dataId)?.values)
    return super.read(dataId)
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values
    const released = super.disposeData(dataId, force)
    if (released && (values instanceof Float32Array || values instanceof Int32Array)) {
      if (this.live.get(values.buffer) === values && !this.data.has(dataId)) {
        this.live.delete(values.buffer)
        this.liveBytes -= values.byteLength
        this.recycle(values)
      }
    }
    return released
  }

  /** Return a scratch array that a native kernel took with `alloc` and never made a tensor of. */
  recycle(values: PooledArray): void {
    if (values.length < this.options.minLength || values.byteOffset !== 0) return
    const bound = Math.min(this.options.maxBytes, this.peakLiveBytes)
    if (values.byteLength > bound) return
    while (this.pooledBytes + values.byteLength > bound && this.age.size > 0) this.evictOldest()
    const key = keyOf(values)
    const list = this.free.get(key)
    if (list === undefined) this.free.set(key, [values])
    else list.push(values)
    this.age.add(values)
    this.pooledBytes += values.byteLength
  }

  private evictOldest(): void {
    const oldest = this.age.values().next().value
    if (oldest === undefined) return
    this.age.delete(oldest)
    const list = this.free.get(keyOf(oldest))
    if (list !== undefined) {
      const i = list.indexOf(oldest)
      if (i >= 0) list.splice(i, 1)
    }
    this.pooledBytes -= oldest.byteLength
  }

  /** Drop every pooled array (they are garbage-collected like any other). */
  clearPool(): void {
    this.free.clear()
    this.age.clear()
    this.pooledBytes = 0
  }

  /** Pool counters. */
  poolStats(): PoolStats {
    return {
      pooledBytes: this.pooledBytes,
      liveBytes: this.liveBytes,
      peakLiveBytes: this.peakLiveBytes,
      hits: this.hits,
      misses: this.misses,
      escapes: this.escapes
    }
  }

  override dispose(): void {
    this.clearPool()
    super.dispose()
  }
}
