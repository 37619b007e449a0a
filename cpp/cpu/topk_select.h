// Top-k selection of one row on the CPU, shared by row_topk and the fused LayerNorm + GS(k).
//
// Rule (the same as the pure-torch reference): the k largest entries in descending order, an
// entry equal to a kept one ranks behind it when its column is higher.
//
// A plain scan that keeps a sorted buffer of the best k inserts about k * ln(d / k) entries
// per random row (22 for d = 128, k = 8), each a shift loop ending in a mispredicted branch:
// 4-5 ns per entry measured, where the fast path below takes ~2.5. It first bounds the k-th
// largest value from below without branches, then inserts only the entries that clear it:
//
//   1. lane maxima  m_j = max_{c = j mod k} h_c  (k strided lanes; a vertical SIMD max),
//   2. t0 = min_j m_j: k distinct entries are >= t0, so the k-th largest entry of the row is
//      >= t0 as well and no entry below t0 can be selected,
//   3. a bit mask of the columns with h_c >= t0 (SIMD compare + movemask; ~20 of 128 columns
//      survive on a random row at k = 8, measured),
//   4. insertion top-k over the set bits in column order (so ties keep the lower column); a
//      branch-free insertion (rank by counting, conditional shift) measured slower at k = 8.
//
// On rows without NaN the result equals the plain scan's exactly. Rows where the bound is
// useless (NaN entries) fall back to the scan.
#pragma once

#include <cstdint>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "isa.h"

namespace gsr::GSR_CPU_NS {

// Widest row and largest k the stack-buffered fast path handles.
constexpr int64_t kSelectMaxWidth = 1024;
constexpr int64_t kSelectMaxK = 64;

// Insert (x, c) into the descending buffer (v, idx) of `filled` entries (capacity k): strictly
// less moves down, so an equal value already kept (lower column) stays ahead.
template <typename scalar_t, typename index_t>
inline void insert_sorted(scalar_t x, int64_t c, int64_t k, int64_t& filled, scalar_t* v,
                          index_t* idx) {
  int64_t pos = filled < k ? filled++ : k - 1;
  while (pos > 0 && v[pos - 1] < x) {
    v[pos] = v[pos - 1];
    idx[pos] = idx[pos - 1];
    --pos;
  }
  v[pos] = x;
  idx[pos] = static_cast<index_t>(c);
}

// The plain scan over the columns listed in `cols` (or 0..count-1 when cols is null).
template <typename scalar_t, typename index_t>
inline void scan_topk(const scalar_t* __restrict h, const int32_t* cols, int64_t count, int64_t k,
                      scalar_t* __restrict v, index_t* __restrict idx) {
  int64_t filled = 0;
  int64_t i = 0;
  for (; i < count && filled < k; ++i) {
    const int64_t c = cols ? cols[i] : i;
    insert_sorted(h[c], c, k, filled, v, idx);
  }
  scalar_t kth = v[k - 1];
  for (; i < count; ++i) {
    const int64_t c = cols ? cols[i] : i;
    const scalar_t x = h[c];
    if (!(x > kth)) continue;  // ties lose to the lower column already kept
    insert_sorted(x, c, k, filled, v, idx);
    kth = v[k - 1];
  }
}

// Bit c set when h[c] >= t, for the first `width` (<= 64) entries of h.
inline uint64_t ge_mask_word(const float* h, int64_t width, float t) {
  uint64_t bits = 0;
  int64_t c = 0;
#if defined(__SSE2__)
  const __m128 threshold = _mm_set1_ps(t);
  for (; c + 4 <= width; c += 4) {
    const int m = _mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(h + c), threshold));
    bits |= static_cast<uint64_t>(m) << c;
  }
#endif
  for (; c < width; ++c) bits |= static_cast<uint64_t>(h[c] >= t) << c;
  return bits;
}

inline uint64_t ge_mask_word(const double* h, int64_t width, double t) {
  uint64_t bits = 0;
  int64_t c = 0;
#if defined(__SSE2__)
  const __m128d threshold = _mm_set1_pd(t);
  for (; c + 2 <= width; c += 2) {
    const int m = _mm_movemask_pd(_mm_cmpge_pd(_mm_loadu_pd(h + c), threshold));
    bits |= static_cast<uint64_t>(m) << c;
  }
#endif
  for (; c < width; ++c) bits |= static_cast<uint64_t>(h[c] >= t) << c;
  return bits;
}

// Top-k of the row h (width d, 1 <= k <= d) into v, idx (k entries each).
template <typename scalar_t, typename index_t>
inline void select_topk(const scalar_t* __restrict h, int64_t d, int64_t k,
                        scalar_t* __restrict v, index_t* __restrict idx) {
  if (k < 1) return;
  if (k > kSelectMaxK || d < 2 * k || d > kSelectMaxWidth) {
    scan_topk(h, static_cast<const int32_t*>(nullptr), d, k, v, idx);
    return;
  }
  // 1. Lane maxima over k strided lanes (lane j holds the columns c = j mod k). `a > b ? a : b`
  // keeps the old value on NaN.
  scalar_t lane_max[kSelectMaxK];
  for (int64_t j = 0; j < k; ++j) lane_max[j] = h[j];
  const int64_t full = d - d % k;
  for (int64_t c = k; c < full; c += k) {
#pragma omp simd
    for (int64_t j = 0; j < k; ++j) lane_max[j] = h[c + j] > lane_max[j] ? h[c + j] : lane_max[j];
  }
  for (int64_t c = full; c < d; ++c) {
    lane_max[c - full] = h[c] > lane_max[c - full] ? h[c] : lane_max[c - full];
  }
  // 2. t0 = the smallest lane maximum: the k lane maxima are k distinct entries >= t0.
  scalar_t t0 = lane_max[0];
  for (int64_t j = 1; j < k; ++j) t0 = lane_max[j] < t0 ? lane_max[j] : t0;
  // 3. Bit mask of the columns that clear the bound, 64 columns a word.
  uint64_t mask[kSelectMaxWidth / 64];
  const int64_t words = (d + 63) / 64;
  for (int64_t w = 0; w < words; ++w) {
    mask[w] = ge_mask_word(h + 64 * w, d - 64 * w < 64 ? d - 64 * w : 64, t0);
  }
  // 4. Insertion over the survivors in column order (so ties keep the lower column).
  int64_t filled = 0;
  for (int64_t w = 0; w < words; ++w) {
    for (uint64_t bits = mask[w]; bits != 0; bits &= bits - 1) {
      const int64_t c = 64 * w + __builtin_ctzll(bits);
      const scalar_t x = h[c];
      if (filled == k && !(x > v[k - 1])) continue;
      insert_sorted(x, c, k, filled, v, idx);
    }
  }
  if (filled < k) {  // NaN in the row: the bound did not hold, take the plain scan
    scan_topk(h, static_cast<const int32_t*>(nullptr), d, k, v, idx);
  }
}

}  // namespace gsr::GSR_CPU_NS
