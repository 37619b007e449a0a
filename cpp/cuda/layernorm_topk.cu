// Fused LayerNorm + GS(k) on the GPU: one thread per row, the same arithmetic, selection rule
// and column-ordered output as the CPU kernel (see cpp/cpu/layernorm_topk.cpp for the
// formulas). dgamma and dbeta are summed with atomics (d addresses, k adds per row), and so
// are the optional column sums of dY.
#include "common.cuh"

namespace gsr::cuda {

namespace {

__device__ inline void row_moments(const float* y, int64_t d, double eps, float& mean,
                                   float& rstd) {
  // Same two-pass float arithmetic as the CPU kernel.
  float sum = 0.f;
  for (int64_t c = 0; c < d; ++c) sum += y[c];
  const float mu = sum / static_cast<float>(d);
  float sq = 0.f;
  for (int64_t c = 0; c < d; ++c) sq += (y[c] - mu) * (y[c] - mu);
  mean = mu;
  rstd = static_cast<float>(1.0 / sqrt(static_cast<double>(sq) / d + eps));
}

template <typename index_t>
__global__ void layernorm_topk_kernel(const float* __restrict__ Y, int64_t n, int64_t d, int64_t k,
                                      const float* __restrict__ gamma,
                                      const float* __restrict__ beta, double eps,
                                      float* __restrict__ V, index_t* __restrict__ I,
                                      float* __restrict__ mean_out, float* __restrict__ rstd_out,
                                      bool given) {
  for (int64_t row = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; row < n;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float* y = Y + row * d;
    float mu, rs;
    row_moments(y, d, eps, mu, rs);
    mean_out[row] = mu;
    rstd_out[row] = rs;
    float* v = V + row * k;
    index_t* idx = I + row * k;
    if (given) {
      for (int64_t t = 0; t < k; ++t) {
        const int64_t c = static_cast<int64_t>(idx[t]);
        v[t] = (y[c] - mu) * rs * gamma[c] + beta[c];
      }
      continue;
    }
    int64_t filled = 0;
    float kth = 0.f;
    for (int64_t c = 0; c < d; ++c) {
      topk_offer((y[c] - mu) * rs * gamma[c] + beta[c], c, k, v, idx, filled, kth);
    }
    sort_by_column(k, v, idx);
  }
}

template <typename index_t>
__global__ void layernorm_topk_backward_kernel(
    const float* __restrict__ Y, int64_t n, int64_t d, int64_t k, const float* __restrict__ gamma,
    const float* __restrict__ mean, const float* __restrict__ rstd, const index_t* __restrict__ I,
    const float* __restrict__ dV, float* __restrict__ dY, bool accumulate,
    float* __restrict__ dgamma, float* __restrict__ dbeta) {
  for (int64_t row = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; row < n;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float* y = Y + row * d;
    const float mu = mean[row], rs = rstd[row];
    const index_t* idx = I + row * k;
    const float* g = dV + row * k;
    float m1 = 0.f, m2 = 0.f;
    for (int64_t t = 0; t < k; ++t) {
      const int64_t c = static_cast<int64_t>(idx[t]);
      const float xhat = (y[c] - mu) * rs;
      const float dxhat = g[t] * gamma[c];
      m1 += dxhat;
      m2 += dxhat * xhat;
      atomicAdd(dgamma + c, g[t] * xhat);
      atomicAdd(dbeta + c, g[t]);
    }
    m1 /= static_cast<float>(d);
    m2 /= static_cast<float>(d);
    float* out = dY + row * d;
    for (int64_t c = 0; c < d; ++c) {
      const float dense = -rs * (m1 + (y[c] - mu) * rs * m2);
      out[c] = accumulate ? out[c] + dense : dense;
    }
    for (int64_t t = 0; t < k; ++t) {
      const int64_t c = static_cast<int64_t>(idx[t]);
      out[c] += rs * g[t] * gamma[c];
    }
  }
}

// sum[c] += the sum of column c over rows [first, first + rows_per_block) of X (n x d); one
// block per row range, threads over the columns (coalesced reads), one atomic per column.
__global__ void column_sum_kernel(const float* __restrict__ X, int64_t n, int64_t d,
                                  int64_t rows_per_block, float* __restrict__ sum) {
  const int64_t first = blockIdx.x * rows_per_block;
  const int64_t last = first + rows_per_block < n ? first + rows_per_block : n;
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
    float s = 0.f;
    for (int64_t row = first; row < last; ++row) s += X[row * d + c];
    atomicAdd(sum + c, s);
  }
}

}  // namespace

void layernorm_topk(const void* Y, int64_t n, int64_t d, int64_t k, const void* gamma,
                    const void* beta, double eps, void* V, void* I, void* mean, void* rstd,
                    bool given_indices, int dtype, int index_type, uintptr_t stream) {
  require_float32(dtype, "layernorm_topk");
  const int threads = 128;
  GSR_DISPATCH_INDEX(index_type, [&] {
    layernorm_topk_kernel<index_t><<<blocks_for(n, threads), threads, 0, as_stream(stream)>>>(
        static_cast<const float*>(Y), n, d, k, static_cast<const float*>(gamma),
        static_cast<const float*>(beta), eps, static_cast<float*>(V), static_cast<index_t*>(I),
        static_cast<float*>(mean), static_cast<float*>(rstd), given_indices);
  });
  check(cudaGetLastError(), "layernorm_topk");
}

void layernorm_topk_backward(const void* Y, int64_t n, int64_t d, int64_t k, const void* gamma,
                             const void* mean, const void* rstd, const void* I, const void* dV,
                             void* dY, bool accumulate, void* dgamma, void* dbeta, void* dY_sum,
                             int dtype, int index_type, uintptr_t stream) {
  require_float32(dtype, "layernorm_topk_backward");
  cudaStream_t s = as_stream(stream);
  check(cudaMemsetAsync(dgamma, 0, sizeof(float) * d, s), "memset");
  check(cudaMemsetAsync(dbeta, 0, sizeof(float) * d, s), "memset");
  const int threads = 128;
  GSR_DISPATCH_INDEX(index_type, [&] {
    layernorm_topk_backward_kernel<index_t><<<blocks_for(n, threads), threads, 0, s>>>(
        static_cast<const float*>(Y), n, d, k, static_cast<const float*>(gamma),
        static_cast<const float*>(mean), static_cast<const float*>(rstd),
        static_cast<const index_t*>(I), static_cast<const float*>(dV), static_cast<float*>(dY),
        accumulate, static_cast<float*>(dgamma), static_cast<float*>(dbeta));
  });
  check(cudaGetLastError(), "layernorm_topk_backward");
  if (dY_sum != nullptr) {
    constexpr int64_t kRowsPerBlock = 256;
    check(cudaMemsetAsync(dY_sum, 0, sizeof(float) * d, s), "memset");
    column_sum_kernel<<<static_cast<unsigned>((n + kRowsPerBlock - 1) / kRowsPerBlock), threads, 0,
                        s>>>(static_cast<const float*>(dY), n, d, kRowsPerBlock,
                             static_cast<float*>(dY_sum));
    check(cudaGetLastError(), "layernorm_topk_backward (column sums)");
  }
}

}  // namespace gsr::cuda
