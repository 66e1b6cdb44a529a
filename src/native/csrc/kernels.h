// Native float32 kernels behind the tfjs `native` backend. Plain functions on raw pointers: the N-API
// glue (addon.cc) validates arguments and passes typed-array data pointers (already adjusted by the
// typed array's byteOffset). Every function runs on the calling thread unless `setThreads` raised the
// kernel threads (below), and is allocation-free unless noted.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

namespace tmaml {

// Maximum tensor rank the strided kernels accept (tfjs supports up to 6 in most kernels).
constexpr int kMaxRank = 8;

enum UnaryOp : int32_t {
  kNeg = 0,
  kSquare = 1,
  kExp = 2,
  kTanh = 3,
  kSigmoid = 4,
  kLog = 5,
  kSqrt = 6,
  kRsqrt = 7,
  kReciprocal = 8,
  kAbs = 9,
  kRelu = 10,
  kUnaryCount = 11
};

enum BinaryOp : int32_t { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kSquaredDiff = 4, kMax = 5, kMin = 6, kBinaryCount = 7 };

enum ReduceOp : int32_t { kSum = 0, kMean = 1, kMaxR = 2, kMinR = 3, kProd = 4, kReduceCount = 5 };

// out[i] = op(x[i]) for i < n. In-place (out == x) is allowed.
void unary(int32_t op, const float* x, float* out, size_t n);

// out = op(a, b) with numpy broadcasting. Shapes are given rank-aligned to the output (leading
// size-1 dims added by the caller): aShape[d], bShape[d] are 1 or outShape[d].
void binary(int32_t op, const float* a, const float* b, float* out, int rank, const int64_t* outShape,
            const int64_t* aShape, const int64_t* bShape);

// out[idx] = x[sum_d idx_d * xStride[d]] for idx over outShape (row-major). Covers transpose (permuted
// strides), tile and broadcastTo (zero strides); 32-bit elements of any kind.
void stridedCopy(const uint32_t* x, uint32_t* out, int rank, const int64_t* outShape, const int64_t* xStride);

// x viewed as [outer, reduce, inner]; out is [outer, inner]. Sums accumulate in double.
void reduce(int32_t op, const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner);

// C[b] = op(A[aIndex[b]]) op(B[bIndex[b]]) for b < batch; row-major, C is [M, N]. aIndex/bIndex
// may be null, meaning index b when the operand has `batch` matrices, else 0 (broadcast).
// `batchMatMul` uses the build's GEMM (OpenBLAS or the built-in one, see gemmName); the built-in one
// is always compiled in, so `batchMatMulBuiltin` can be tested and benchmarked against OpenBLAS.
void batchMatMul(const float* a, const float* b, float* c, int64_t batch, int64_t aBatch, int64_t bBatch,
                 const int32_t* aIndex, const int32_t* bIndex, int64_t M, int64_t N, int64_t K, bool transA,
                 bool transB);
void batchMatMulBuiltin(const float* a, const float* b, float* c, int64_t batch, int64_t aBatch, int64_t bBatch,
                        const int32_t* aIndex, const int32_t* bIndex, int64_t M, int64_t N, int64_t K, bool transA,
                        bool transB);

// Which GEMM batchMatMul uses: "openblas" or "builtin" (fixed at build time, binding.gyp).
const char* gemmName();
// BLAS identification for diagnostics ("OpenBLAS 0.3.21 ... Haswell", or the built-in GEMM's tile).
const char* blasInfo();
void blasInit();

// Blocking of the built-in GEMM (gemm_builtin.h): KC rows of op(B) by NC columns per block, register
// tiles of at most kGemmMaxMR x kGemmMaxNR; its work buffer holds one padded strip of op(A) and one
// packed block of op(B).
constexpr int64_t kGemmKC = 256;
constexpr int64_t kGemmNC = 256;
constexpr int64_t kGemmMaxMR = 16;
constexpr int64_t kGemmMaxNR = 32;
constexpr int64_t kGemmWorkFloats = kGemmMaxMR * kGemmKC + kGemmKC * (kGemmNC + kGemmMaxNR);

// C[M, N] = op(A) op(B) on the built-in GEMM, dispatched to the best instruction set (dispatch.cc).
// Row-major with leading dimensions; K > 0; `work` holds kGemmWorkFloats floats.
void builtinSgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float* C, int64_t ldc, float* work);
// "built-in sgemm, avx512 12x32 tiles": the instruction set and register tile builtinSgemm uses.
const char* builtinGemmInfo();

// The per-instruction-set copies of the loops in elementwise_impl.h (dispatch.cc picks one).
#define TMAML_DECLARE_SIMD(ns)                                                                                   \
  namespace ns {                                                                                                 \
  void unary(int32_t op, const float* x, float* out, size_t n);                                                  \
  void binaryStrided(int32_t op, const float* a, const float* b, float* out, int rank, const int64_t* shape,      \
                     const int64_t* sa, const int64_t* sb);                                                      \
  void reduce(int32_t op, const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner);             \
  void transpose2d(const uint32_t* x, uint32_t* out, int64_t rows, int64_t cols, int64_t ld);                    \
  void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,             \
             const float* B, int64_t ldb, float* C, int64_t ldc, float* work);                                   \
  }
TMAML_DECLARE_SIMD(avx512)
TMAML_DECLARE_SIMD(avx2)
TMAML_DECLARE_SIMD(base)
#undef TMAML_DECLARE_SIMD

// out[i * cols + j] = x[j * ld + i]: one 2-D transpose (dispatched to the best instruction set).
void transpose2d(const uint32_t* x, uint32_t* out, int64_t rows, int64_t cols, int64_t ld);

// Which vector instruction set the dispatched elementwise kernels use ("avx512", "avx2", "sse2").
const char* simdLevel();

// Kernel threads (parallel.cc). `setThreads(n)` (clamped to [1, kMaxThreads]) sets how many threads
// the largest kernels split over, the caller's included; the default is 1. `parallelFor(count, grain,
// f, align)` calls f(begin, end) on disjoint ranges covering [0, count), each of at least `grain`
// items and starting at a multiple of `align`, on up to threads() threads; serially when that is 1,
// the work is small, or another thread's split job is running. The alignment keeps results
// independent of the split: a vector loop's scalar tail (or a GEMM's edge tile) then only ever falls
// where it falls unsplit, at the end.
constexpr int kMaxThreads = 64;
// Element-wise loops are split in slices of at least this many elements (~0.1 ms of work).
constexpr int64_t kElementwiseGrain = int64_t{1} << 17;
using RangeFn = std::function<void(int64_t, int64_t)>;
void setThreads(int n);
int threads();
// How many parallelFor calls were split over more than one thread since the process started.
uint64_t splitJobs();
void parallelFor(int64_t count, int64_t grain, const RangeFn& f, int64_t align = 1);
// Split boundaries of the element-wise loops and of GEMM rows: a multiple of every vector width and
// register tile used here.
constexpr int64_t kSplitAlign = 64;

}  // namespace tmaml
