// The element-wise loops of elementwise_impl.h compiled for one instruction set; dispatch.cc picks the
// best one the CPU supports at load time (__builtin_cpu_supports).
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels.h"

#if defined(__x86_64__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2")
#endif
#if defined(__x86_64__)
#define TMAML_HAVE_AVX2 1  // __AVX2__ is not defined by the target pragma
#endif
#define TMAML_SIMD_NS avx512
#include "elementwise_impl.h"
