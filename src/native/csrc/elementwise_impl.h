// Element-wise, broadcasting and reduction loops, compiled once per instruction set: each
// elementwise_<isa>.cc sets `#pragma GCC target(...)`, defines TMAML_SIMD_NS and includes this
// file. The loops are written branch-free so that GCC auto-vectorises them (-O3); exp and tanh use
// polynomial approximations (below) instead of libm calls, which do not vectorise.
//
// Numerics (checked against the tfjs cpu kernels in test/native):
//   add, sub, mul, div, squaredDifference, max, min, neg, square, abs, relu, sqrt, reciprocal,
//   rsqrt: identical to the cpu kernel, which computes in double and rounds once (squaredDifference
//   and rsqrt are computed in double here too). exp, tanh, sigmoid: <= 4 ulp. log: in double, then
//   rounded (<= 1 ulp from V8's Math.log). Sums and means accumulate in double.

namespace tmaml {
namespace TMAML_SIMD_NS {

namespace {

inline float bitsToFloat(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

// e^x for float32. Range reduction x = k ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 split in a
// high part with trailing zero bits, so k * kLn2Hi is exact for |k| <= 150), the Taylor polynomial
// of e^r to degree 7 (truncation < 6e-9 relative on that interval), and 2^k applied as two
// power-of-two factors so that results down to the subnormal range are rounded once.
// Inputs are clamped to [-104, 89]: exp(-104) rounds to 0 and exp(89) overflows to +inf, so
// clamping does not change any result. NaN propagates.
inline float expf32(float x) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693145751953125f;
  const float kLn2Lo = 1.42860676533018704e-6f;
  const float kShift = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const bool isNan = x != x;
  float xc = x < -104.0f ? -104.0f : x;
  xc = xc > 89.0f ? 89.0f : xc;
  xc = isNan ? 0.0f : xc;
  const float kf = (xc * kLog2e + kShift) - kShift;
  float r = xc - kf * kLn2Hi;
  r = r - kf * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t k = static_cast<int32_t>(kf);
  const int32_t k1 = k >> 1;  // floor(k / 2), so both halves stay within normal exponents
  const int32_t k2 = k - k1;
  const float s1 = bitsToFloat((k1 + 127) << 23);
  const float s2 = bitsToFloat((k2 + 127) << 23);
  const float y = (p * s1) * s2;
  return isNan ? x : y;
}

// tanh for float32. |x| < 0.5: the odd Taylor series to x^17 (next term < 1e-9 relative there);
// otherwise 1 - 2 / (e^{2|x|} + 1) with the sign of x; |x| is capped at 10 (tanh rounds to +-1 in
// float32 from |x| > 9.02). Both branches are computed and one is selected, so the loop vectorises.
inline float tanhf32(float x) {
  const float ax = std::fabs(x);
  const float x2 = x * x;
  float q = 6404582.0f / 10854718875.0f;
  q = q * x2 - 929569.0f / 638512875.0f;
  q = q * x2 + 21844.0f / 6081075.0f;
  q = q * x2 - 1382.0f / 155925.0f;
  q = q * x2 + 62.0f / 2835.0f;
  q = q * x2 - 17.0f / 315.0f;
  q = q * x2 + 2.0f / 15.0f;
  q = q * x2 - 1.0f / 3.0f;
  const float small = x + x * (x2 * q);
  const float e = expf32(2.0f * (ax < 10.0f ? ax : 10.0f));
  const float big = std::copysign(1.0f - 2.0f / (e + 1.0f), x);
  const float y = ax < 0.5f ? small : big;
  return x != x ? x : y;
}

struct Add {
  static float f(float a, float b) { return a + b; }
};
struct Sub {
  static float f(float a, float b) { return a - b; }
};
struct Mul {
  static float f(float a, float b) { return a * b; }
};
struct Div {
  static float f(float a, float b) { return a / b; }
};
// In double, like the cpu kernel: (a - b) is exact there and the square is rounded once.
struct SquaredDiff {
  static float f(float a, float b) {
    const double d = static_cast<double>(a) - static_cast<double>(b);
    return static_cast<float>(d * d);
  }
};
inline int32_t floatToBits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

// tfjs cpu: Math.max / Math.min, which propagate NaN and order -0 below +0. For equal inputs the
// AND (max) / OR (min) of the bit patterns picks +0 / -0 when the zeros' signs differ.
struct Max {
  static float f(float a, float b) {
    const float eq = bitsToFloat(floatToBits(a) & floatToBits(b));
    const float m = a > b ? a : (a < b ? b : eq);
    return (a != a || b != b) ? a + b : m;
  }
};
struct Min {
  static float f(float a, float b) {
    const float eq = bitsToFloat(floatToBits(a) | floatToBits(b));
    const float m = a < b ? a : (a > b ? b : eq);
    return (a != a || b != b) ? a + b : m;
  }
};

template <class Op>
void innerLoop(const float* __restrict a, const float* __restrict b, float* __restrict out, int64_t n, int64_t sa,
               int64_t sb) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; i++) out[i] = Op::f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; i++) out[i] = Op::f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; i++) out[i] = Op::f(av, b[i]);
  } else if (sa == 0 && sb == 0) {
    const float v = Op::f(a[0], b[0]);
    for (int64_t i = 0; i < n; i++) out[i] = v;
  } else {
    for (int64_t i = 0; i < n; i++) out[i] = Op::f(a[i * sa], b[i * sb]);
  }
}

// Odometer over all dims but the last (rank >= 1 after coalescing), inner loop over the last.
template <class Op>
void broadcastLoop(const float* a, const float* b, float* out, int rank, const int64_t* shape, const int64_t* sa,
                   const int64_t* sb) {
  const int64_t n = shape[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  int64_t idx[kMaxRank] = {0};
  int64_t offA = 0, offB = 0;
  for (int64_t row = 0; row < rows; row++) {
    innerLoop<Op>(a + offA, b + offB, out + row * n, n, sa[rank - 1], sb[rank - 1]);
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      offA += sa[d];
      offB += sb[d];
      if (idx[d] < shape[d]) break;
      offA -= sa[d] * shape[d];
      offB -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

void unary(int32_t op, const float* __restrict x, float* __restrict out, size_t n) {
  switch (op) {
    case kNeg:
      for (size_t i = 0; i < n; i++) out[i] = -x[i];
      break;
    case kSquare:
      for (size_t i = 0; i < n; i++) out[i] = x[i] * x[i];
      break;
    case kExp:
      for (size_t i = 0; i < n; i++) out[i] = expf32(x[i]);
      break;
    case kTanh:
      for (size_t i = 0; i < n; i++) out[i] = tanhf32(x[i]);
      break;
    case kSigmoid:
      // With e = exp(-|x|) <= 1: 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, so results
      // down to the subnormal range (x > -103) are not lost to an overflowing exp(-x).
      for (size_t i = 0; i < n; i++) {
        const float e = expf32(-std::fabs(x[i]));
        const float r = 1.0f / (1.0f + e);
        out[i] = x[i] >= 0.0f ? r : (x[i] != x[i] ? x[i] : e * r);
      }
      break;
    case kLog:
      for (size_t i = 0; i < n; i++) out[i] = static_cast<float>(std::log(static_cast<double>(x[i])));
      break;
    case kSqrt:
      for (size_t i = 0; i < n; i++) out[i] = std::sqrt(x[i]);
      break;
    case kRsqrt:
      for (size_t i = 0; i < n; i++) out[i] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(x[i])));
      break;
    case kReciprocal:
      for (size_t i = 0; i < n; i++) out[i] = 1.0f / x[i];
      break;
    case kAbs:
      for (size_t i = 0; i < n; i++) out[i] = std::fabs(x[i]);
      break;
    case kRelu:
      for (size_t i = 0; i < n; i++) out[i] = (x[i] > 0.0f || x[i] != x[i]) ? x[i] : 0.0f;
      break;
    default:
      break;
  }
}

void binaryStrided(int32_t op, const float* a, const float* b, float* out, int rank, const int64_t* shape,
                   const int64_t* sa, const int64_t* sb) {
  switch (op) {
    case kAdd:
      broadcastLoop<Add>(a, b, out, rank, shape, sa, sb);
      break;
    case kSub:
      broadcastLoop<Sub>(a, b, out, rank, shape, sa, sb);
      break;
    case kMul:
      broadcastLoop<Mul>(a, b, out, rank, shape, sa, sb);
      break;
    case kDiv:
      broadcastLoop<Div>(a, b, out, rank, shape, sa, sb);
      break;
    case kSquaredDiff:
      broadcastLoop<SquaredDiff>(a, b, out, rank, shape, sa, sb);
      break;
    case kMax:
      broadcastLoop<Max>(a, b, out, rank, shape, sa, sb);
      break;
    case kMin:
      broadcastLoop<Min>(a, b, out, rank, shape, sa, sb);
      break;
    default:
      break;
  }
}

void reduce(int32_t op, const float* __restrict x, float* __restrict out, int64_t outer, int64_t r, int64_t inner) {
  if (op == kSum || op == kMean) {
    const double scale = (op == kMean && r > 0) ? 1.0 / static_cast<double>(r) : 1.0;
    if (inner == 1) {
      for (int64_t o = 0; o < outer; o++) {
        const float* xo = x + o * r;
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= r; i += 8)
          for (int j = 0; j < 8; j++) acc[j] += static_cast<double>(xo[i + j]);
        double s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; i < r; i++) s += static_cast<double>(xo[i]);
        out[o] = static_cast<float>(op == kMean ? s * scale : s);
      }
    } else {
      // Column sums, in chunks of kChunk columns with a double accumulator on the stack (no
      // library calls here: this file is compiled for several instruction sets).
      constexpr int64_t kChunk = 512;
      double acc[kChunk];
      for (int64_t o = 0; o < outer; o++) {
        for (int64_t c0 = 0; c0 < inner; c0 += kChunk) {
          const int64_t w = inner - c0 < kChunk ? inner - c0 : kChunk;
          for (int64_t i = 0; i < w; i++) acc[i] = 0.0;
          for (int64_t k = 0; k < r; k++) {
            const float* xr = x + (o * r + k) * inner + c0;
            for (int64_t i = 0; i < w; i++) acc[i] += static_cast<double>(xr[i]);
          }
          float* orow = out + o * inner + c0;
          for (int64_t i = 0; i < w; i++) orow[i] = static_cast<float>(acc[i] * scale);
        }
      }
    }
    return;
  }
  if (op == kProd) {
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < inner; i++) {
        double p = 1.0;
        for (int64_t k = 0; k < r; k++) p *= static_cast<double>(x[(o * r + k) * inner + i]);
        out[o * inner + i] = static_cast<float>(p);
      }
    return;
  }
  // Max / Min (r >= 1; the caller handles empty reductions). NaN propagates, as in tfjs cpu.
  const bool isMax = op == kMaxR;
  for (int64_t o = 0; o < outer; o++) {
    float* __restrict orow = out + o * inner;
    const float* x0 = x + o * r * inner;
    for (int64_t i = 0; i < inner; i++) orow[i] = x0[i];
    for (int64_t k = 1; k < r; k++) {
      const float* xr = x0 + k * inner;
      if (isMax)
        for (int64_t i = 0; i < inner; i++) {
          const float v = xr[i], m = orow[i];
          orow[i] = (v > m || v != v) ? v : m;
        }
      else
        for (int64_t i = 0; i < inner; i++) {
          const float v = xr[i], m = orow[i];
          orow[i] = (v < m || v != v) ? v : m;
        }
    }
  }
}


#if defined(TMAML_HAVE_AVX2)
namespace {
// One 8x8 block: dst row k (stride ldd) = column k of the 8 src rows (stride lds). The classic
// unpack / shuffle / lane-permute sequence: pairs of rows interleave, then quads, then 128-bit halves.
inline void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds),
               r3 = _mm256_loadu_ps(src + 3 * lds), r4 = _mm256_loadu_ps(src + 4 * lds),
               r5 = _mm256_loadu_ps(src + 5 * lds), r6 = _mm256_loadu_ps(src + 6 * lds),
               r7 = _mm256_loadu_ps(src + 7 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
}
}  // namespace
#endif

// out[i * cols + j] = x[j * ld + i] for i < rows, j < cols (32-bit words), in 32x32 tiles; with AVX2
// each tile moves as 8x8 register transposes.
void transpose2d(const uint32_t* __restrict x, uint32_t* __restrict out, int64_t rows, int64_t cols, int64_t ld) {
  constexpr int64_t kTile = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += kTile) {
    const int64_t i1 = i0 + kTile < rows ? i0 + kTile : rows;
    for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const int64_t j1 = j0 + kTile < cols ? j0 + kTile : cols;
      int64_t i = i0;
#if defined(TMAML_HAVE_AVX2)
      for (; i + 8 <= i1; i += 8) {
        int64_t j = j0;
        for (; j + 8 <= j1; j += 8)
          transpose8x8(reinterpret_cast<const float*>(x + j * ld + i), ld, reinterpret_cast<float*>(out + i * cols + j),
                       cols);
        for (; j < j1; j++)
          for (int64_t ii = i; ii < i + 8; ii++) out[ii * cols + j] = x[j * ld + ii];
      }
#endif
      for (; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) out[i * cols + j] = x[j * ld + i];
    }
  }
}

}  // namespace TMAML_SIMD_NS
}  // namespace tmaml
