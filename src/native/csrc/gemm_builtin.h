// The built-in single-precision GEMM, compiled once per instruction set like the element-wise loops:
// each gemm_builtin_<isa>.cc sets `#pragma GCC target(...)`, defines TMAML_SIMD_NS, the register
// tile TMAML_GEMM_MR x TMAML_GEMM_NR, and includes this file; dispatch.cc picks one at load time.
//
// Why it exists: OpenBLAS is a system package (Debian's libopenblas-dev) that a fresh machine often
// lacks, and without a GEMM the project falls back to wasm at about a fifth of the speed. This needs
// only the C++ compiler node-gyp already requires.
//
// Structure (the GotoBLAS/BLIS decomposition, reduced to what the policy's shapes need):
//   for each block of KC rows of op(B) and NC columns:
//     B's block is read in place when B is row-major (op(B) = B), else packed into NR-wide panels;
//     for each MR-row strip of op(A) (read in place through its two strides), for each NR panel:
//       the micro-kernel keeps an MR x NR tile of C in registers for KC rank-1 updates.
// A strip of op(A) (MR x KC floats, <= 14 KiB) stays in L1 across the panels; B's block (KC x NC,
// <= 256 KiB) stays in L2 across the strips. Ragged edges go through a zero-padded copy of the strip
// or panel, so the micro-kernel has no bounds checks; only the store is clipped.
//
// The micro-kernel is plain loops over fixed-size arrays: GCC (-O3) unrolls MR, vectorises NR and
// keeps the accumulators in registers (checked in the generated assembly: one broadcast and NR / width
// FMAs per row and step). Accumulation is in float32 with FMA (-ffp-contract=fast), in the order
// k = 0, 1, ... per KC block: error within the usual (k + 2) eps sum |a||b| bound of any sgemm.
//
// No standard headers here: code defined after a target pragma is compiled for that instruction set,
// and an inline library function instantiated in this scope could be merged by the linker into the
// baseline build. Buffers come from the caller (gemm.cc).

namespace tmaml {
namespace TMAML_SIMD_NS {

namespace {

constexpr int MR = TMAML_GEMM_MR;
constexpr int NR = TMAML_GEMM_NR;
constexpr int64_t KC = kGemmKC;
constexpr int64_t NC = kGemmNC;

// c[i * ldc + j] (=|+=) sum_p a[i * rsa + p * csa] * b[p * rsb + j] for i < MR, j < W, storing only
// i < mr, j < nr. `a` and `b` must be readable for the whole MR x kc and kc x W tile.
template <int W>
inline void micro(int64_t kc, const float* __restrict a, int64_t rsa, int64_t csa, const float* __restrict b,
                  int64_t rsb, float* __restrict c, int64_t ldc, int mr, int nr, bool accumulate) {
  float acc[MR][W] = {};
  for (int64_t p = 0; p < kc; p++) {
    const float* ap = a + p * csa;
    const float* bp = b + p * rsb;
    for (int i = 0; i < MR; i++) {
      const float ai = ap[i * rsa];
      // Without the hint GCC 12 SLP-vectorises the unrolled rows with 128-bit vectors and spills.
#pragma omp simd
      for (int j = 0; j < W; j++) acc[i][j] += ai * bp[j];
    }
  }
  if (mr == MR && nr == W) {
    if (accumulate) {
      for (int i = 0; i < MR; i++)
        for (int j = 0; j < W; j++) c[i * ldc + j] += acc[i][j];
    } else {
      for (int i = 0; i < MR; i++)
        for (int j = 0; j < W; j++) c[i * ldc + j] = acc[i][j];
    }
    return;
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

// A column panel of op(B)'s block: columns j0 .. j0 + w - 1, computed W wide. W is NR, NR/2 or NR/4:
// narrow panels for the last columns waste less of the tile (the policy's output layer has 6
// columns, its first layer's input gradient 17 = 16 + 1).
// `at` is its first element and `ld` the stride between its rows: B itself when it is read in place.
struct Panel {
  int64_t j0;
  int w;
  int W;
  const float* at;
  int64_t ld;
};

static_assert(MR <= kGemmMaxMR && NR <= kGemmMaxNR, "kernels.h sizes the work buffer for this tile");

}  // namespace

// C[M, N] = op(A) op(B), row-major with leading dimensions lda, ldb, ldc; op(A) is M x K, op(B) K x N.
// A(i, p) = transA ? A[p * lda + i] : A[i * lda + p]; likewise B. Overwrites C (beta = 0). K > 0.
// `work` holds kGemmWorkFloats floats (one buffer per thread: the addon also runs in workers).
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float* C, int64_t ldc, float* work) {
  const int64_t rsa = transA ? 1 : lda;  // stride between rows i of op(A)
  const int64_t csa = transA ? lda : 1;  // stride between columns p of op(A)
  float* const strip = work;                            // [KC][MR]
  float* const packedPanels = work + kGemmMaxMR * KC;  // [KC][<= NC + NR]
  Panel panels[NC / NR + 2];
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = N - jc < NC ? N - jc : NC;
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = K - pc < KC ? K - pc : KC;
      // Split the block's columns into panels; full panels of a row-major B are read in place, the
      // others are packed [kc][W] and zero-padded.
      int count = 0;
      float* packed = packedPanels;
      for (int64_t j = 0; j < nc;) {
        const int64_t left = nc - j;
        const int W = left > 3 * NR / 4 ? NR : left > NR / 4 ? NR / 2 : NR / 4;
        const int w = left < W ? static_cast<int>(left) : W;
        const int64_t j0 = jc + j;
        if (!transB && w == W) {
          panels[count++] = {j0, w, W, B + pc * ldb + j0, ldb};
        } else {
          for (int64_t p = 0; p < kc; p++) {
            float* row = packed + p * W;
            for (int q = 0; q < w; q++) row[q] = transB ? B[(j0 + q) * ldb + pc + p] : B[(pc + p) * ldb + j0 + q];
            for (int q = w; q < W; q++) row[q] = 0.0f;
          }
          panels[count++] = {j0, w, W, packed, W};
          packed += kc * W;
        }
        j += w;
      }
      const bool accumulate = pc > 0;
      for (int64_t ir = 0; ir < M; ir += MR) {
        const int mr = M - ir < MR ? static_cast<int>(M - ir) : MR;
        const float* a = A + ir * rsa + pc * csa;
        int64_t ars = rsa, acs = csa;
        if (mr < MR) {
          // The last strip, zero-padded to MR rows, laid out [kc][MR].
          float* dst = strip;
          for (int64_t p = 0; p < kc; p++) {
            for (int i = 0; i < mr; i++) dst[p * MR + i] = a[i * rsa + p * csa];
            for (int i = mr; i < MR; i++) dst[p * MR + i] = 0.0f;
          }
          a = dst;
          ars = 1;
          acs = MR;
        }
        for (int n = 0; n < count; n++) {
          const Panel& q = panels[n];
          float* c = C + ir * ldc + q.j0;
          if (q.W == NR)
            micro<NR>(kc, a, ars, acs, q.at, q.ld, c, ldc, mr, q.w, accumulate);
          else if (q.W == NR / 2)
            micro<NR / 2>(kc, a, ars, acs, q.at, q.ld, c, ldc, mr, q.w, accumulate);
          else
            micro<NR / 4>(kc, a, ars, acs, q.at, q.ld, c, ldc, mr, q.w, accumulate);
        }
      }
    }
  }
}

}  // namespace TMAML_SIMD_NS
}  // namespace tmaml
