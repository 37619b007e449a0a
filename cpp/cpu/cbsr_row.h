// One row of S(V, I) @ W on the CPU, shared by cbsr_linear and the fused LayerNorm + GS(k) +
// linear: o = sum_t v[t] * W[idx[t], :], k rows of W gathered (W stays in cache).
// Include after isa.h so that the AVX2 variant vectorises it with 256-bit FMA.
#pragma once

#include <cstdint>

namespace gsr::GSR_CPU_NS {

template <typename scalar_t, typename index_t>
inline void cbsr_row_times(const scalar_t* v, const index_t* idx, int64_t k, const scalar_t* W,
                           int64_t d_out, scalar_t* __restrict o) {
  for (int64_t c = 0; c < d_out; ++c) o[c] = 0;
  for (int64_t t = 0; t < k; ++t) {
    const scalar_t a = v[t];
    const scalar_t* __restrict wr = W + static_cast<int64_t>(idx[t]) * d_out;
#pragma omp simd
    for (int64_t c = 0; c < d_out; ++c) o[c] += a * wr[c];
  }
}

}  // namespace gsr::GSR_CPU_NS
