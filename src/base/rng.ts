/**
 * Seeded, splittable pseudo-random numbers (xoshiro128**, seeded through splitmix32).
 *
 * Randomness in tmaml-ts is always an argument: a function that needs random numbers takes an `Rng`.
 * Streams are derived by *path* (`rngAt(seed, iteration, task, episode)`) rather than by consuming a
 * parent stream, so the numbers an episode sees do not depend on how episodes were split across
 * worker threads or in which order they ran.
 *
 * @example
 * const rng = rngAt(7, 'tasks', 3)
 * const u = rng.uniform(-1, 1)
 * const saved = rng.state()       // four uint32s, JSON-safe: goes into checkpoints
 * const again = rngFromState(saved) // continues the same stream
 *
 * @packageDocumentation
 */

/** The internal state of an `Rng`: four unsigned 32-bit words. JSON-serialisable (checkpoints). */
export type RngState = readonly [number, number, number, number]

/**
 * A stream of pseudo-random numbers. It is mutable on purpose (one object per stream, advanced in
 * place) because samplers draw millions of numbers per iteration; purity is kept at the API level by
 * passing streams explicitly and deriving them from paths.
 */
export interface Rng {
  /** Uniform on [0, 1) with 32 bits of resolution. */
  readonly next: () => number
  /** Uniform on [lo, hi). */
  readonly uniform: (lo: number, hi: number) => number
  /** Integer uniform on {0, ..., n - 1}; `n` must be a positive integer below 2^32. */
  readonly int: (n: number) => number
  /** Standard normal (Box-Muller). */
  readonly normal: () => number
  /** Fill `out` with standard normals; returns `out`. */
  readonly fillNormal: <A extends Float32Array | Float64Array>(out: A) => A
  /** Sample an index with probabilities proportional to `weights` (non-negative, not all zero). */
  readonly categorical: (weights: ArrayLike<number>) => number
  /** A snapshot of the state; `rngFromState` resumes exactly here. */
  readonly state: () => RngState
}

const splitmix32 = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** FNV-1a over the UTF-16 code units of a string, used to mix labels into paths. */
const hashString = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

const mix = (h: number, x: number): number => {
  // One splitmix round of (h xor x * golden) keeps nearby paths (1, 2, 3 ...) far apart.
  const next = splitmix32((h ^ Math.imul(x >>> 0, 0x9e3779b1)) >>> 0)
  next()
  return next()
}

const toWord = (part: number | string): number => {
  if (typeof part === 'string') return hashString(part)
  if (!Number.isFinite(part)) throw new RangeError(`rng path element must be finite, got ${part}`)
  // Mix both 32-bit halves so seeds above 2^32 stay distinct.
  const lo = part >>> 0
  const hi = Math.floor(part / 4294967296) >>> 0
  return mix(lo, hi)
}

/** Create a stream from a raw state. The all-zero state is invalid for xoshiro and is replaced. */
export const rngFromState = (state: RngState): Rng => {
  let [a, b, c, d] = state.map((w) => w >>> 0) as [number, number, number, number]
  if ((a | b | c | d) === 0) a = 0x9e3779b9

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0
    const t = (b << 9) >>> 0
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    return result
  }
  const next = (): number => nextU32() / 4294967296
  // Only one Box-Muller variate is used: a cached spare would be hidden state outside `state()`.
  const normal = (): number => {
    const u1 = 1 - next() // in (0, 1]: log is finite
    const u2 = next()
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  }
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => {
      if (!Number.isInteger(n) || n <= 0 || n > 4294967296)
        throw new RangeError(`rng.int: n must be a positive integer, got ${n}`)
      // Rejection sampling removes modulo bias.
      const limit = 4294967296 - (4294967296 % n)
      for (;;) {
        const x = nextU32()
        if (x < limit) return x % n
      }
    },
    normal,
    fillNormal: (out) => {
      for (let i = 0; i < out.length; i++) out[i] = normal()
      return out
    },
    categorical: (weights) => {
      let total = 0
      for (let i = 0; i < weights.length; i++) total += weights[i]
      if (!(total > 0)) throw new RangeError('rng.categorical: weights must be non-negative and not all zero')
      let u = next() * total
      for (let i = 0; i < weights.length; i++) {
        u -= weights[i]
        if (u < 0) return i
      }
      return weights.length - 1
    },
    state: () => [a, b, c, d]
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0

/**
 * The stream at a path: `rngAt(seed)` is the root, `rngAt(seed, 'rollouts', it, task, ep)` a leaf.
 * Equal paths give equal streams; any difference in the path gives an unrelated stream.
 */
export const rngAt = (seed: number, ...path: ReadonlyArray<number | string>): Rng => {
  let h = toWord(seed)
  for (const p of path) h = mix(h, toWord(p))
  const sm = splitmix32(h)
  return rngFromState([sm(), sm(), sm(), sm()])
}
