// Fused LayerNorm + GS(k) on the CPU, forward and backward, one pass over each row.
//
// Forward, per row y (width d):  mu = mean(y), rstd = 1 / sqrt(var(y) + eps),
//   h_c = (y_c - mu) * rstd * gamma_c + beta_c,  (V, I) = top-k of h (or h at given I).
// The kept entries are listed in column order (which entries are kept follows the top-k
// rule of topk_select.h: the k largest, ties to the lower column). Float rows of a width that
// is a multiple of 8 (up to 256) with k <= 16 are taken eight at a time in the SIMD lanes
// (lane_block.h); other rows one by one.
// Neither xhat nor h is stored: the backward recomputes xhat from y, mu and rstd.
//
// Backward, with dh = scatter(dV, I) (k nonzeros per row) and dxhat = dh * gamma:
//   dy_c = rstd * (dxhat_c - mean(dxhat) - xhat_c * mean(dxhat * xhat)),
//   dgamma_c = sum_rows dh_c * xhat_c,  dbeta_c = sum_rows dh_c.
// Both means only involve the k kept entries, so a row costs O(d + k). dgamma and dbeta are
// summed per thread and reduced in thread order (deterministic for a fixed thread count), and
// so, on request, are the column sums of the updated dY: in the reversible stack dY is the
// next block's output gradient, whose column sums are that block's bias gradient (a separate
// N x d pass saved).
#include <omp.h>

#include <cmath>
#include <type_traits>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "../ops.h"
#include "isa.h"
#include "avx2_math.h"
#include "lane_block.h"
#include "topk_select.h"

namespace gsr::GSR_CPU_NS {

namespace {

#if defined(GSR_CPU_AVX2)
// acc = add(acc, x) over the 8-column chunks x of a float row whose width is a multiple of 8,
// into four independent accumulators, then summed: a single accumulator's loop-carried chain
// made the moments cost about as much as the top-k selection at d = 64.
template <typename Add>
inline float sum_of_chunks(const float* __restrict y, int64_t d, Add add) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t c = 0;
  for (; c + 32 <= d; c += 32) {
    a0 = add(a0, _mm256_loadu_ps(y + c));
    a1 = add(a1, _mm256_loadu_ps(y + c + 8));
    a2 = add(a2, _mm256_loadu_ps(y + c + 16));
    a3 = add(a3, _mm256_loadu_ps(y + c + 24));
  }
  for (; c < d; c += 8) a0 = add(a0, _mm256_loadu_ps(y + c));
  return horizontal_sum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

// row_moments for float rows of a width that is a multiple of 8.
inline void row_moments_avx2(const float* __restrict y, int64_t d, double eps, float& mean,
                             float& rstd) {
  const float sum = sum_of_chunks(y, d, [](__m256 acc, __m256 x) { return _mm256_add_ps(acc, x); });
  const float mu = sum / d;
  const __m256 m = _mm256_set1_ps(mu);
  const float sq = sum_of_chunks(y, d, [m](__m256 acc, __m256 x) {
    const __m256 e = _mm256_sub_ps(x, m);
    return _mm256_fmadd_ps(e, e, acc);
  });
  mean = mu;
  rstd = static_cast<float>(1.0 / std::sqrt(static_cast<double>(sq) / d + eps));
}
#endif

template <typename scalar_t>
inline void row_moments(const scalar_t* __restrict y, int64_t d, double eps, scalar_t& mean,
                        scalar_t& rstd) {
#if defined(GSR_CPU_AVX2)
  if constexpr (std::is_same_v<scalar_t, float>) {
    if (d % 8 == 0) return row_moments_avx2(y, d, eps, mean, rstd);
  }
#endif
  // Two-pass (mean, then centred squares) in the row's precision: rows are short (d <= a few
  // hundred), so this is as accurate as a compensated sum, and it vectorises.
  scalar_t sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < d; ++c) sum += y[c];
  const scalar_t mu = sum / static_cast<scalar_t>(d);
  scalar_t sq = 0;
#pragma omp simd reduction(+ : sq)
  for (int64_t c = 0; c < d; ++c) sq += (y[c] - mu) * (y[c] - mu);
  mean = mu;
  rstd = static_cast<scalar_t>(1.0 / std::sqrt(static_cast<double>(sq) / d + eps));
}

// The top-k of one row's h = (y - mu) * rs * gamma + beta, descending, for the rows that do not
// take a lane block.
template <typename scalar_t, typename index_t>
inline void select_row(const scalar_t* y, int64_t d, int64_t k, const scalar_t* gamma,
                       const scalar_t* beta, scalar_t mu, scalar_t rs, scalar_t* v, index_t* idx) {
  if (d <= kSelectMaxWidth) {
    scalar_t h[kSelectMaxWidth];
#pragma omp simd
    for (int64_t c = 0; c < d; ++c) h[c] = (y[c] - mu) * rs * gamma[c] + beta[c];
    select_topk(h, d, k, v, idx);
    return;
  }
  // Wide rows: normalise on the fly and keep the best k with the plain scan.
  int64_t filled = 0;
  for (int64_t c = 0; c < d; ++c) {
    const scalar_t hc = (y[c] - mu) * rs * gamma[c] + beta[c];
    if (filled == k && !ranks_above(hc, v[k - 1])) continue;
    insert_sorted(hc, c, k, filled, v, idx);
  }
}

#if defined(GSR_CPU_AVX2)
inline bool all_finite(const float* x, int64_t d) {
  for (int64_t c = 0; c < d; ++c) {
    if (!std::isfinite(x[c])) return false;
  }
  return true;
}

// The forward of one lane block (rows <= 8 rows of Y from `first`; lane_block.h) into V, I,
// mean and rstd: with `given` the values at the given columns, else the top-k in column order.
template <typename index_t>
void layernorm_topk_lane_block(const float* Y, int64_t n, int64_t first, int64_t rows, int64_t d,
                               int64_t k, const float* gamma, const float* beta, double eps,
                               float* V, index_t* I, float* mean_out, float* rstd_out, bool given) {
  alignas(32) float ht[8 * kLaneBlockMaxWidth];
  const __m256 sum = load_lane_block(Y + first * d, rows, d, ht);
  prefetch_lane_block(Y, first + 8 * kPrefetchBlocksAhead, n, d);
  __m256 mean, rstd;
  lane_block_moments(ht, d, sum, eps, mean, rstd);
  alignas(32) float lane_mean[8], lane_rstd[8];
  _mm256_store_ps(lane_mean, mean);
  _mm256_store_ps(lane_rstd, rstd);
  for (int64_t r = 0; r < rows; ++r) {
    mean_out[first + r] = lane_mean[r];
    rstd_out[first + r] = lane_rstd[r];
  }
  float* v = V + first * k;
  index_t* idx = I + first * k;
  if (given) {  // only the k given entries of each row: normalise just those (same rounding)
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t t = 0; t < k; ++t) {
        const int64_t c = static_cast<int64_t>(idx[r * k + t]);
        v[r * k + t] = std::fma((ht[8 * c + r] - lane_mean[r]) * lane_rstd[r], gamma[c], beta[c]);
      }
    }
    return;
  }
  __m256 best[16];
  if (k <= 8) {
    normalize_lane_block<8>(ht, d, mean, rstd, gamma, beta, best);
  } else {
    normalize_lane_block<16>(ht, d, mean, rstd, gamma, beta, best);
  }
  alignas(32) uint8_t keep[kLaneBlockMaxWidth + 32];
  lane_block_keep_masks(ht, d, best[k - 1], keep);
  for (int64_t r = 0; r < rows; ++r) {
    uint64_t words[kLaneBlockMaxWidth / 64];
    if (row_keep_words(keep, d, r, words) == k) {
      take_columns(words, d, k, ht, r, v + r * k, idx + r * k);
    } else {  // a tie at the k-th largest entry, or NaN
      select_lane_row(ht, d, k, r, v + r * k, idx + r * k);
    }
  }
}
#endif

// The forward of one row: moments, then the values at the given columns or the top-k, in
// column order.
template <typename scalar_t, typename index_t>
void layernorm_topk_row(const scalar_t* y, int64_t d, int64_t k, const scalar_t* gamma,
                        const scalar_t* beta, double eps, scalar_t* v, index_t* idx, scalar_t& mean,
                        scalar_t& rstd, bool given) {
  scalar_t mu, rs;
  row_moments(y, d, eps, mu, rs);
  mean = mu;
  rstd = rs;
  if (given) {
    for (int64_t t = 0; t < k; ++t) {
      const int64_t c = static_cast<int64_t>(idx[t]);
      v[t] = (y[c] - mu) * rs * gamma[c] + beta[c];
    }
    return;
  }
  select_row(y, d, k, gamma, beta, mu, rs, v, idx);
  sort_by_column(k, v, idx);
}

template <typename scalar_t, typename index_t>
void layernorm_topk_impl(const scalar_t* Y, int64_t n, int64_t d, int64_t k, const scalar_t* gamma,
                         const scalar_t* beta, double eps, scalar_t* V, index_t* I,
                         scalar_t* mean_out, scalar_t* rstd_out, bool given) {
#if defined(GSR_CPU_AVX2)
  if constexpr (std::is_same_v<scalar_t, float>) {
    // The lane block's bit masks skip NaN, which must rank first. With finite gamma and beta,
    // h has NaN only where the row's moments are NaN (a NaN or infinite input): then the
    // whole row and its k-th largest entry are NaN, no bit is set, and the row takes the
    // plain selection. Non-finite gamma or beta (a diverged model) send the call to the rows.
    if (d % 8 == 0 && d <= kLaneBlockMaxWidth && k <= 16 && all_finite(gamma, d) &&
        all_finite(beta, d)) {
      const int64_t blocks = (n + 7) / 8;
#pragma omp parallel for schedule(static) if (n * d >= kMinParallelWork)
      for (int64_t block = 0; block < blocks; ++block) {
        const int64_t first = 8 * block;
        layernorm_topk_lane_block(Y, n, first, n - first < 8 ? n - first : 8, d, k, gamma, beta,
                                  eps, V, I, mean_out, rstd_out, given);
      }
      return;
    }
  }
#endif
#pragma omp parallel for schedule(static) if (n * d >= kMinParallelWork)
  for (int64_t row = 0; row < n; ++row) {
    layernorm_topk_row(Y + row * d, d, k, gamma, beta, eps, V + row * k, I + row * k, mean_out[row],
                       rstd_out[row], given);
  }
}

// One row's dense part of dY: -rstd * (m1 + xhat_c * m2), added to (kAccumulate) or written
// into out; with kSum the row's new values are also added to `sum`.
template <bool kAccumulate, bool kSum, typename scalar_t>
inline void dense_grad_row(const scalar_t* __restrict y, int64_t d, scalar_t mu, scalar_t rs,
                           scalar_t m1, scalar_t m2, scalar_t* __restrict out,
                           scalar_t* __restrict sum) {
  for (int64_t c = 0; c < d; ++c) {
    const scalar_t dense = -rs * (m1 + (y[c] - mu) * rs * m2);
    const scalar_t x = kAccumulate ? out[c] + dense : dense;
    out[c] = x;
    if constexpr (kSum) sum[c] += x;
  }
}

template <typename scalar_t, typename index_t>
void layernorm_topk_backward_impl(const scalar_t* Y, int64_t n, int64_t d, int64_t k,
                                  const scalar_t* gamma, const scalar_t* mean, const scalar_t* rstd,
                                  const index_t* I, const scalar_t* dV, scalar_t* dY,
                                  bool accumulate, scalar_t* dgamma, scalar_t* dbeta,
                                  scalar_t* dY_sum) {
  const bool parallel = n * d >= kMinParallelWork;
  const int threads = parallel ? omp_get_max_threads() : 1;
  // Per thread: dgamma, dbeta and the column sums of dY, d each, reduced in thread order.
  std::vector<scalar_t> partial(static_cast<size_t>(threads) * 3 * d, scalar_t(0));
#pragma omp parallel num_threads(threads) if (parallel)
  {
    scalar_t* my_dgamma = partial.data() + static_cast<size_t>(omp_get_thread_num()) * 3 * d;
    scalar_t* my_dbeta = my_dgamma + d;
    scalar_t* my_sum = my_dbeta + d;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < n; ++row) {
      const scalar_t* y = Y + row * d;
      const scalar_t mu = mean[row], rs = rstd[row];
      const index_t* idx = I + row * k;
      const scalar_t* g = dV + row * k;
      scalar_t m1 = 0, m2 = 0;  // sums of dxhat and dxhat * xhat over the kept entries
      for (int64_t t = 0; t < k; ++t) {
        const int64_t c = static_cast<int64_t>(idx[t]);
        const scalar_t xhat = (y[c] - mu) * rs;
        const scalar_t dxhat = g[t] * gamma[c];
        m1 += dxhat;
        m2 += dxhat * xhat;
        my_dgamma[c] += g[t] * xhat;
        my_dbeta[c] += g[t];
      }
      m1 /= static_cast<scalar_t>(d);
      m2 /= static_cast<scalar_t>(d);
      scalar_t* out = dY + row * d;
      // Dense part for every column ...
      if (accumulate) {
        if (dY_sum)
          dense_grad_row<true, true>(y, d, mu, rs, m1, m2, out, my_sum);
        else
          dense_grad_row<true, false>(y, d, mu, rs, m1, m2, out, my_sum);
      } else {
        if (dY_sum)
          dense_grad_row<false, true>(y, d, mu, rs, m1, m2, out, my_sum);
        else
          dense_grad_row<false, false>(y, d, mu, rs, m1, m2, out, my_sum);
      }
      // ... plus rstd * dxhat_c at the kept columns.
      for (int64_t t = 0; t < k; ++t) {
        const int64_t c = static_cast<int64_t>(idx[t]);
        const scalar_t sparse = rs * g[t] * gamma[c];
        out[c] += sparse;
        if (dY_sum) my_sum[c] += sparse;
      }
    }
  }
  for (int64_t c = 0; c < d; ++c) {
    scalar_t sg = 0, sb = 0, sy = 0;
    for (int t = 0; t < threads; ++t) {
      const scalar_t* thread_partial = partial.data() + static_cast<size_t>(t) * 3 * d;
      sg += thread_partial[c];
      sb += thread_partial[d + c];
      sy += thread_partial[2 * d + c];
    }
    dgamma[c] = sg;
    dbeta[c] = sb;
    if (dY_sum) dY_sum[c] = sy;
  }
}

}  // namespace

void layernorm_topk(const void* Y, int64_t n, int64_t d, int64_t k, const void* gamma,
                    const void* beta, double eps, void* V, void* I, void* mean, void* rstd,
                    bool given_indices, int dtype, int index_type) {
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      layernorm_topk_impl<scalar_t, index_t>(
          static_cast<const scalar_t*>(Y), n, d, k, static_cast<const scalar_t*>(gamma),
          static_cast<const scalar_t*>(beta), eps, static_cast<scalar_t*>(V),
          static_cast<index_t*>(I), static_cast<scalar_t*>(mean), static_cast<scalar_t*>(rstd),
          given_indices);
    });
  });
}

void layernorm_topk_backward(const void* Y, int64_t n, int64_t d, int64_t k, const void* gamma,
                             const void* mean, const void* rstd, const void* I, const void* dV,
                             void* dY, bool accumulate, void* dgamma, void* dbeta, void* dY_sum,
                             int dtype, int index_type) {
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      layernorm_topk_backward_impl<scalar_t, index_t>(
          static_cast<const scalar_t*>(Y), n, d, k, static_cast<const scalar_t*>(gamma),
          static_cast<const scalar_t*>(mean), static_cast<const scalar_t*>(rstd),
          static_cast<const index_t*>(I), static_cast<const scalar_t*>(dV),
          static_cast<scalar_t*>(dY), accumulate, static_cast<scalar_t*>(dgamma),
          static_cast<scalar_t*>(dbeta), static_cast<scalar_t*>(dY_sum));
    });
  });
}

}  // namespace gsr::GSR_CPU_NS
