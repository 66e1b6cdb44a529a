// The built-in GEMM of gemm_builtin.h compiled for one instruction set; dispatch.cc picks the best one
// the CPU supports at load time. Register tile 6 x 16 (16 ymm registers: 6 x 2 accumulators).
#include "kernels.h"

#if defined(__x86_64__)
#pragma GCC target("avx2,fma")
#endif
#define TMAML_SIMD_NS avx2
#define TMAML_GEMM_MR 6
#define TMAML_GEMM_NR 16
#include "gemm_builtin.h"
