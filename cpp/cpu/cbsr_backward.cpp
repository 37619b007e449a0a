// Backward kernels on the CPU.
//
// sampled_spmm pulls over the transpose At (prepared once per graph), so each dV row is written
// by one thread: no float atomics. cbsr_weight_grad gives each thread a fixed slice of the rows
// of dW and lets every thread scan the (1-byte) indices: deterministic for any thread count.
#include <omp.h>

#include <cstring>
#include <type_traits>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "../ops.h"
#include "isa.h"
#include "avx2_math.h"
#include "csr_row.h"

namespace gsr::GSR_CPU_NS {

namespace {

// One row of dV: o[t] = sum_e w[e] G[src(e), idx[t]]. With K (a compile-time k) the row's
// columns and the k sums live in registers across all its nonzeros; with K = 0 (k known only
// at run time) the sums go through memory, a load and a store per entry and nonzero.
// prefetch_end: the end of the nonzeros of the row's part, which the prefetches stay within.
template <int K, typename scalar_t, typename index_t>
inline void sampled_row(const Csr& At, const scalar_t* w, const scalar_t* G, int64_t d, int64_t row,
                        const index_t* idx, int64_t k, scalar_t* __restrict o,
                        int64_t prefetch_end) {
  const int64_t begin = At.indptr[row], end = At.indptr[row + 1];
  if constexpr (K > 0) {
    int64_t column[K];
    scalar_t sum[K];
    for (int t = 0; t < K; ++t) {
      column[t] = static_cast<int64_t>(idx[t]);
      sum[t] = 0;
    }
    for (int64_t e = begin; e < end; ++e) {
      const int64_t ahead = e + kPrefetchDistance;
      if (ahead < prefetch_end) {
        // The k words a gathered row of G gives are known in advance: this row's columns, or
        // past its end (rows of capped cliques have ~8 nonzeros) the next row's.
        const scalar_t* next = G + static_cast<int64_t>(At.indices[ahead]) * d;
        if (ahead < end) {
          for (int t = 0; t < K; ++t) __builtin_prefetch(next + column[t]);
        } else {
          for (int t = 0; t < K; ++t) __builtin_prefetch(next + static_cast<int64_t>(idx[K + t]));
        }
      }
      const scalar_t a = w[e];
      const scalar_t* g = G + static_cast<int64_t>(At.indices[e]) * d;
      for (int t = 0; t < K; ++t) sum[t] += a * g[column[t]];
    }
    for (int t = 0; t < K; ++t) o[t] = sum[t];
  } else {
    std::memset(o, 0, sizeof(scalar_t) * k);
    for (int64_t e = begin; e < end; ++e) {
      if (e + kPrefetchDistance < end) {
        const scalar_t* next = G + static_cast<int64_t>(At.indices[e + kPrefetchDistance]) * d;
        for (int64_t t = 0; t < k; ++t) __builtin_prefetch(next + static_cast<int64_t>(idx[t]));
      }
      const scalar_t a = w[e];
      const scalar_t* g = G + static_cast<int64_t>(At.indices[e]) * d;
      for (int64_t t = 0; t < k; ++t) o[t] += a * g[static_cast<int64_t>(idx[t])];
    }
  }
}

template <int K, typename scalar_t, typename index_t>
void sampled_spmm_rows(const Csr& At, const scalar_t* G, int64_t d, const index_t* I, int64_t k,
                       scalar_t* dV) {
  const scalar_t* w = static_cast<const scalar_t*>(At.weights);
#pragma omp parallel for schedule(dynamic, 1) if (At.indptr[At.num_rows] * k >= kMinParallelWork)
  for (int64_t part = 0; part < At.num_parts; ++part) {
    const int64_t* p = At.parts + 4 * part;
    for (int64_t row = p[0]; row < p[1]; ++row) {
      sampled_row<K>(At, w, G, d, row, I + row * k, k, dV + row * k, At.indptr[p[1]]);
    }
  }
}

template <typename scalar_t, typename index_t>
void sampled_spmm_impl(const Csr& At, const scalar_t* G, int64_t d, const index_t* I, int64_t k,
                       scalar_t* dV) {
  switch (k) {
    case 4:
      return sampled_spmm_rows<4>(At, G, d, I, k, dV);
    case 8:
      return sampled_spmm_rows<8>(At, G, d, I, k, dV);
    case 16:
      return sampled_spmm_rows<16>(At, G, d, I, k, dV);
    default:
      return sampled_spmm_rows<0>(At, G, d, I, k, dV);
  }
}

template <typename scalar_t, typename index_t>
void cbsr_rowdot_impl(const scalar_t* dH, const scalar_t* W, const index_t* I, int64_t n, int64_t k,
                      int64_t d_out, scalar_t* dV) {
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
    if (!accumulate && r1 > r0)
      std::memset(dW + r0 * d_out, 0, sizeof(scalar_t) * (r1 - r0) * d_out);
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

#if defined(GSR_CPU_AVX2)
// For one row h of dH (width d, a multiple of 32) and its k kept entries (v, idx):
// dV[t] = h . W[idx[t]] and dW[idx[t]] += v[t] * h, with the dot product in four independent
// accumulators. The compiler's loop kept one, a chain of d / 8 dependent FMAs per entry,
// measurably slower. Sharing the loads of h between two entries measured no better.
template <typename index_t>
inline void sample_and_scatter_row(const float* __restrict h, int64_t d, const float* v,
                                   const index_t* idx, int64_t k, const float* W, float* dV,
                                   float* __restrict dW) {
  for (int64_t t = 0; t < k; ++t) {
    const int64_t r = static_cast<int64_t>(idx[t]);
    const float* wr = W + r * d;
    float* o = dW + r * d;
    const __m256 scale = _mm256_set1_ps(v[t]);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    for (int64_t c = 0; c < d; c += 32) {
      for (int q = 0; q < 4; ++q) {
        const __m256 hq = _mm256_loadu_ps(h + c + 8 * q);
        acc[q] = _mm256_fmadd_ps(hq, _mm256_loadu_ps(wr + c + 8 * q), acc[q]);
        _mm256_storeu_ps(o + c + 8 * q, _mm256_fmadd_ps(scale, hq, _mm256_loadu_ps(o + c + 8 * q)));
      }
    }
    dV[t] =
        horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  }
}

// Fused backward of out = A @ (S(V, I) @ W): per row j of dH = At @ G (built in a stack buffer),
//   dV[j, t] = dH[j] . W[I[j, t]]   and   dW[I[j, t]] += V[j, t] * dH[j].
// dW is summed in one d_in x d_out buffer per thread (rows are split statically over the
// nnz-balanced parts), then the buffers are added in thread order: deterministic for a fixed
// thread count, and no thread ever writes a cache line another one owns.
template <typename scalar_t, typename index_t>
void cbsr_linear_backward_impl(const Csr& At, const scalar_t* G, int64_t d_out, const scalar_t* V,
                               const index_t* I, int64_t k, const scalar_t* W, int64_t d_in,
                               scalar_t* dV, scalar_t* dW, bool accumulate) {
  const int64_t work = At.indptr[At.num_rows] * d_out + At.num_rows * k * d_out;
  const bool parallel = work >= kMinParallelWork;
  const int threads = parallel ? omp_get_max_threads() : 1;
  const int64_t size = d_in * d_out;
  // Per thread: its dW partial, then one dH row. Each slice starts on its own cache line.
  const int64_t stride = (size + d_out + 15) / 16 * 16;
  std::vector<scalar_t> scratch(static_cast<size_t>(threads * stride), scalar_t(0));
#pragma omp parallel num_threads(threads) if (parallel)
  {
    scalar_t* __restrict my_dW = scratch.data() + omp_get_thread_num() * stride;
    scalar_t* __restrict h = my_dW + size;
#pragma omp for schedule(static)
    for (int64_t part = 0; part < At.num_parts; ++part) {
      const int64_t* p = At.parts + 4 * part;
      for (int64_t row = p[0]; row < p[1]; ++row) {
        for (int64_t c = 0; c < d_out; ++c) h[c] = 0;
        add_row_product(At, G, d_out, row, h);
        if constexpr (std::is_same_v<scalar_t, float>) {
          if (d_out % 32 == 0) {
            sample_and_scatter_row(h, d_out, V + row * k, I + row * k, k, W, dV + row * k, my_dW);
            continue;
          }
        }
        for (int64_t t = 0; t < k; ++t) {
          const int64_t r = static_cast<int64_t>(I[row * k + t]);
          const scalar_t* __restrict wr = W + r * d_out;
          scalar_t* __restrict o = my_dW + r * d_out;
          const scalar_t v = V[row * k + t];
          scalar_t acc = 0;
#pragma omp simd reduction(+ : acc)
          for (int64_t c = 0; c < d_out; ++c) {
            acc += h[c] * wr[c];
            o[c] += v * h[c];
          }
          dV[row * k + t] = acc;
        }
      }
    }
  }
  // d_in * d_out * threads adds: far too little to pay for waking the team again.
  for (int64_t c = 0; c < size; ++c) {
    scalar_t sum = accumulate ? dW[c] : scalar_t(0);
    for (int t = 0; t < threads; ++t) sum += scratch[static_cast<size_t>(t * stride + c)];
    dW[c] = sum;
  }
}

#endif  // GSR_CPU_AVX2

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
      cbsr_rowdot_impl<scalar_t, index_t>(
          static_cast<const scalar_t*>(dH), static_cast<const scalar_t*>(W),
          static_cast<const index_t*>(I), n, k, d_out, static_cast<scalar_t*>(dV));
    });
  });
}

void cbsr_weight_grad(const void* V, const void* I, const void* dH, int64_t n, int64_t k,
                      int64_t d_in, int64_t d_out, void* dW, bool accumulate,
                      int64_t partial_blocks, void* partials, int dtype, int index_type) {
  (void)partial_blocks;  // each thread's partial sum lives in its own buffer
  (void)partials;
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      cbsr_weight_grad_impl<scalar_t, index_t>(static_cast<const scalar_t*>(V),
                                               static_cast<const index_t*>(I),
                                               static_cast<const scalar_t*>(dH), n, k, d_in, d_out,
                                               static_cast<scalar_t*>(dW), accumulate);
    });
  });
}

void cbsr_linear_backward(const Csr& At, const void* G, int64_t d_out, const void* V, const void* I,
                          int64_t k, const void* W, int64_t d_in, void* dV, void* dW,
                          bool accumulate, void* workspace, int64_t partial_blocks, void* partials,
                          int dtype, int index_type) {
#if !defined(GSR_CPU_AVX2)
  // Portable (SSE2) build: the fused loop's dot product and row update do not vectorise well
  // at 128 bits and it measured slower than the three kernels through workspace; with AVX2 +
  // FMA it is the faster one.
  csr_spmm(At, G, d_out, nullptr, workspace, false, dtype);
  cbsr_rowdot(workspace, W, I, At.num_rows, k, d_in, d_out, dV, dtype, index_type);
  cbsr_weight_grad(V, I, workspace, At.num_rows, k, d_in, d_out, dW, accumulate, partial_blocks,
                   partials, dtype, index_type);
#else
  (void)workspace;  // dH rows stay in a per-thread buffer
  (void)partial_blocks;
  (void)partials;
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      cbsr_linear_backward_impl<scalar_t, index_t>(
          At, static_cast<const scalar_t*>(G), d_out, static_cast<const scalar_t*>(V),
          static_cast<const index_t*>(I), k, static_cast<const scalar_t*>(W), d_in,
          static_cast<scalar_t*>(dV), static_cast<scalar_t*>(dW), accumulate);
    });
  });
#endif
}

}  // namespace gsr::GSR_CPU_NS
