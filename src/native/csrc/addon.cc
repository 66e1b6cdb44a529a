// N-API glue for the native kernels: argument checks (lengths, ranks, indices, so that a caller bug
// throws a RangeError instead of corrupting memory) and typed-array access. Typed-array data
// pointers from napi_get_typedarray_info already include the array's byteOffset, so subarrays work.
// Context-aware (NAPI_MODULE_INIT): loadable in worker threads.
#include <node_api.h>

#include <cstdint>
#include <cstring>

#include "kernels.h"

namespace {

struct Typed {
  napi_typedarray_type type;
  size_t length;
  void* data;
};

bool fail(napi_env env, const char* msg) {
  napi_throw_range_error(env, nullptr, msg);
  return false;
}

bool typed(napi_env env, napi_value v, Typed* t, const char* what) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return fail(env, what);
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &t->type, &t->length, &t->data, &buffer, &offset) != napi_ok)
    return fail(env, what);
  return true;
}

bool f32(napi_env env, napi_value v, Typed* t, const char* what) {
  if (!typed(env, v, t, what)) return false;
  if (t->type != napi_float32_array) return fail(env, what);
  return true;
}

bool word32(napi_env env, napi_value v, Typed* t, const char* what) {
  if (!typed(env, v, t, what)) return false;
  if (t->type != napi_float32_array && t->type != napi_int32_array && t->type != napi_uint32_array)
    return fail(env, what);
  return true;
}

bool i32arr(napi_env env, napi_value v, Typed* t, const char* what) {
  if (!typed(env, v, t, what)) return false;
  if (t->type != napi_int32_array) return fail(env, what);
  return true;
}

bool int32(napi_env env, napi_value v, int32_t* out, const char* what) {
  if (napi_get_value_int32(env, v, out) != napi_ok) return fail(env, what);
  return true;
}

bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

// Fetch up to N arguments (missing ones read as undefined); at least `required` must be given.
template <size_t N>
bool args(napi_env env, napi_callback_info info, napi_value (&argv)[N], size_t required) {
  size_t argc = N;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return false;
  if (argc < required) return fail(env, "tmaml_native: too few arguments");
  return true;
}

int64_t product(const int64_t* s, int n) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p *= s[i];
  return p;
}

// unary(op, x: Float32Array, out: Float32Array)
napi_value Unary(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!args(env, info, argv, 3)) return nullptr;
  int32_t op;
  Typed x, out;
  if (!int32(env, argv[0], &op, "unary: op") || !f32(env, argv[1], &x, "unary: x must be a Float32Array") ||
      !f32(env, argv[2], &out, "unary: out must be a Float32Array"))
    return nullptr;
  if (op < 0 || op >= tmaml::kUnaryCount) return fail(env, "unary: unknown op"), nullptr;
  if (x.length != out.length) return fail(env, "unary: x and out lengths differ"), nullptr;
  tmaml::unary(op, static_cast<const float*>(x.data), static_cast<float*>(out.data), x.length);
  return nullptr;
}

// binary(op, a, b, out, dims: Int32Array [rank, outShape(rank), aShape(rank), bShape(rank)]),
// shapes rank-aligned; aShape[d], bShape[d] in {1, outShape[d]}.
napi_value Binary(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args(env, info, argv, 5)) return nullptr;
  int32_t op;
  Typed a, b, out, dims;
  if (!int32(env, argv[0], &op, "binary: op") || !f32(env, argv[1], &a, "binary: a must be a Float32Array") ||
      !f32(env, argv[2], &b, "binary: b must be a Float32Array") ||
      !f32(env, argv[3], &out, "binary: out must be a Float32Array") ||
      !i32arr(env, argv[4], &dims, "binary: dims must be an Int32Array"))
    return nullptr;
  if (op < 0 || op >= tmaml::kBinaryCount) return fail(env, "binary: unknown op"), nullptr;
  const int32_t* d = static_cast<const int32_t*>(dims.data);
  if (dims.length < 1) return fail(env, "binary: empty dims"), nullptr;
  const int rank = d[0];
  if (rank < 0 || rank > tmaml::kMaxRank || dims.length < static_cast<size_t>(1 + 3 * rank))
    return fail(env, "binary: bad rank"), nullptr;
  int64_t os[tmaml::kMaxRank], as[tmaml::kMaxRank], bs[tmaml::kMaxRank];
  for (int i = 0; i < rank; i++) {
    os[i] = d[1 + i];
    as[i] = d[1 + rank + i];
    bs[i] = d[1 + 2 * rank + i];
    if (os[i] < 0 || (as[i] != 1 && as[i] != os[i]) || (bs[i] != 1 && bs[i] != os[i]))
      return fail(env, "binary: shapes do not broadcast"), nullptr;
  }
  if (static_cast<size_t>(product(os, rank)) != out.length || static_cast<size_t>(product(as, rank)) != a.length ||
      static_cast<size_t>(product(bs, rank)) != b.length)
    return fail(env, "binary: lengths do not match shapes"), nullptr;
  if (out.length == 0) return nullptr;
  if (rank == 0) {
    os[0] = as[0] = bs[0] = 1;
    tmaml::binary(op, static_cast<const float*>(a.data), static_cast<const float*>(b.data),
                  static_cast<float*>(out.data), 1, os, as, bs);
    return nullptr;
  }
  tmaml::binary(op, static_cast<const float*>(a.data), static_cast<const float*>(b.data),
                static_cast<float*>(out.data), rank, os, as, bs);
  return nullptr;
}

// stridedCopy(x, out, dims: Int32Array [rank, outShape(rank), xStride(rank)]); 32-bit elements.
napi_value StridedCopy(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!args(env, info, argv, 3)) return nullptr;
  Typed x, out, dims;
  if (!word32(env, argv[0], &x, "stridedCopy: x must be a 32-bit typed array") ||
      !word32(env, argv[1], &out, "stridedCopy: out must be a 32-bit typed array") ||
      !i32arr(env, argv[2], &dims, "stridedCopy: dims must be an Int32Array"))
    return nullptr;
  const int32_t* d = static_cast<const int32_t*>(dims.data);
  if (dims.length < 1) return fail(env, "stridedCopy: empty dims"), nullptr;
  const int rank = d[0];
  if (rank < 0 || rank > tmaml::kMaxRank || dims.length < static_cast<size_t>(1 + 2 * rank))
    return fail(env, "stridedCopy: bad rank"), nullptr;
  int64_t os[tmaml::kMaxRank], st[tmaml::kMaxRank];
  int64_t last = 0;
  for (int i = 0; i < rank; i++) {
    os[i] = d[1 + i];
    st[i] = d[1 + rank + i];
    if (os[i] < 0 || st[i] < 0) return fail(env, "stridedCopy: negative shape or stride"), nullptr;
    if (os[i] > 0) last += (os[i] - 1) * st[i];
  }
  const int64_t total = product(os, rank);
  if (static_cast<size_t>(total) != out.length) return fail(env, "stridedCopy: out length"), nullptr;
  if (total == 0) return nullptr;
  if (static_cast<size_t>(last) >= x.length) return fail(env, "stridedCopy: reads past the end of x"), nullptr;
  if (rank == 0) {
    std::memcpy(out.data, x.data, 4);
    return nullptr;
  }
  tmaml::stridedCopy(static_cast<const uint32_t*>(x.data), static_cast<uint32_t*>(out.data), rank, os, st);
  return nullptr;
}

// reduce(op, x, out, outer, reduce, inner)
napi_value Reduce(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!args(env, info, argv, 6)) return nullptr;
  int32_t op, outer, r, inner;
  Typed x, out;
  if (!int32(env, argv[0], &op, "reduce: op") || !f32(env, argv[1], &x, "reduce: x must be a Float32Array") ||
      !f32(env, argv[2], &out, "reduce: out must be a Float32Array") || !int32(env, argv[3], &outer, "reduce: outer") ||
      !int32(env, argv[4], &r, "reduce: reduce") || !int32(env, argv[5], &inner, "reduce: inner"))
    return nullptr;
  if (op < 0 || op >= tmaml::kReduceCount) return fail(env, "reduce: unknown op"), nullptr;
  if (outer < 0 || r < 0 || inner < 0) return fail(env, "reduce: negative size"), nullptr;
  if ((op == tmaml::kMaxR || op == tmaml::kMinR) && r == 0) return fail(env, "reduce: empty max/min"), nullptr;
  if (static_cast<size_t>(int64_t{outer} * r * inner) != x.length ||
      static_cast<size_t>(int64_t{outer} * inner) != out.length)
    return fail(env, "reduce: lengths do not match sizes"), nullptr;
  tmaml::reduce(op, static_cast<const float*>(x.data), static_cast<float*>(out.data), outer, r, inner);
  return nullptr;
}

using BatchMatMulFn = void (*)(const float*, const float*, float*, int64_t, int64_t, int64_t, const int32_t*,
                              const int32_t*, int64_t, int64_t, int64_t, bool, bool);

// matMul(a, b, out, dims: Int32Array [batch, aBatch, bBatch, M, N, K, transA, transB], aIndex?, bIndex?)
napi_value MatMulWith(napi_env env, napi_callback_info info, BatchMatMulFn matMul) {
  napi_value argv[6];
  if (!args(env, info, argv, 4)) return nullptr;
  Typed a, b, out, dims;
  if (!f32(env, argv[0], &a, "matMul: a must be a Float32Array") ||
      !f32(env, argv[1], &b, "matMul: b must be a Float32Array") ||
      !f32(env, argv[2], &out, "matMul: out must be a Float32Array") ||
      !i32arr(env, argv[3], &dims, "matMul: dims must be an Int32Array"))
    return nullptr;
  if (dims.length < 8) return fail(env, "matMul: dims needs 8 entries"), nullptr;
  const int32_t* d = static_cast<const int32_t*>(dims.data);
  const int64_t batch = d[0], aBatch = d[1], bBatch = d[2], M = d[3], N = d[4], K = d[5];
  if (batch < 0 || aBatch < 0 || bBatch < 0 || M < 0 || N < 0 || K < 0) return fail(env, "matMul: negative size"), nullptr;
  if (static_cast<size_t>(aBatch * M * K) != a.length || static_cast<size_t>(bBatch * K * N) != b.length ||
      static_cast<size_t>(batch * M * N) != out.length)
    return fail(env, "matMul: lengths do not match sizes"), nullptr;
  const int32_t* index[2] = {nullptr, nullptr};
  const int64_t counts[2] = {aBatch, bBatch};
  for (int j = 0; j < 2; j++) {
    if (isNullish(env, argv[4 + j])) {
      if (counts[j] != batch && counts[j] != 1) return fail(env, "matMul: batch mismatch without an index"), nullptr;
      continue;
    }
    Typed idx;
    if (!i32arr(env, argv[4 + j], &idx, "matMul: index must be an Int32Array")) return nullptr;
    if (idx.length != static_cast<size_t>(batch)) return fail(env, "matMul: index length"), nullptr;
    const int32_t* p = static_cast<const int32_t*>(idx.data);
    for (int64_t i = 0; i < batch; i++)
      if (p[i] < 0 || p[i] >= counts[j]) return fail(env, "matMul: index out of range"), nullptr;
    index[j] = p;
  }
  matMul(static_cast<const float*>(a.data), static_cast<const float*>(b.data), static_cast<float*>(out.data), batch,
         aBatch, bBatch, index[0], index[1], M, N, K, d[6] != 0, d[7] != 0);
  return nullptr;
}

// The build's GEMM (OpenBLAS or the built-in one).
napi_value MatMul(napi_env env, napi_callback_info info) { return MatMulWith(env, info, tmaml::batchMatMul); }

// The built-in GEMM whatever the build uses: for tests and benchmarks against OpenBLAS.
napi_value MatMulBuiltin(napi_env env, napi_callback_info info) {
  return MatMulWith(env, info, tmaml::batchMatMulBuiltin);
}

// info() -> { gemm: 'openblas' | 'builtin', blas: string, simd: string }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, gemm, blas, simd;
  napi_create_object(env, &obj);
  const char* b = tmaml::blasInfo();
  napi_create_string_utf8(env, b != nullptr ? b : "unknown", NAPI_AUTO_LENGTH, &blas);
  napi_create_string_utf8(env, tmaml::simdLevel(), NAPI_AUTO_LENGTH, &simd);
  napi_create_string_utf8(env, tmaml::gemmName(), NAPI_AUTO_LENGTH, &gemm);
  napi_set_named_property(env, obj, "gemm", gemm);
  napi_set_named_property(env, obj, "blas", blas);
  napi_set_named_property(env, obj, "simd", simd);
  return obj;
}

// setThreads(n): the kernel threads for the largest kernels (parallel.cc), clamped to [1, 64].
napi_value SetThreads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, argv, 1)) return nullptr;
  int32_t n;
  if (!int32(env, argv[0], &n, "setThreads: n must be an integer")) return nullptr;
  tmaml::setThreads(n);
  return nullptr;
}

// threads() -> the kernel threads in use.
napi_value Threads(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, tmaml::threads(), &out);
  return out;
}

// splitJobs() -> how many kernel calls were split over more than one thread so far.
napi_value SplitJobs(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_double(env, static_cast<double>(tmaml::splitJobs()), &out);
  return out;
}

void define(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
  napi_set_named_property(env, exports, name, fn);
}

}  // namespace

NAPI_MODULE_INIT() {
  tmaml::blasInit();
  define(env, exports, "unary", Unary);
  define(env, exports, "binary", Binary);
  define(env, exports, "stridedCopy", StridedCopy);
  define(env, exports, "reduce", Reduce);
  define(env, exports, "matMul", MatMul);
  define(env, exports, "matMulBuiltin", MatMulBuiltin);
  define(env, exports, "info", Info);
  define(env, exports, "setThreads", SetThreads);
  define(env, exports, "threads", Threads);
  define(env, exports, "splitJobs", SplitJobs);
  return exports;
}
