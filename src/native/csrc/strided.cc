// Shape handling shared by the broadcasting kernels: strides, dimension coalescing, the strided copy
// behind Transpose / Tile / BroadcastTo, and the binary-op entry point.
#include <algorithm>
#include <cstring>

#include "kernels.h"

namespace tmaml {

namespace {

// Merge adjacent dims when, for every operand, stepping the outer dim equals stepping over the whole
// inner dim; drop size-1 dims. Returns the new rank (>= 1). Strides are in elements; shape is of the
// output. `k` operands share the same output shape.
int coalesce(int rank, int64_t* shape, int k, int64_t* const* strides) {
  int out = 0;
  for (int d = 0; d < rank; d++) {
    if (shape[d] == 1) continue;
    if (out > 0) {
      bool mergeable = true;
      for (int j = 0; j < k; j++)
        if (strides[j][out - 1] != strides[j][d] * shape[d]) mergeable = false;
      if (mergeable) {
        shape[out - 1] *= shape[d];
        for (int j = 0; j < k; j++) strides[j][out - 1] = strides[j][d];
        continue;
      }
    }
    shape[out] = shape[d];
    for (int j = 0; j < k; j++) strides[j][out] = strides[j][d];
    out++;
  }
  if (out == 0) {
    shape[0] = 1;
    for (int j = 0; j < k; j++) strides[j][0] = 0;
    out = 1;
  }
  return out;
}

// Broadcast strides of an operand whose rank-aligned shape is `s` against the output shape.
void broadcastStrides(int rank, const int64_t* s, int64_t* stride) {
  int64_t st = 1;
  for (int d = rank - 1; d >= 0; d--) {
    stride[d] = s[d] == 1 ? 0 : st;
    st *= s[d];
  }
}

using SimdBinary = void (*)(int32_t, const float*, const float*, float*, int, const int64_t*, const int64_t*,
                            const int64_t*);

}  // namespace

extern SimdBinary simdBinary;  // dispatch.cc

void binary(int32_t op, const float* a, const float* b, float* out, int rank, const int64_t* outShape,
            const int64_t* aShape, const int64_t* bShape) {
  int64_t shape[kMaxRank], sa[kMaxRank], sb[kMaxRank];
  std::memcpy(shape, outShape, sizeof(int64_t) * rank);
  broadcastStrides(rank, aShape, sa);
  broadcastStrides(rank, bShape, sb);
  int64_t* strides[2] = {sa, sb};
  const int r = coalesce(rank, shape, 2, strides);
  int64_t inner = 1;
  for (int d = 0; d < r; d++) {
    if (shape[d] == 0) return;
    if (d > 0) inner *= shape[d];
  }
  // Split along the outermost dim: each slice is the same loop on offset pointers.
  parallelFor(shape[0], std::max<int64_t>(1, kElementwiseGrain / inner), [&](int64_t i0, int64_t i1) {
    int64_t part[kMaxRank];
    std::memcpy(part, shape, sizeof(int64_t) * r);
    part[0] = i1 - i0;
    simdBinary(op, a + i0 * sa[0], b + i0 * sb[0], out + i0 * inner, r, part, sa, sb);
  }, r == 1 ? kSplitAlign : 1);
}

void stridedCopy(const uint32_t* x, uint32_t* out, int rank, const int64_t* outShape, const int64_t* xStride) {
  int64_t shape[kMaxRank], sx[kMaxRank];
  std::memcpy(shape, outShape, sizeof(int64_t) * rank);
  std::memcpy(sx, xStride, sizeof(int64_t) * rank);
  int64_t* strides[1] = {sx};
  int r = coalesce(rank, shape, 1, strides);
  int64_t total = 1;
  for (int d = 0; d < r; d++) total *= shape[d];
  if (total == 0) return;
  if (r == 1 && sx[0] == 1) {
    std::memcpy(out, x, sizeof(uint32_t) * total);
    return;
  }
  // A batch of 2-D transposes: [..., rows, cols] with the rows dim contiguous in x.
  if (r >= 2 && sx[r - 2] == 1 && sx[r - 1] > 1) {
    const int64_t rows = shape[r - 2], cols = shape[r - 1];
    int64_t outer = total / (rows * cols);
    int64_t idx[kMaxRank] = {0};
    int64_t off = 0;
    for (int64_t o = 0; o < outer; o++) {
      transpose2d(x + off, out + o * rows * cols, rows, cols, sx[r - 1]);
      for (int d = r - 3; d >= 0; d--) {
        idx[d]++;
        off += sx[d];
        if (idx[d] < shape[d]) break;
        off -= sx[d] * shape[d];
        idx[d] = 0;
      }
    }
    return;
  }
  const int64_t n = shape[r - 1], s = sx[r - 1];
  const int64_t rows = total / n;
  int64_t idx[kMaxRank] = {0};
  int64_t off = 0;
  for (int64_t row = 0; row < rows; row++) {
    uint32_t* o = out + row * n;
    const uint32_t* xi = x + off;
    if (s == 1)
      std::memcpy(o, xi, sizeof(uint32_t) * n);
    else if (s == 0)
      for (int64_t i = 0; i < n; i++) o[i] = xi[0];
    else
      for (int64_t i = 0; i < n; i++) o[i] = xi[i * s];
    for (int d = r - 2; d >= 0; d--) {
      idx[d]++;
      off += sx[d];
      if (idx[d] < shape[d]) break;
      off -= sx[d] * shape[d];
      idx[d] = 0;
    }
  }
}

}  // namespace tmaml
