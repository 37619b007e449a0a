// Backward kernels on the CPU.
//
// sampled_spmm pulls over the transpose At (prepared once per graph), so each dV row is written
// by one thread: no float atomics. cbsr_weight_grad gives each thread a fixed slice of the rows
// of dW and lets every thread scan the (1-byte) indices: deterministic for any thread count.
#include <omp.h>

#include <cstring>

#include "../ops.h"

namespace gsr::cpu {

namespace {

constexpr int64_t kPrefetchDistance = 4;

template <typename scalar_t, typename index_t>
void sampled_spmm_impl(const Csr& At, const scalar_t* G, int64_t d, const index_t* I, int64_t k,
                       scalar_t* dV) {
  const scalar_t* w = static_cast<const scalar_t*>(At.weights);
#pragma omp parallel for schedule(dynamic, 1) if (At.indptr[At.num_rows] * k >= kMinParallelWork)
  for (int64_t part = 0; part < At.num_parts; ++part) {
    const int64_t* p = At.parts + 4 * part;
    for (int64_t row = p[0]; row < p[1]; ++row) {
      scalar_t* __restrict o = dV + row * k;
      const index_t* idx = I + row * k;
      std::memset(o, 0, sizeof(scalar_t) * k);
      const int64_t end = At.indptr[row + 1];
      for (int64_t e = At.indptr[row]; e < end; ++e) {
        if (e + kPrefetchDistance < end) {
          // The k columns read from a gathered row of G are this row's, known in advance.
          const scalar_t* next = G + static_cast<int64_t>(At.indices[e + kPrefetchDistance]) * d;
          for (int64_t t = 0; t < k; ++t) __builtin_prefetch(next + static_cast<int64_t>(idx[t]));
        }
        const scalar_t a = w[e];
        const scalar_t* g = G + static_cast<int64_t>(At.indices[e]) * d;
        for (int64_t t = 0; t < k; ++t) o[t] += a * g[static_cast<int64_t>(idx[t])];
      }
    }
  }
}

template <typename scalar_t, typename index_t>
void cbsr_rowdot_impl(const scalar_t* dH, const scalar_t* W, const index_t* I, int64_t n,
                      int64_t k, int64_t d_out, scalar_t* dV) {
#pragma omp parallel for schedule(static) if (n * k * d_out >= kMinParallelWork)
  for (int64_t row = 0; row < n; ++row) {
    const scalar_t* __restrict g = dH + row * d_out;
    for (int64_t t = 0; t < k; ++t) {
      const scalar_t* __restrict wr = W + static_cast<int64_t>(I[row * k + t]) * d_out;
      scalar_t acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t c = 0; c < d_out; ++c) acc += g[c] * wr[c];
      dV[row * k + t] = acc;
    }
  }
}

template <typename scalar_t, typename index_t>
void cbsr_weight_grad_impl(const scalar_t* V, const index_t* I, const scalar_t* dH, int64_t n,
                           int64_t k, int64_t d_in, int64_t d_out, scalar_t* dW, bool accumulate) {
#pragma omp parallel if (n * k * d_out >= kMinParallelWork)
  {
    const int64_t threads = omp_get_num_threads();
    const int64_t tid = omp_get_thread_num();
    const int64_t r0 = d_in * tid / threads, r1 = d_in * (tid + 1) / threads;
    if (!accumulate && r1 > r0) std::memset(dW + r0 * d_out, 0, sizeof(scalar_t) * (r1 - r0) * d_out);
    for (int64_t row = 0; row < n; ++row) {
      const scalar_t* __restrict g = dH + row * d_out;
      for (int64_t t = 0; t < k; ++t) {
        const int64_t r = static_cast<int64_t>(I[row * k + t]);
        if (r < r0 || r >= r1) continue;
        const scalar_t v = V[row * k + t];
        scalar_t* __restrict o = dW + r * d_out;
#pragma omp simd
        for (int64_t c = 0; c < d_out; ++c) o[c] += v * g[c];
      }
    }
  }
}

}  // namespace

void sampled_spmm(const Csr& At, const void* G, int64_t d, const void* I, int64_t k, void* dV,
                  int dtype, int index_type) {
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      sampled_spmm_impl<scalar_t, index_t>(At, static_cast<const scalar_t*>(G), d,
                                           static_cast<const index_t*>(I), k,
                                           static_cast<scalar_t*>(dV));
    });
  });
}

void cbsr_rowdot(const void* dH, const void* W, const void* I, int64_t n, int64_t k, int64_t d_in,
                 int64_t d_out, void* dV, int dtype, int index_type) {
  (void)d_in;
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      cbsr_rowdot_impl<scalar_t, index_t>(static_cast<const scalar_t*>(dH),
                                          static_cast<const scalar_t*>(W),
                                          static_cast<const index_t*>(I), n, k, d_out,
                                          static_cast<scalar_t*>(dV));
    });
  });
}

void cbsr_weight_grad(const void* V, const void* I, const void* dH, int64_t n, int64_t k,
                      int64_t d_in, int64_t d_out, void* dW, bool accumulate, int dtype,
                      int index_type) {
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      cbsr_weight_grad_impl<scalar_t, index_t>(
          static_cast<const scalar_t*>(V), static_cast<const index_t*>(I),
          static_cast<const scalar_t*>(dH), n, k, d_in, d_out, static_cast<scalar_t*>(dW),
          accumulate);
    });
  });
}

}  // namespace gsr::cpu
