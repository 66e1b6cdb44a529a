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
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu'
import type * as tf from '@tensorflow/tfjs-core'

/** Arrays the pool hands out and takes back. */
export type PooledArray = Float32Array | Int32Array

/** Pool settings: arrays shorter than `minLength` are not pooled; at most `maxBytes` are kept. */
export interface PoolOptions {
  readonly minLength: number
  readonly maxBytes: number
}

/**
 * Defaults: arrays of >= 1024 elements, up to 1 GiB (TMAML_NATIVE_POOL_MB overrides; 0 disables).
 * A meta-KL HVP of the benchmark workload keeps ~1.3 GB of tensors alive at its peak; a pool that
 * can hold most of them makes the next call allocation-free. The pool never grows beyond what
 * was live at some point, so it raises the resident size only up to the peak already reached.
 */
export const poolOptionsFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): PoolOptions => {
  const mb = Number(env['TMAML_NATIVE_POOL_MB'] ?? '1024')
  return { minLength: 1024, maxBytes: Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : 2 ** 30 }
}

/** Counters for tests and diagnostics. */
export interface PoolStats {
  readonly pooledBytes: number
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
    if (values.length >= this.options.minLength && values.byteOffset === 0) this.live.set(values.buffer, values)
    return info
  }

  private escape(values: unknown): void {
    if (ArrayBuffer.isView(values) && this.live.delete(values.buffer)) this.escapes++
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
        this.recycle(values)
      }
    }
    return released
  }

  /** Return a scratch array that a native kernel took with `alloc` and never made a tensor of. */
  recycle(values: PooledArray): void {
    if (values.length < this.options.minLength || values.byteOffset !== 0) return
    if (values.byteLength > this.options.maxBytes) return
    while (this.pooledBytes + values.byteLength > this.options.maxBytes && this.age.size > 0) this.evictOldest()
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
    return { pooledBytes: this.pooledBytes, hits: this.hits, misses: this.misses, escapes: this.escapes }
  }

  override dispose(): void {
    this.clearPool()
    super.dispose()
  }
}
