// Top-k selection of rows on the CPU, shared by row_topk and the fused LayerNorm + GS(k).
//
// Rule (../topk_rule.h, shared with CUDA): the k largest entries in descending order, an entry
// equal to a kept one ranks behind it when its column is higher, NaN above every number.
//
// A plain scan that keeps a sorted buffer of the best k inserts about k * ln(d / k) entries
// per random row (22 for d = 128, k = 8), each a shift loop ending in a mispredicted branch.
// The fast path bounds the k-th largest value from below without branches, then ranks the few
// entries that clear the bound by counting, which needs no data-dependent branch at all:
//
//   1. lane maxima  m_j = max_{c = j mod k} h_c  (k strided lanes; a vertical SIMD max),
//   2. t0 = min_j m_j: k distinct entries are >= t0, so the k-th largest entry of the row is
//      >= t0 as well and no entry below t0 can be selected,
//   3. the survivors h_c >= t0 in column order (a small fraction of a random row at k = 8);
//      with AVX2 a compare + movemask per 8 columns picks a lane permutation from a table that
//      packs them, with no branch per survivor (faster than reading the set bits of a mask one
//      by one),
//   4. rank_i = #{j : s_j > s_i} + #{j < i : s_j == s_i} for each survivor (one broadcast and
//      a compare + movemask per 8 survivors, with AVX2), and survivor i lands in slot rank_i
//      when rank_i < k. This replaced an insertion sort over the survivors.
//      For large k the bound is weak (most columns survive at k = 32) and ranking is
//      O(m^2): above 32 survivors a binary search on sortable integer keys first finds the
//      k-th largest value with vectorised counts, and only the k kept entries are ranked.
//
// Rows are taken 8 at a time where possible (select_topk_rows): with AVX2, float32 and
// k <= 16, steps 1 and 2 are replaced by each row's exact k-th largest entry, computed for the
// 8 rows side by side in the SIMD lanes (kth_largest_of_8_rows), so step 3 leaves about k
// survivors instead of ~20 and step 4 ranks one register of them.
//
// NaN ranks above every number, as in torch.sort's descending order (so a NaN in the input
// shows in the output instead of being dropped); NaNs among themselves go by column. Step 3
// notices NaN and sends the row to the plain scan, whose comparisons follow that rule; on rows
// without NaN the fast path equals the scan exactly (the bound only decides which entries are
// ranked). Without AVX2 and for double, step 4 is an insertion sort over the survivors.
#pragma once

#include <array>
#include <climits>
#include <cstdint>
#include <limits>
#include <type_traits>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "../topk_rule.h"
#include "isa.h"

namespace gsr::GSR_CPU_NS {

// Widest row and largest k the stack-buffered fast path handles.
constexpr int64_t kSelectMaxWidth = 1024;
constexpr int64_t kSelectMaxK = 64;

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
    if (!ranks_above(x, kth)) continue;  // ties lose to the lower column already kept
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

// What step 3 returns for a row with NaN (fewer than k survivors, so the row takes the scan).
constexpr int64_t kRowHasNaN = -1;

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
// For each 8-bit mask, the positions of its set bits, lowest first, one byte each: the lane
// permutation that packs the selected lanes of a register to its front.
constexpr std::array<uint64_t, 256> make_compress_table() {
  std::array<uint64_t, 256> table{};
  for (int bits = 0; bits < 256; ++bits) {
    uint64_t lanes = 0;
    int packed = 0;
    for (int lane = 0; lane < 8; ++lane) {
      if ((bits >> lane) & 1) lanes |= static_cast<uint64_t>(lane) << (8 * packed++);
    }
    table[bits] = lanes;
  }
  return table;
}
inline constexpr std::array<uint64_t, 256> kCompressTable = make_compress_table();

// Step 3 with AVX2: the survivors h_c >= t0 packed in column order into (s, col), eight
// columns at a time by a table-driven lane permutation: no branch per survivor. s and col
// need room for d + 8 entries. Returns the number of survivors, or kRowHasNaN.
inline int64_t pack_survivors(const float* h, int64_t d, float t0, float* s, int32_t* col) {
  const __m256 threshold = _mm256_set1_ps(t0);
  const __m256i step = _mm256_set1_epi32(8);
  __m256i columns = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256 nan = _mm256_setzero_ps();
  int64_t m = 0;
  int64_t c = 0;
  for (; c + 8 <= d; c += 8) {
    const __m256 x = _mm256_loadu_ps(h + c);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    const int bits = _mm256_movemask_ps(_mm256_cmp_ps(x, threshold, _CMP_GE_OQ));
    const __m256i lanes =
        _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(kCompressTable[bits])));
    _mm256_storeu_ps(s + m, _mm256_permutevar8x32_ps(x, lanes));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(col + m),
                        _mm256_permutevar8x32_epi32(columns, lanes));
    m += __builtin_popcount(static_cast<unsigned>(bits));
    columns = _mm256_add_epi32(columns, step);
  }
  bool tail_nan = false;
  for (; c < d; ++c) {
    tail_nan |= h[c] != h[c];
    if (h[c] >= t0) {
      s[m] = h[c];
      col[m++] = static_cast<int32_t>(c);
    }
  }
  return (tail_nan || _mm256_movemask_ps(nan) != 0) ? kRowHasNaN : m;
}

// Step 4 of select_topk with AVX2: the m survivors (values s, padded with NaN to 8 * NB; columns
// col) live in NB registers, and one broadcast, 2 * NB compares + movemasks and two popcounts
// give a survivor's rank. Survivor i goes to slot rank_i of (v, idx) when rank_i < k.
template <int NB, typename index_t>
inline void rank_survivors(const float* s, const int32_t* col, int64_t m, int64_t k, float* v,
                           index_t* idx) {
  __m256 block[NB];
  for (int q = 0; q < NB; ++q) block[q] = _mm256_loadu_ps(s + 8 * q);
  for (int64_t i = 0; i < m; ++i) {
    const __m256 si = _mm256_broadcast_ss(s + i);
    uint64_t greater = 0, equal = 0;
    for (int q = 0; q < NB; ++q) {
      greater |= static_cast<uint64_t>(_mm256_movemask_ps(_mm256_cmp_ps(block[q], si, _CMP_GT_OQ)))
                 << (8 * q);
      equal |= static_cast<uint64_t>(_mm256_movemask_ps(_mm256_cmp_ps(block[q], si, _CMP_EQ_OQ)))
               << (8 * q);
    }
    const int64_t rank =
        __builtin_popcountll(greater) + __builtin_popcountll(equal & ((uint64_t(1) << i) - 1));
    // Survivors ranked k or lower go to a sink (a pointer select, not a branch).
    float value_sink;
    index_t index_sink;
    *(rank < k ? v + rank : &value_sink) = s[i];
    *(rank < k ? idx + rank : &index_sink) = static_cast<index_t>(col[i]);
  }
}

// Sortable keys of 8 floats: integers in the order of the values (-0.0 is first made +0.0, so
// equal values keep equal keys). NaN lanes and lanes >= `valid` get INT32_MIN, below every
// value's key, so they are never selected (as the lane bound never selects NaN).
inline __m256i sortable_keys(__m256 x, int64_t valid) {
  const __m256i bits = _mm256_castps_si256(_mm256_add_ps(x, _mm256_setzero_ps()));
  const __m256i keys = _mm256_xor_si256(
      bits, _mm256_and_si256(_mm256_srai_epi32(bits, 31), _mm256_set1_epi32(0x7fffffff)));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i in_range =
      _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(valid)), lane),
                       _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_ORD_Q)));
  return _mm256_blendv_epi8(_mm256_set1_epi32(INT32_MIN), keys, in_range);
}

// #{keys >= threshold} over 8 * blocks keys (kBlocks > 0: a fixed count of blocks).
template <int64_t kBlocks>
inline int64_t count_at_least(const int32_t* key, int64_t blocks, int32_t threshold) {
  // key >= threshold <=> key > threshold - 1; each true lane is -1, so subtracting counts it.
  const __m256i below = _mm256_set1_epi32(threshold - 1);
  __m256i count = _mm256_setzero_si256();
  const int64_t n = kBlocks > 0 ? kBlocks : blocks;  // a fixed trip count unrolls: no mispredict
  for (int64_t q = 0; q < n; ++q) {
    const __m256i keys = _mm256_load_si256(reinterpret_cast<const __m256i*>(key + 8 * q));
    count = _mm256_sub_epi32(count, _mm256_cmpgt_epi32(keys, below));
  }
  const __m128i half =
      _mm_add_epi32(_mm256_castsi256_si128(count), _mm256_extracti128_si256(count, 1));
  const __m128i quarter = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0x4e));
  return _mm_cvtsi128_si32(_mm_add_epi32(quarter, _mm_shuffle_epi32(quarter, 0xb1)));
}

// The largest T in [lo, hi] with #{keys >= T} >= k, given #{keys >= lo} >= k.
template <int64_t kBlocks>
inline int32_t kth_largest_key(const int32_t* key, int64_t blocks, int64_t k, int32_t lo,
                               int32_t hi) {
  while (lo < hi) {
    const int32_t mid = static_cast<int32_t>(lo + ((static_cast<int64_t>(hi) - lo + 1) >> 1));
    const bool enough = count_at_least<kBlocks>(key, blocks, mid) >= k;
    lo = enough ? mid : lo;  // selects, not a branch: the outcome is a coin toss
    hi = enough ? hi : mid - 1;
  }
  return lo;
}

// The k largest entries of a row with a weak lane bound (many survivors: large k) into
// (sel, sel_col) in column order, ties to the lower column, without ranking every survivor
// (O(m^2)): the k-th largest key T in [key(t0), max key] is found by a binary search on
// #{keys >= T} (about 25 vectorised counts over the row), then the columns above T and the
// first ties at T are read off bit masks.
inline void select_by_threshold(const float* h, int64_t d, int64_t k, float t0, float* sel,
                                int32_t* sel_col) {
  constexpr int64_t kFixedBlocks = 16;  // rows of width <= 128 take a fixed, unrolled count
  alignas(32) int32_t key[kSelectMaxWidth + 8 * kFixedBlocks];
  const int64_t blocks = (d + 7) / 8;
  __m256i high = _mm256_set1_epi32(INT32_MIN);
  for (int64_t q = 0; q < blocks; ++q) {
    alignas(32) float tail[8];
    const float* src = h + 8 * q;
    if (8 * q + 8 > d) {  // the last, partial block: never read past the row
      for (int64_t j = 0; j < 8; ++j) tail[j] = 8 * q + j < d ? src[j] : 0.0f;
      src = tail;
    }
    const __m256i keys = sortable_keys(_mm256_loadu_ps(src), d - 8 * q);
    _mm256_store_si256(reinterpret_cast<__m256i*>(key + 8 * q), keys);
    high = _mm256_max_epi32(high, keys);
  }
  for (int64_t q = blocks; q < kFixedBlocks; ++q) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(key + 8 * q), _mm256_set1_epi32(INT32_MIN));
  }
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), high);
  int32_t hi = lanes[0];
  for (int j = 1; j < 8; ++j) hi = lanes[j] > hi ? lanes[j] : hi;
  alignas(32) float bound[8] = {t0};
  const int32_t lo = _mm256_extract_epi32(sortable_keys(_mm256_load_ps(bound), 1), 0);
  const int32_t kth = blocks <= kFixedBlocks ? kth_largest_key<kFixedBlocks>(key, blocks, k, lo, hi)
                                             : kth_largest_key<0>(key, blocks, k, lo, hi);
  // Masks of the keys above T and equal to T, 64 columns a word.
  const __m256i threshold = _mm256_set1_epi32(kth);
  uint64_t above[kSelectMaxWidth / 64], tied[kSelectMaxWidth / 64];
  int64_t ties_left = k;
  for (int64_t w = 0; 64 * w < d; ++w) {
    above[w] = tied[w] = 0;
    for (int64_t q = 0; q < 8 && 8 * (8 * w + q) < d; ++q) {
      const __m256i keys =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(key + 64 * w + 8 * q));
      above[w] |= static_cast<uint64_t>(static_cast<uint32_t>(
                      _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(keys, threshold)))))
                  << (8 * q);
      tied[w] |= static_cast<uint64_t>(static_cast<uint32_t>(
                     _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(keys, threshold)))))
                 << (8 * q);
    }
    ties_left -= __builtin_popcountll(above[w]);
  }
  int64_t taken = 0;
  for (int64_t w = 0; 64 * w < d; ++w) {
    uint64_t take = above[w];
    for (uint64_t eq = tied[w]; eq != 0 && ties_left > 0; eq &= eq - 1, --ties_left) {
      take |= eq & (~eq + 1);  // the lowest tied column left
    }
    for (; take != 0; take &= take - 1) {
      const int64_t c = 64 * w + __builtin_ctzll(take);
      sel[taken] = h[c];
      sel_col[taken++] = static_cast<int32_t>(c);
    }
  }
}

// Ranks m <= 64 survivors (values s with room for NaN padding up to a multiple of 8, columns
// col) into the top-k (v, idx) with AVX2 and returns true; returns false for double.
template <typename scalar_t, typename index_t>
inline bool rank_survivors(scalar_t* s, int32_t* col, int64_t m, int64_t k, scalar_t* v,
                           index_t* idx) {
  if constexpr (std::is_same_v<scalar_t, float>) {
    // Pad to a multiple of 8 (s and col have room): a NaN is never greater or equal.
    _mm256_storeu_ps(s + m, _mm256_set1_ps(std::numeric_limits<float>::quiet_NaN()));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(col + m), _mm256_setzero_si256());
    switch ((m + 7) / 8) {
      case 1:
        rank_survivors<1>(s, col, m, k, v, idx);
        return true;
      case 2:
        rank_survivors<2>(s, col, m, k, v, idx);
        return true;
      case 3:
        rank_survivors<3>(s, col, m, k, v, idx);
        return true;
      case 4:
        rank_survivors<4>(s, col, m, k, v, idx);
        return true;
      case 5:
        rank_survivors<5>(s, col, m, k, v, idx);
        return true;
      case 6:
        rank_survivors<6>(s, col, m, k, v, idx);
        return true;
      case 7:
        rank_survivors<7>(s, col, m, k, v, idx);
        return true;
      default:
        rank_survivors<8>(s, col, m, k, v, idx);
        return true;
    }
  }
  return false;
}
#endif

// Step 3: the entries h_c >= t0 into (s, col) in column order (room for d + 8 entries);
// returns their count, or kRowHasNaN.
template <typename scalar_t>
inline int64_t collect_survivors(const scalar_t* h, int64_t d, scalar_t t0, scalar_t* s,
                                 int32_t* col) {
#if defined(GSR_CPU_AVX2)
  if constexpr (std::is_same_v<scalar_t, float>) return pack_survivors(h, d, t0, s, col);
#endif
  int nan = 0;
#pragma omp simd reduction(| : nan)
  for (int64_t c = 0; c < d; ++c) nan |= h[c] != h[c];
  if (nan) return kRowHasNaN;
  int64_t m = 0;
  for (int64_t w = 0; 64 * w < d; ++w) {  // 64 columns a mask word, then its set bits
    for (uint64_t bits = ge_mask_word(h + 64 * w, d - 64 * w < 64 ? d - 64 * w : 64, t0); bits != 0;
         bits &= bits - 1) {
      const int64_t c = 64 * w + __builtin_ctzll(bits);
      s[m] = h[c];
      col[m++] = static_cast<int32_t>(c);
    }
  }
  return m;
}

// Steps 3 and 4: the top-k of the row h (width d, 1 <= k <= d, d <= kSelectMaxWidth) into
// v, idx, given a lower bound t0 of its k-th largest entry.
template <typename scalar_t, typename index_t>
inline void select_topk_above(const scalar_t* __restrict h, int64_t d, int64_t k, scalar_t t0,
                              scalar_t* __restrict v, index_t* __restrict idx) {
  // 3. The survivors h_c >= t0, in column order.
  alignas(32) scalar_t survivor[kSelectMaxWidth + 8];
  int32_t survivor_col[kSelectMaxWidth + 8];
  int64_t m = collect_survivors(h, d, t0, survivor, survivor_col);
  if (m < k) {  // NaN in the row: take the plain scan, which ranks NaN first
    scan_topk(h, static_cast<const int32_t*>(nullptr), d, k, v, idx);
    return;
  }
#if defined(GSR_CPU_AVX2)
  if constexpr (std::is_same_v<scalar_t, float>) {
    if (m > 32) {  // a weak bound (large k): cut to exactly k entries without ranking them all
      select_by_threshold(h, d, k, t0, survivor, survivor_col);
      m = k;
    }
  }
  // 4. Rank by counting ...
  if (rank_survivors(survivor, survivor_col, m, k, v, idx)) return;
#endif
  // 4'. ... or, without AVX2 and for double, an insertion in column order.
  scan_topk(survivor, static_cast<const int32_t*>(nullptr), m, k, v, idx);
  for (int64_t t = 0; t < k; ++t) idx[t] = static_cast<index_t>(survivor_col[idx[t]]);
}

// Top-k of the row h (width d, 1 <= k <= d) into v, idx (k entries each).
template <typename scalar_t, typename index_t>
inline void select_topk(const scalar_t* __restrict h, int64_t d, int64_t k, scalar_t* __restrict v,
                        index_t* __restrict idx) {
  if (k < 1) return;
  if (k > kSelectMaxK || d < 2 * k || d > kSelectMaxWidth) {
    scan_topk(h, static_cast<const int32_t*>(nullptr), d, k, v, idx);
    return;
  }
  // 1. Lane maxima over k strided lanes (lane j holds the columns c = j mod k).
  // 2. t0 = the smallest lane maximum: the k lane maxima are k distinct entries >= t0.
  select_topk_above(h, d, k, lane_bound(h, d, k), v, idx);
}

// Rows are selected in blocks of this many (one per SIMD lane in the block path below).
constexpr int64_t kBlockRows = 8;

#if defined(GSR_CPU_AVX2)
// The 8 x 8 block r0..r7 (row i in r_i) transposed in place (column j in r_j).
inline void transpose8x8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5,
                         __m256& r6, __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Compare-exchange of two columns of a lane block (lane r = row r): a keeps the larger entry
// of every lane, b the smaller (vmaxps / vminps keep the second operand on NaN; rows with NaN
// leave the fast paths).
inline void exchange(__m256& a, __m256& b) {
  const __m256 larger = _mm256_max_ps(a, b);
  b = _mm256_min_ps(a, b);
  a = larger;
}

// The 8 columns x[0..7] sorted descending in every lane (the 19-exchange network for 8 inputs).
inline void sort8_descending(__m256* x) {
  exchange(x[0], x[2]);
  exchange(x[1], x[3]);
  exchange(x[4], x[6]);
  exchange(x[5], x[7]);
  exchange(x[0], x[4]);
  exchange(x[1], x[5]);
  exchange(x[2], x[6]);
  exchange(x[3], x[7]);
  exchange(x[0], x[1]);
  exchange(x[2], x[3]);
  exchange(x[4], x[5]);
  exchange(x[6], x[7]);
  exchange(x[2], x[4]);
  exchange(x[3], x[5]);
  exchange(x[1], x[4]);
  exchange(x[3], x[6]);
  exchange(x[1], x[2]);
  exchange(x[3], x[4]);
  exchange(x[5], x[6]);
}

// best[0..K-1] (descending in every lane; K = 8 or 16) becomes the K largest of best and of
// the 8 columns x[0..7], descending.
// K = 8: x is sorted by the network above, then the larger of best[7 - i] and x[i] is a
// bitonic sequence holding the 8 largest, sorted by a half-cleaner cascade: 35 exchanges per
// 8 columns against 64 for inserting them one by one.
// K = 16: one column at a time down the chain (the network's 16 + 8 live registers spill,
// which measured slower than the insertion).
template <int K>
inline void merge_columns(__m256* best, __m256* x) {
  static_assert(K == 8 || K == 16, "a lane block keeps the 8 or 16 largest entries");
  if constexpr (K == 8) {
    sort8_descending(x);
    for (int i = 0; i < 8; ++i) best[7 - i] = _mm256_max_ps(best[7 - i], x[i]);
    for (int stride = 4; stride > 0; stride /= 2) {
      for (int i = 0; i < 8; ++i) {
        if ((i & stride) == 0) exchange(best[i], best[i + stride]);
      }
    }
  } else {
    for (int j = 0; j < 8; ++j) {
      __m256 column = x[j];
      for (int i = 0; i < K; ++i) exchange(best[i], column);
    }
  }
}

// The k-th largest entry (k <= K, K = 8 or 16) of each of 8 rows of width d (a multiple of 8;
// row r at h + r * d): the K largest values of every row, kept in K registers, eight rows
// side by side in the SIMD lanes, each 8 transposed columns merged in (merge_columns). No
// branch and no survivor list.
template <int K>
inline void kth_largest_of_8_rows(const float* h, int64_t d, int64_t k, float* kth) {
  __m256 v[K];
  for (int j = 0; j < K; ++j) v[j] = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t c = 0; c < d; c += 8) {
    __m256 r0 = _mm256_loadu_ps(h + c), r1 = _mm256_loadu_ps(h + d + c);
    __m256 r2 = _mm256_loadu_ps(h + 2 * d + c), r3 = _mm256_loadu_ps(h + 3 * d + c);
    __m256 r4 = _mm256_loadu_ps(h + 4 * d + c), r5 = _mm256_loadu_ps(h + 5 * d + c);
    __m256 r6 = _mm256_loadu_ps(h + 6 * d + c), r7 = _mm256_loadu_ps(h + 7 * d + c);
    transpose8x8(r0, r1, r2, r3, r4, r5, r6, r7);
    __m256 columns[8] = {r0, r1, r2, r3, r4, r5, r6, r7};
    merge_columns<K>(v, columns);
  }
  alignas(32) float lists[K][8];
  for (int j = 0; j < K; ++j) _mm256_store_ps(lists[j], v[j]);
  for (int r = 0; r < 8; ++r) kth[r] = lists[k - 1][r];
}
#endif

// Top-k of `rows` <= kBlockRows consecutive rows of width d (row r at h + r * d) into V, I
// (k entries per row). A full block of float32 rows with k <= 16 takes each row's exact k-th
// largest entry from kth_largest_of_8_rows as the bound t0 of steps 3 and 4: about k
// survivors instead of ~20, with the same results as select_topk row by row.
template <typename scalar_t, typename index_t>
inline void select_topk_rows(const scalar_t* h, int64_t rows, int64_t d, int64_t k, scalar_t* V,
                             index_t* I) {
#if defined(GSR_CPU_AVX2)
  if constexpr (std::is_same_v<scalar_t, float>) {
    if (rows == kBlockRows && k >= 1 && k <= 16 && d % 8 == 0 && d >= 2 * k &&
        d <= kSelectMaxWidth) {
      alignas(32) float kth[kBlockRows];
      if (k <= 8) {
        kth_largest_of_8_rows<8>(h, d, k, kth);
      } else {
        kth_largest_of_8_rows<16>(h, d, k, kth);
      }
      for (int64_t r = 0; r < rows; ++r)
        select_topk_above(h + r * d, d, k, kth[r], V + r * k, I + r * k);
      return;
    }
  }
#endif
  for (int64_t r = 0; r < rows; ++r) select_topk(h + r * d, d, k, V + r * k, I + r * k);
}

}  // namespace gsr::GSR_CPU_NS
