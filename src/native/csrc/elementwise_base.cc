// The element-wise loops of elementwise_impl.h compiled for one instruction set; dispatch.cc picks the
// best one the CPU supports at load time (__builtin_cpu_supports).
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels.h"

// Baseline x86-64 (SSE2): no target pragma.
#define TMAML_SIMD_NS base
#include "elementwise_impl.h"
