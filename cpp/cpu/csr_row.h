// One row of a CSR product with a dense matrix on the CPU, shared by csr_spmm and the fused
// backward of A @ (S @ W). Include after isa.h so that the AVX2 variant vectorises it.
#pragma once

#include <cstdint>

#include "../common.h"

namespace gsr::GSR_CPU_NS {

// How many nonzeros ahead a randomly gathered row is prefetched.
constexpr int64_t kPrefetchDistance = 4;

// o[0:d] += sum over the nonzeros e of row `row` of A: weight[e] * H[index[e], 0:d].
template <typename scalar_t>
inline void add_row_product(const Csr& A, const scalar_t* H, int64_t d, int64_t row,
                            scalar_t* out_row) {
  const scalar_t* w = static_cast<const scalar_t*>(A.weights);
  // Restrict-qualified locals, not parameters: GCC keeps the no-alias facts of locals after
  // inlining, which the vectorised loop below depends on.
  scalar_t* __restrict o = out_row;
  const int64_t end = A.indptr[row + 1];
  for (int64_t e = A.indptr[row]; e < end; ++e) {
    // The rows of H are gathered at random: ask for one a few nonzeros ahead.
    if (e + kPrefetchDistance < end) {
      __builtin_prefetch(H + static_cast<int64_t>(A.indices[e + kPrefetchDistance]) * d);
    }
    const scalar_t a = w[e];
    const scalar_t* __restrict h = H + static_cast<int64_t>(A.indices[e]) * d;
#pragma omp simd
    for (int64_t c = 0; c < d; ++c) o[c] += a * h[c];
  }
}

}  // namespace gsr::GSR_CPU_NS
