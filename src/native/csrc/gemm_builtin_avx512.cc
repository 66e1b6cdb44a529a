// The built-in GEMM of gemm_builtin.h compiled for one instruction set; dispatch.cc picks the best one
// the CPU supports at load time. Register tile 12 x 32 (32 zmm registers: 12 x 2 accumulators).
#include "kernels.h"

#if defined(__x86_64__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2")
#endif
#define TMAML_SIMD_NS avx512
#define TMAML_GEMM_MR 12
#define TMAML_GEMM_NR 32
#include "gemm_builtin.h"
