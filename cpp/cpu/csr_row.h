// One row of a CSR product with a dense matrix on the CPU, shared by csr_spmm and the fused
// backward of A @ (S @ W). Include after isa.h so that the AVX2 variant vectorises it, and so
// after <type_traits> and <immintrin.h>, which it uses (isa.h must follow system headers).
#pragma once

#include "../common.h"

namespace gsr::GSR_CPU_NS {

// How many nonzeros ahead a randomly gathered row is prefetched.
constexpr int64_t kPrefetchDistance = 4;

#if defined(GSR_CPU_AVX2)
// Columns [c0, c0 + 8 R) of o += sum_e weight[e] * H[index[e]], kept in R registers across all
// the nonzeros of the row. Walking the row once per 32-column strip, rather than once with the
// whole output row in memory, measured faster than the memory-resident loop: no load and
// store of o per nonzero, and short strips let the core keep more gathers in flight.
// Software prefetch made the strips slower, so they issue none.
template <int R>
inline void add_row_product_columns(const int32_t* index, const float* weight, int64_t begin,
                                    int64_t end, const float* H, int64_t d, int64_t c0, float* o) {
  __m256 acc[R];
  for (int q = 0; q < R; ++q) acc[q] = _mm256_loadu_ps(o + c0 + 8 * q);
  for (int64_t e = begin; e < end; ++e) {
    const __m256 a = _mm256_set1_ps(weight[e]);
    const float* h = H + static_cast<int64_t>(index[e]) * d + c0;
    for (int q = 0; q < R; ++q) acc[q] = _mm256_fmadd_ps(a, _mm256_loadu_ps(h + 8 * q), acc[q]);
  }
  for (int q = 0; q < R; ++q) _mm256_storeu_ps(o + c0 + 8 * q, acc[q]);
}
#endif

// o[0:d] += sum over the nonzeros e of row `row` of A: weight[e] * H[index[e], 0:d].
template <typename scalar_t>
inline void add_row_product(const Csr& A, const scalar_t* H, int64_t d, int64_t row,
                            scalar_t* out_row) {
  const scalar_t* w = static_cast<const scalar_t*>(A.weights);
  const int64_t begin = A.indptr[row], end = A.indptr[row + 1];
  int64_t c0 = 0;
#if defined(GSR_CPU_AVX2)
  if constexpr (std::is_same_v<scalar_t, float>) {
    for (; c0 + 32 <= d; c0 += 32) {
      add_row_product_columns<4>(A.indices, w, begin, end, H, d, c0, out_row);
    }
    for (; c0 + 8 <= d; c0 += 8) {
      add_row_product_columns<1>(A.indices, w, begin, end, H, d, c0, out_row);
    }
    if (c0 == d) return;
  }
#endif
  // Restrict-qualified locals, not parameters: GCC keeps the no-alias facts of locals after
  // inlining, which the vectorised loop below depends on.
  scalar_t* __restrict o = out_row;
  for (int64_t e = begin; e < end; ++e) {
    // The rows of H are gathered at random: ask for one a few nonzeros ahead.
    if (e + kPrefetchDistance < end) {
      __builtin_prefetch(H + static_cast<int64_t>(A.indices[e + kPrefetchDistance]) * d + c0);
    }
    const scalar_t a = w[e];
    const scalar_t* __restrict h = H + static_cast<int64_t>(A.indices[e]) * d;
#pragma omp simd
    for (int64_t c = c0; c < d; ++c) o[c] += a * h[c];
  }
}

}  // namespace gsr::GSR_CPU_NS
