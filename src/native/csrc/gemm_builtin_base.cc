// The built-in GEMM of gemm_builtin.h compiled for one instruction set; dispatch.cc picks the best one
// the CPU supports at load time. Register tile 6 x 8 (16 xmm registers (SSE2; NEON on aarch64): 6 x 2 accumulators).
#include "kernels.h"

// Baseline: no target pragma.
#define TMAML_SIMD_NS base
#define TMAML_GEMM_MR 6
#define TMAML_GEMM_NR 8
#include "gemm_builtin.h"
