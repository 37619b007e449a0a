// Fused LayerNorm + GS(k) on the GPU: one warp per row, lanes over the columns (coalesced reads
// and writes), the formulas and selection rule of the CPU kernel (see
// cpp/cpu/layernorm_topk.cpp), with the row moments summed across lanes, so they may differ from
// the CPU's in the last bit. The backward sums dgamma and dbeta per block in shared memory, then
// adds each block's d totals to global memory atomically (not bit-reproducible from run to run),
// and likewise the optional column sums of dY.
#include "common.cuh"

namespace gsr::cuda {

namespace {

// Two-pass mean and 1 / sqrt(variance + eps) of one row, summed over the lanes of the warp.
__device__ inline void warp_row_moments(const float* y, int64_t d, double eps, float& mean,
                                        float& rstd) {
  const int lane = threadIdx.x % kWarp;
  float sum = 0.f;
  for (int64_t c = lane; c < d; c += kWarp) sum += y[c];
  const float mu = warp_sum(sum) / static_cast<float>(d);
  float sq = 0.f;
  for (int64_t c = lane; c < d; c += kWarp) sq += (y[c] - mu) * (y[c] - mu);
  mean = mu;
  rstd = static_cast<float>(1.0 / sqrt(static_cast<double>(warp_sum(sq)) / d + eps));
}

template <typename index_t>
__global__ void layernorm_topk_kernel(const float* __restrict__ Y, int64_t n, int64_t d, int64_t k,
                                      const float* __restrict__ gamma,
                                      const float* __restrict__ beta, double eps,
                                      float* __restrict__ V, index_t* __restrict__ I,
                                      float* __restrict__ mean_out, float* __restrict__ rstd_out,
                                      bool given) {
  const int lane = threadIdx.x % kWarp;
  for (int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kWarp; row < n;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x / kWarp) {
    const float* y = Y + row * d;
    float mu, rs;
    warp_row_moments(y, d, eps, mu, rs);
    if (lane == 0) {
      mean_out[row] = mu;
      rstd_out[row] = rs;
    }
    float* v = V + row * k;
    index_t* idx = I + row * k;
    if (given) {
      for (int64_t t = lane; t < k; t += kWarp) {
        const int64_t c = static_cast<int64_t>(idx[t]);
        v[t] = (y[c] - mu) * rs * gamma[c] + beta[c];
      }
      continue;
    }
    warp_row_topk(d, k, [&](int64_t c) { return (y[c] - mu) * rs * gamma[c] + beta[c]; }, v, idx);
    __syncwarp();
    if (lane == 0) sort_by_column(k, v, idx);
    __syncwarp();
  }
}

// dgamma, dbeta: shared-memory totals of the block (2 x d floats), added to global memory once
// per block and column.
template <typename index_t>
__global__ void layernorm_topk_backward_kernel(
    const float* __restrict__ Y, int64_t n, int64_t d, int64_t k, const float* __restrict__ gamma,
    const float* __restrict__ mean, const float* __restrict__ rstd, const index_t* __restrict__ I,
    const float* __restrict__ dV, float* __restrict__ dY, bool accumulate,
    float* __restrict__ dgamma, float* __restrict__ dbeta) {
  extern __shared__ float smem[];
  float* block_dgamma = smem;
  float* block_dbeta = smem + d;
  for (int64_t c = threadIdx.x; c < 2 * d; c += blockDim.x) smem[c] = 0.f;
  __syncthreads();
  const int lane = threadIdx.x % kWarp;
  for (int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kWarp; row < n;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x / kWarp) {
    const float* y = Y + row * d;
    const float mu = mean[row], rs = rstd[row];
    const index_t* idx = I + row * k;
    const float* g = dV + row * k;
    float m1 = 0.f, m2 = 0.f;
    for (int64_t t = lane; t < k; t += kWarp) {
      const int64_t c = static_cast<int64_t>(idx[t]);
      const float xhat = (y[c] - mu) * rs;
      const float dxhat = g[t] * gamma[c];
      m1 += dxhat;
      m2 += dxhat * xhat;
      atomicAdd(block_dgamma + c, g[t] * xhat);
      atomicAdd(block_dbeta + c, g[t]);
    }
    m1 = warp_sum(m1) / static_cast<float>(d);
    m2 = warp_sum(m2) / static_cast<float>(d);
    float* out = dY + row * d;
    for (int64_t c = lane; c < d; c += kWarp) {
      const float dense = -rs * (m1 + (y[c] - mu) * rs * m2);
      out[c] = accumulate ? out[c] + dense : dense;
    }
    __syncwarp();  // the sparse terms below land on columns other lanes just wrote
    for (int64_t t = lane; t < k; t += kWarp) {
      const int64_t c = static_cast<int64_t>(idx[t]);
      out[c] += rs * g[t] * gamma[c];
    }
    __syncwarp();
  }
  __syncthreads();
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
    atomicAdd(dgamma + c, block_dgamma[c]);
    atomicAdd(dbeta + c, block_dbeta[c]);
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
  GSR_DISPATCH_INDEX(index_type, [&] {
    layernorm_topk_kernel<index_t>
        <<<blocks_for(n, kWarpsPerBlock), kWarp * kWarpsPerBlock, 0, as_stream(stream)>>>(
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
  const size_t shared = checked_shared(sizeof(float) * 2 * d, "layernorm_topk_backward");
  // 16 rows per warp, so each block's closing 2 d global atomics are shared by 128 rows.
  const int blocks = blocks_for(n, kWarpsPerBlock * 16);
  GSR_DISPATCH_INDEX(index_type, [&] {
    layernorm_topk_backward_kernel<index_t><<<blocks, kWarp * kWarpsPerBlock, shared, s>>>(
        static_cast<const float*>(Y), n, d, k, static_cast<const float*>(gamma),
        static_cast<const float*>(mean), static_cast<const float*>(rstd),
        static_cast<const index_t*>(I), static_cast<const float*>(dV), static_cast<float*>(dY),
        accumulate, static_cast<float*>(dgamma), static_cast<float*>(dbeta));
  });
  check(cudaGetLastError(), "layernorm_topk_backward");
  if (dY_sum != nullptr) {
    constexpr int64_t kRowsPerBlock = 256;
    check(cudaMemsetAsync(dY_sum, 0, sizeof(float) * d, s), "memset");
    column_sum_kernel<<<static_cast<unsigned>((n + kRowsPerBlock - 1) / kRowsPerBlock), 128, 0,
                        s>>>(static_cast<const float*>(dY), n, d, kRowsPerBlock,
                             static_cast<float*>(dY_sum));
    check(cudaGetLastError(), "layernorm_topk_backward (column sums)");
  }
}

}  // namespace gsr::cuda
