// Top-k selection of one row on the CPU, shared by row_topk and the fused LayerNorm + GS(k).
//
// Rule (the same as the pure-torch reference): the k largest entries in descending order, an
// entry equal to a kept one ranks behind it when its column is higher.
//
// A plain scan that keeps a sorted buffer of the best k inserts about k * ln(d / k) entries
// per random row (22 for d = 128, k = 8), each a shift loop ending in a mispredicted branch.
// The fast path bounds the k-th largest value from below without branches, then ranks the few
// entries that clear the bound by counting, which needs no data-dependent branch at all:
//
//   1. lane maxima  m_j = max_{c = j mod k} h_c  (k strided lanes; a vertical SIMD max),
//   2. t0 = min_j m_j: k distinct entries are >= t0, so the k-th largest entry of the row is
//      >= t0 as well and no entry below t0 can be selected,
//   3. the survivors h_c >= t0 in column order (SIMD compare + movemask, then the set bits;
//      ~20 of 128 columns on a random row at k = 8, measured),
//   4. rank_i = #{j : s_j > s_i} + #{j < i : s_j == s_i} for each survivor (one broadcast and
//      a compare + movemask per 8 survivors, with AVX2), and survivor i lands in slot rank_i
//      when rank_i < k. This replaced an insertion sort over the survivors: 340 -> 230 ns per
//      row at d = 128 and 290 -> 170 at d = 64 (k = 8, one core; benchmarks/README.md).
//
// On rows without NaN the result equals the plain scan's exactly. Rows where the bound is
// useless (NaN entries) fall back to the scan. Without AVX2, for double, and on flat rows with
// more than 64 survivors, step 4 is the insertion sort over the survivors.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
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

// Steps 1 and 2 of select_topk: the smallest of the k lane maxima m_j = max_{c = j mod k} h_c.
// `a > b ? a : b` keeps the old value on NaN.
template <typename scalar_t>
inline scalar_t lane_bound(const scalar_t* __restrict h, int64_t d, int64_t k) {
#if defined(GSR_CPU_AVX2)
  if constexpr (std::is_same_v<scalar_t, float>) {
    if (k == 8) {  // the common case: one register of lanes (vmaxps keeps the old lane on NaN)
      __m256 lanes = _mm256_loadu_ps(h);
      for (int64_t c = 8; c + 8 <= d; c += 8) lanes = _mm256_max_ps(_mm256_loadu_ps(h + c), lanes);
      alignas(32) float lane_max[8];
      _mm256_store_ps(lane_max, lanes);
      for (int64_t c = d - d % 8; c < d; ++c) {
        lane_max[c % 8] = h[c] > lane_max[c % 8] ? h[c] : lane_max[c % 8];
      }
      float t0 = lane_max[0];
      for (int j = 1; j < 8; ++j) t0 = lane_max[j] < t0 ? lane_max[j] : t0;
      return t0;
    }
  }
#endif
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
  scalar_t t0 = lane_max[0];
  for (int64_t j = 1; j < k; ++j) t0 = lane_max[j] < t0 ? lane_max[j] : t0;
  return t0;
}

#if defined(GSR_CPU_AVX2)
// Step 4 of select_topk with AVX2: the m survivors (values s, padded with NaN to 8 * NB; columns
// col) live in NB registers, and one broadcast, 2 * NB compares + movemasks and two popcounts
// give a survivor's rank. Survivor i goes to slot rank_i of (v, idx) when rank_i < k, else to
// the spare slot k, so v and idx need k + 1 entries.
template <int NB, typename index_t>
inline void rank_survivors(const float* s, const int32_t* col, int64_t m, int64_t k, float* v,
                           index_t* idx) {
  __m256 block[NB];
  for (int q = 0; q < NB; ++q) block[q] = _mm256_loadu_ps(s + 8 * q);
  for (int64_t i = 0; i < m; ++i) {
    const __m256 si = _mm256_broadcast_ss(s + i);
    uint64_t greater = 0, equal = 0;
    for (int q = 0; q < NB; ++q) {
      greater |= static_cast<uint64_t>(
                     _mm256_movemask_ps(_mm256_cmp_ps(block[q], si, _CMP_GT_OQ))) << (8 * q);
      equal |= static_cast<uint64_t>(
                   _mm256_movemask_ps(_mm256_cmp_ps(block[q], si, _CMP_EQ_OQ))) << (8 * q);
    }
    const int64_t rank =
        __builtin_popcountll(greater) + __builtin_popcountll(equal & ((uint64_t(1) << i) - 1));
    const int64_t slot = rank < k ? rank : k;
    v[slot] = s[i];
    idx[slot] = static_cast<index_t>(col[i]);
  }
}

// Ranks up to 64 survivors (returns true), or leaves them to the caller (false).
template <typename scalar_t, typename index_t>
inline bool rank_survivors(const scalar_t* s, const int32_t* col, int64_t m, int64_t k,
                           scalar_t* v, index_t* idx) {
  if constexpr (std::is_same_v<scalar_t, float>) {
    switch ((m + 7) / 8) {
      case 1: rank_survivors<1>(s, col, m, k, v, idx); return true;
      case 2: rank_survivors<2>(s, col, m, k, v, idx); return true;
      case 3: rank_survivors<3>(s, col, m, k, v, idx); return true;
      case 4: rank_survivors<4>(s, col, m, k, v, idx); return true;
      case 5: rank_survivors<5>(s, col, m, k, v, idx); return true;
      case 6: rank_survivors<6>(s, col, m, k, v, idx); return true;
      case 7: rank_survivors<7>(s, col, m, k, v, idx); return true;
      case 8: rank_survivors<8>(s, col, m, k, v, idx); return true;
      default: return false;
    }
  }
  return false;
}
#endif

// Top-k of the row h (width d, 1 <= k <= d) into v, idx (k entries each).
template <typename scalar_t, typename index_t>
inline void select_topk(const scalar_t* __restrict h, int64_t d, int64_t k,
                        scalar_t* __restrict v, index_t* __restrict idx) {
  if (k < 1) return;
  if (k > kSelectMaxK || d < 2 * k || d > kSelectMaxWidth) {
    scan_topk(h, static_cast<const int32_t*>(nullptr), d, k, v, idx);
    return;
  }
  // 1. Lane maxima over k strided lanes (lane j holds the columns c = j mod k).
  // 2. t0 = the smallest lane maximum: the k lane maxima are k distinct entries >= t0.
  const scalar_t t0 = lane_bound(h, d, k);
  // 3. The survivors h_c >= t0 in column order, 64 columns a mask word; NaN padding after them.
  alignas(32) scalar_t survivor[kSelectMaxWidth + 8];
  int32_t survivor_col[kSelectMaxWidth];
  int64_t m = 0;
  for (int64_t w = 0; 64 * w < d; ++w) {
    uint64_t bits = ge_mask_word(h + 64 * w, d - 64 * w < 64 ? d - 64 * w : 64, t0);
    for (; bits != 0; bits &= bits - 1) {
      const int64_t c = 64 * w + __builtin_ctzll(bits);
      survivor[m] = h[c];
      survivor_col[m++] = static_cast<int32_t>(c);
    }
  }
  if (m < k) {  // NaN in the row: the bound did not hold, take the plain scan
    scan_topk(h, static_cast<const int32_t*>(nullptr), d, k, v, idx);
    return;
  }
#if defined(GSR_CPU_AVX2)
  // 4. Rank by counting (NaN padding never counts as greater or equal) ...
  for (int64_t j = m; j < ((m + 7) & ~int64_t(7)); ++j) {
    survivor[j] = std::numeric_limits<scalar_t>::quiet_NaN();
  }
  scalar_t ranked_v[kSelectMaxK + 1];
  index_t ranked_idx[kSelectMaxK + 1];
  if (rank_survivors(survivor, survivor_col, m, k, ranked_v, ranked_idx)) {
    for (int64_t t = 0; t < k; ++t) {
      v[t] = ranked_v[t];
      idx[t] = ranked_idx[t];
    }
    return;
  }
#endif
  // 4'. ... or, without AVX2, for double and for flat rows, an insertion in column order.
  scan_topk(survivor, static_cast<const int32_t*>(nullptr), m, k, v, idx);
  for (int64_t t = 0; t < k; ++t) idx[t] = static_cast<index_t>(survivor_col[idx[t]]);
}

}  // namespace gsr::GSR_CPU_NS
