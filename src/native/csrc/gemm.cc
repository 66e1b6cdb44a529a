// Batched matrix multiplication on OpenBLAS cblas_sgemm, and BLAS start-up.
#include <cblas.h>

#include <cstring>

#include "kernels.h"

namespace tmaml {

void blasInit() { openblas_set_num_threads(1); }

const char* blasInfo() { return openblas_get_config(); }

void batchMatMul(const float* a, const float* b, float* c, int64_t batch, int64_t aBatch, int64_t bBatch,
                 const int32_t* aIndex, const int32_t* bIndex, int64_t M, int64_t N, int64_t K, bool transA,
                 bool transB) {
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {
    std::memset(c, 0, sizeof(float) * batch * M * N);
    return;
  }
  const CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
  const int lda = static_cast<int>(transA ? M : K);
  const int ldb = static_cast<int>(transB ? K : N);
  // One B for every batch and A not transposed: the batch folds into the rows of one product.
  if (aIndex == nullptr && bIndex == nullptr && bBatch == 1 && aBatch == batch && !transA) {
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(batch * M), static_cast<int>(N), static_cast<int>(K), 1.0f,
                a, lda, b, ldb, 0.0f, c, static_cast<int>(N));
    return;
  }
  for (int64_t i = 0; i < batch; i++) {
    const int64_t ia = aIndex != nullptr ? aIndex[i] : (aBatch == 1 ? 0 : i);
    const int64_t ib = bIndex != nullptr ? bIndex[i] : (bBatch == 1 ? 0 : i);
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f,
                a + ia * M * K, lda, b + ib * K * N, ldb, 0.0f, c + i * M * N, static_cast<int>(N));
  }
}

}  // namespace tmaml
