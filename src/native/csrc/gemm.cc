// Batched matrix multiplication on the build's GEMM, and BLAS start-up. binding.gyp defines
// TMAML_GEMM_OPENBLAS when OpenBLAS's headers were found (or TMAML_NATIVE_GEMM=openblas asked for
// it); otherwise every product runs on the built-in GEMM (gemm_builtin.h), which is compiled into
// every build so that tests and benchmarks can compare the two in one process.
#if defined(TMAML_GEMM_OPENBLAS)
#include <cblas.h>
#endif

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace tmaml {

namespace {

// One C = op(A) op(B) of row-major matrices with their natural leading dimensions.
using Gemm = void (*)(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* a, const float* b,
                      float* c);

void builtinGemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* a, const float* b,
                 float* c) {
  thread_local std::vector<float> work(static_cast<size_t>(kGemmWorkFloats));
  builtinSgemm(transA, transB, M, N, K, a, transA ? M : K, b, transB ? K : N, c, N, work.data());
}

#if defined(TMAML_GEMM_OPENBLAS)
void openblasGemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* a, const float* b,
                  float* c) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f, a, static_cast<int>(transA ? M : K),
              b, static_cast<int>(transB ? K : N), 0.0f, c, static_cast<int>(N));
}
constexpr Gemm buildGemm = openblasGemm;
#else
constexpr Gemm buildGemm = builtinGemm;
#endif

// Products smaller than this many multiply-adds per thread are not split (a wake-up of the pool
// costs some microseconds; this is ~0.1 ms of GEMM).
constexpr int64_t kGemmGrainMacs = int64_t{1} << 22;
// Rows per GEMM call of a folded batch (a multiple of every register tile used here).
constexpr int64_t kFoldRows = 4096;

void batched(Gemm gemm, const float* a, const float* b, float* c, int64_t batch, int64_t aBatch, int64_t bBatch,
             const int32_t* aIndex, const int32_t* bIndex, int64_t M, int64_t N, int64_t K, bool transA, bool transB) {
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {
    std::memset(c, 0, sizeof(float) * batch * M * N);
    return;
  }
  // One B for every batch and A not transposed: the batch folds into the rows of one product, computed
  // in blocks of kFoldRows rows. The blocks are the same whatever the thread count, because OpenBLAS's
  // result for a row depends on how many rows its call has (measured: splitting 80,000 rows in two
  // changed about 6% of the outputs in the last bit).
  if (aIndex == nullptr && bIndex == nullptr && bBatch == 1 && aBatch == batch && !transA) {
    const int64_t rows = batch * M;
    parallelFor(
        rows, std::max<int64_t>(1, kGemmGrainMacs / (N * K)),
        [&](int64_t r0, int64_t r1) {
          for (int64_t q = r0; q < r1; q += kFoldRows)
            gemm(false, transB, std::min(kFoldRows, r1 - q), N, K, a + q * K, b, c + q * N);
        },
        kFoldRows);
    return;
  }
  parallelFor(batch, std::max<int64_t>(1, kGemmGrainMacs / (M * N * K)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const int64_t ia = aIndex != nullptr ? aIndex[i] : (aBatch == 1 ? 0 : i);
      const int64_t ib = bIndex != nullptr ? bIndex[i] : (bBatch == 1 ? 0 : i);
      gemm(transA, transB, M, N, K, a + ia * M * K, b + ib * K * N, c + i * M * N);
    }
  });
}

}  // namespace

#if defined(TMAML_GEMM_OPENBLAS)
void blasInit() { openblas_set_num_threads(1); }
const char* blasInfo() { return openblas_get_config(); }
const char* gemmName() { return "openblas"; }
#else
void blasInit() {}
const char* blasInfo() { return builtinGemmInfo(); }
const char* gemmName() { return "builtin"; }
#endif

void batchMatMul(const float* a, const float* b, float* c, int64_t batch, int64_t aBatch, int64_t bBatch,
                 const int32_t* aIndex, const int32_t* bIndex, int64_t M, int64_t N, int64_t K, bool transA,
                 bool transB) {
  batched(buildGemm, a, b, c, batch, aBatch, bBatch, aIndex, bIndex, M, N, K, transA, transB);
}

void batchMatMulBuiltin(const float* a, const float* b, float* c, int64_t batch, int64_t aBatch, int64_t bBatch,
                        const int32_t* aIndex, const int32_t* bIndex, int64_t M, int64_t N, int64_t K, bool transA,
                        bool transB) {
  batched(builtinGemm, a, b, c, batch, aBatch, bBatch, aIndex, bIndex, M, N, K, transA, transB);
}

}  // namespace tmaml
