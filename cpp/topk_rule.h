// The top-k selection rule, one definition for the CPU and the CUDA kernels so that both keep
// the same entries (the pure-torch reference is a stable descending sort):
//   * larger values first; NaN ranks above every number, so a NaN in the input shows in the
//     output instead of being dropped;
//   * equal values (two NaNs included) keep the lower column first.
// Row top-k lists the kept entries in that order; the fused LayerNorm + GS(k) reorders them by
// column (sort_by_column), like the sorted columns of a CSR row.
//
// common.h includes this header, so it precedes cpu/isa.h in every CPU source: its templates
// stay baseline code, shared by both instruction-set variants (see isa.h).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define GSR_HOST_DEVICE __host__ __device__
#else
#define GSR_HOST_DEVICE
#endif

namespace gsr {

// x ranks ahead of y: larger, or NaN while y is a number.
template <typename scalar_t>
GSR_HOST_DEVICE inline bool ranks_above(scalar_t x, scalar_t y) {
  return x > y || (x != x && y == y);
}

// Insert (x, c) into the ranked buffer (v, idx) of `filled` entries (capacity k; when full,
// the last entry gives way): entries x ranks above move down, so an equal value already kept
// (a lower column, offered first) stays ahead.
template <typename scalar_t, typename index_t>
GSR_HOST_DEVICE inline void insert_sorted(scalar_t x, int64_t c, int64_t k, int64_t& filled,
                                          scalar_t* v, index_t* idx) {
  int64_t pos = filled < k ? filled++ : k - 1;
  while (pos > 0 && ranks_above(x, v[pos - 1])) {
    v[pos] = v[pos - 1];
    idx[pos] = idx[pos - 1];
    --pos;
  }
  v[pos] = x;
  idx[pos] = static_cast<index_t>(c);
}

// The k kept entries (v, idx) of one row reordered by column (an insertion sort: k is small).
template <typename scalar_t, typename index_t>
GSR_HOST_DEVICE inline void sort_by_column(int64_t k, scalar_t* v, index_t* idx) {
  for (int64_t t = 1; t < k; ++t) {
    const scalar_t x = v[t];
    const index_t c = idx[t];
    int64_t j = t;
    for (; j > 0 && idx[j - 1] > c; --j) {
      v[j] = v[j - 1];
      idx[j] = idx[j - 1];
    }
    v[j] = x;
    idx[j] = c;
  }
}

}  // namespace gsr
