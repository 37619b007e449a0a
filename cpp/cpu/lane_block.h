// Eight rows side by side in the SIMD lanes (a "lane block"), for the fused LayerNorm + GS(k).
//
// A block holds rows r = 0..7 of width d (d % 8 == 0) transposed: column c is the register
// at ht + 8 c, lane r of it row r's entry. Row statistics become vertical sums over columns (no
// horizontal reduction per row), and the K >= k largest entries of all eight rows come out of
// min/max on whole registers (merge_columns, topk_select.h), with no branch and no per-row
// dependency chain.
//
// The rows' k largest entries are then read off bit masks in column order: mask byte c has
// bit r set when row r keeps column c (h >= its k-th largest). A row whose mask has exactly k
// bits (no tie at its k-th largest, no NaN) needs no ranking at all; ties and NaN take the
// plain scan. Against the row-by-row path (normalised rows, select_topk_rows, moments by
// horizontal sums): see docs/perf-history.md, seventh round.
#pragma once

#include <cstdint>
#include <limits>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "isa.h"
#include "topk_select.h"

namespace gsr::GSR_CPU_NS {

#if defined(GSR_CPU_AVX2)
// Widest row a lane block holds (8 KB of stack).
constexpr int64_t kLaneBlockMaxWidth = 256;

// Rows [0, rows) of Y (row stride d, d % 8 == 0, rows <= 8) transposed into ht (8 d floats,
// 32-byte aligned); lanes >= rows hold zeros. Returns each lane's sum of its row.
inline __m256 load_lane_block(const float* Y, int64_t rows, int64_t d, float* ht) {
  alignas(32) static const float zeros[kLaneBlockMaxWidth] = {};
  const float* row[8];
  for (int64_t r = 0; r < 8; ++r) row[r] = r < rows ? Y + r * d : zeros;
  __m256 sum = _mm256_setzero_ps();
  for (int64_t c = 0; c < d; c += 8) {
    __m256 r0 = _mm256_loadu_ps(row[0] + c), r1 = _mm256_loadu_ps(row[1] + c);
    __m256 r2 = _mm256_loadu_ps(row[2] + c), r3 = _mm256_loadu_ps(row[3] + c);
    __m256 r4 = _mm256_loadu_ps(row[4] + c), r5 = _mm256_loadu_ps(row[5] + c);
    __m256 r6 = _mm256_loadu_ps(row[6] + c), r7 = _mm256_loadu_ps(row[7] + c);
    transpose8x8(r0, r1, r2, r3, r4, r5, r6, r7);
    float* out = ht + 8 * c;
    _mm256_store_ps(out, r0);
    _mm256_store_ps(out + 8, r1);
    _mm256_store_ps(out + 16, r2);
    _mm256_store_ps(out + 24, r3);
    _mm256_store_ps(out + 32, r4);
    _mm256_store_ps(out + 40, r5);
    _mm256_store_ps(out + 48, r6);
    _mm256_store_ps(out + 56, r7);
    // A tree per 8 columns keeps the loop-carried chain at d / 8 additions.
    const __m256 chunk = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(r0, r1), _mm256_add_ps(r2, r3)),
                                       _mm256_add_ps(_mm256_add_ps(r4, r5), _mm256_add_ps(r6, r7)));
    sum = _mm256_add_ps(sum, chunk);
  }
  return sum;
}

// Rows [first, first + 8) of Y (row stride d) requested into the cache. The block loads read
// eight rows in lock step, 512-byte strides apart at d = 128, which the hardware prefetcher
// follows poorly, so the block four ahead is asked for (it pays at d = 128; no change at
// d = 64). always_inline: GCC marks a function
// whose only effect is prefetching `const` and deletes its calls.
[[gnu::always_inline]] inline void prefetch_lane_block(const float* Y, int64_t first, int64_t n,
                                                       int64_t d) {
  if (first >= n) return;
  const int64_t rows = n - first < 8 ? n - first : 8;
  const char* end = reinterpret_cast<const char*>(Y + (first + rows) * d);
  for (const char* p = reinterpret_cast<const char*>(Y + first * d); p < end; p += 64) {
    __builtin_prefetch(p, 0, 3);
  }
}
constexpr int64_t kPrefetchBlocksAhead = 4;

// LayerNorm's moments of the 8 rows: mean = sum / d and rstd = 1 / sqrt(var + eps), the
// variance from centred squares (two passes, as row_moments) and rstd in double.
inline void lane_block_moments(const float* ht, int64_t d, __m256 sum, double eps, __m256& mean,
                               __m256& rstd) {
  const __m256 mu = _mm256_div_ps(sum, _mm256_set1_ps(static_cast<float>(d)));
  __m256 sq[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                  _mm256_setzero_ps()};
  for (int64_t c = 0; c < d; c += 4) {  // d % 8 == 0; four chains of d / 4 FMAs
    for (int j = 0; j < 4; ++j) {
      const __m256 e = _mm256_sub_ps(_mm256_load_ps(ht + 8 * (c + j)), mu);
      sq[j] = _mm256_fmadd_ps(e, e, sq[j]);
    }
  }
  const __m256 total = _mm256_add_ps(_mm256_add_ps(sq[0], sq[1]), _mm256_add_ps(sq[2], sq[3]));
  const __m256d width = _mm256_set1_pd(static_cast<double>(d));
  const __m256d epsilon = _mm256_set1_pd(eps);
  const __m256d one = _mm256_set1_pd(1.0);
  const auto half = [&](__m128 s) {
    const __m256d var = _mm256_add_pd(_mm256_div_pd(_mm256_cvtps_pd(s), width), epsilon);
    return _mm256_cvtpd_ps(_mm256_div_pd(one, _mm256_sqrt_pd(var)));
  };
  mean = mu;
  rstd =
      _mm256_set_m128(half(_mm256_extractf128_ps(total, 1)), half(_mm256_castps256_ps128(total)));
}

// h = (y - mean) * rstd * gamma + beta in place over the block, and the K (8 or 16) largest
// entries of every row, descending, in best[0..K-1].
template <int K>
inline void normalize_lane_block(float* ht, int64_t d, __m256 mean, __m256 rstd, const float* gamma,
                                 const float* beta, __m256* best) {
  for (int j = 0; j < K; ++j) best[j] = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t c = 0; c < d; c += 8) {
    __m256 h[8];
    for (int j = 0; j < 8; ++j) {
      const __m256 y = _mm256_load_ps(ht + 8 * (c + j));
      const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(y, mean), rstd);
      h[j] = _mm256_fmadd_ps(xhat, _mm256_broadcast_ss(gamma + c + j),
                             _mm256_broadcast_ss(beta + c + j));
      _mm256_store_ps(ht + 8 * (c + j), h[j]);
    }
    merge_columns<K>(best, h);
  }
}

// Byte c of `keep`: bit r set when row r's h_c >= kth (lane r); zero-padded to a multiple of
// 32 bytes. NaN entries and NaN thresholds set no bit.
inline void lane_block_keep_masks(const float* ht, int64_t d, __m256 kth, uint8_t* keep) {
  for (int64_t c = 0; c < d; ++c) {
    keep[c] = static_cast<uint8_t>(
        _mm256_movemask_ps(_mm256_cmp_ps(_mm256_load_ps(ht + 8 * c), kth, _CMP_GE_OQ)));
  }
  for (int64_t c = d; c % 32 != 0; ++c) keep[c] = 0;
}

// Row r's kept columns as 64-bit words (bit c % 64 of word c / 64) from the block's masks;
// returns how many there are.
inline int64_t row_keep_words(const uint8_t* keep, int64_t d, int64_t r, uint64_t* words) {
  // Shifting each 16-bit lane left by 7 - r moves bit r of both its bytes to their top bits
  // (the low byte's spill lands below bit 7 of the high byte), which movemask collects.
  const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(7 - r));
  int64_t count = 0;
  for (int64_t q = 0; 32 * q < d; q += 2) {
    const __m256i lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(keep + 32 * q));
    uint64_t word = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_sll_epi16(lo, shift)));
    if (32 * (q + 1) < d) {
      const __m256i hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(keep + 32 * q + 32));
      word |= static_cast<uint64_t>(
                  static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_sll_epi16(hi, shift))))
              << 32;
    }
    words[q / 2] = word;
    count += __builtin_popcountll(word);
  }
  return count;
}

// The k columns set in `words` (exactly k bits, row width d) and their values h (lane r of
// the block ht) into (v, idx), in column order.
template <typename index_t>
inline void take_columns(const uint64_t* words, int64_t d, int64_t k, const float* ht, int64_t r,
                         float* v, index_t* idx) {
  if (d <= 128) {  // one or two words: selects instead of a data-dependent branch per word
    uint64_t low = words[0], high = d > 64 ? words[1] : 0;
    for (int64_t t = 0; t < k; ++t) {
      const bool in_low = low != 0;
      const uint64_t word = in_low ? low : high;
      const int64_t c = __builtin_ctzll(word) + (in_low ? 0 : 64);
      const uint64_t rest = word & (word - 1);
      low = in_low ? rest : low;
      high = in_low ? high : rest;
      v[t] = ht[8 * c + r];
      idx[t] = static_cast<index_t>(c);
    }
    return;
  }
  int64_t t = 0;
  for (int64_t w = 0; 64 * w < d; ++w) {
    for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
      const int64_t c = 64 * w + __builtin_ctzll(bits);
      v[t] = ht[8 * c + r];
      idx[t++] = static_cast<index_t>(c);
    }
  }
}

// Row r of the block (h in lane r of ht, width d <= kLaneBlockMaxWidth) through the plain
// selection rule (ties to the lower column, NaN first), then in column order.
template <typename index_t>
inline void select_lane_row(const float* ht, int64_t d, int64_t k, int64_t r, float* v,
                            index_t* idx) {
  float h[kLaneBlockMaxWidth];
  for (int64_t c = 0; c < d; ++c) h[c] = ht[8 * c + r];
  select_topk(h, d, k, v, idx);
  sort_by_column(k, v, idx);
}
#endif

}  // namespace gsr::GSR_CPU_NS
