// Picks, once at load time, the copy of the element-wise loops and of the built-in GEMM built for
// the best instruction set this CPU supports (AVX-512, AVX2+FMA, or baseline SSE2).
#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace tmaml {

using SimdUnary = void (*)(int32_t, const float*, float*, size_t);
using SimdBinary = void (*)(int32_t, const float*, const float*, float*, int, const int64_t*, const int64_t*,
                            const int64_t*);
using SimdReduce = void (*)(int32_t, const float*, float*, int64_t, int64_t, int64_t);

namespace {

enum class Level { kBase, kAvx2, kAvx512 };

Level supported() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("bmi2"))
    return Level::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Level::kAvx2;
#endif
  return Level::kBase;
}

// TMAML_NATIVE_SIMD=avx2|sse2 caps the level (never raises it): so that the lower copies of the loops
// and of the built-in GEMM can be tested and measured on a machine that has AVX-512.
Level detect() {
  const Level best = supported();
  const char* cap = std::getenv("TMAML_NATIVE_SIMD");
  if (cap == nullptr) return best;
  const Level want = std::strcmp(cap, "sse2") == 0 ? Level::kBase : std::strcmp(cap, "avx2") == 0 ? Level::kAvx2 : best;
  return want < best ? want : best;
}

const Level level = detect();

}  // namespace

SimdBinary simdBinary = level == Level::kAvx512 ? avx512::binaryStrided
                        : level == Level::kAvx2 ? avx2::binaryStrided
                                                : base::binaryStrided;
static SimdUnary simdUnary = level == Level::kAvx512 ? avx512::unary
                             : level == Level::kAvx2 ? avx2::unary
                                                     : base::unary;
static SimdReduce simdReduce = level == Level::kAvx512 ? avx512::reduce
                               : level == Level::kAvx2 ? avx2::reduce
                                                       : base::reduce;

using SimdTranspose = void (*)(const uint32_t*, uint32_t*, int64_t, int64_t, int64_t);
static SimdTranspose simdTranspose = level == Level::kAvx512 ? avx512::transpose2d
                                     : level == Level::kAvx2 ? avx2::transpose2d
                                                             : base::transpose2d;

using SimdSgemm = void (*)(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                           float*, int64_t, float*);
static SimdSgemm simdSgemm = level == Level::kAvx512 ? avx512::sgemm
                             : level == Level::kAvx2 ? avx2::sgemm
                                                     : base::sgemm;

void builtinSgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float* C, int64_t ldc, float* work) {
  simdSgemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, work);
}

// Must match the tiles in gemm_builtin_<isa>.cc.
const char* builtinGemmInfo() {
  return level == Level::kAvx512 ? "built-in sgemm, avx512 12x32 tiles"
         : level == Level::kAvx2 ? "built-in sgemm, avx2 6x16 tiles"
                                 : "built-in sgemm, baseline 6x8 tiles";
}

void transpose2d(const uint32_t* x, uint32_t* out, int64_t rows, int64_t cols, int64_t ld) {
  simdTranspose(x, out, rows, cols, ld);
}

void unary(int32_t op, const float* x, float* out, size_t n) {
  parallelFor(static_cast<int64_t>(n), kElementwiseGrain,
              [&](int64_t i0, int64_t i1) { simdUnary(op, x + i0, out + i0, static_cast<size_t>(i1 - i0)); }, kSplitAlign);
}

void reduce(int32_t op, const float* x, float* out, int64_t outer, int64_t r, int64_t inner) {
  simdReduce(op, x, out, outer, r, inner);
}

const char* simdLevel() {
  return level == Level::kAvx512 ? "avx512" : level == Level::kAvx2 ? "avx2" : "sse2";
}

}  // namespace tmaml
