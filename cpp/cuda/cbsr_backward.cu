// Backward kernels on the GPU: the sampled product over the transpose (one warp per part), the
// row dot for the gradient of S @ W, and the weight gradient through per-block partial sums
// reduced in a fixed order (deterministic, no contended atomics on the small dW). The partial
// sums live in caller-owned scratch, so torch's allocator holds and counts that memory.
#include "common.cuh"

namespace gsr::cuda {

namespace {

template <typename index_t>
__global__ void sampled_spmm_kernel(const int64_t* __restrict__ indptr,
                                    const int32_t* __restrict__ indices,
                                    const float* __restrict__ weights,
                                    const int64_t* __restrict__ parts, int64_t num_parts,
                                    const float* __restrict__ G, int64_t d,
                                    const index_t* __restrict__ I, int64_t k,
                                    float* __restrict__ dV) {
  extern __shared__ float smem[];
  const int lane = threadIdx.x % kWarp;
  float* acc = smem + (threadIdx.x / kWarp) * k;
  for_each_row_of_warp_parts(
      indptr, parts, num_parts, [&](int64_t row, int64_t e0, int64_t e1, bool split) {
        for (int64_t t = lane; t < k; t += kWarp) acc[t] = 0.f;
        __syncwarp();
        for (int64_t f = lane; f < (e1 - e0) * k; f += kWarp) {
          const int64_t e = e0 + f / k;
          const int64_t t = f % k;
          const int64_t src = indices[e];
          atomicAdd(acc + t, weights[e] * G[src * d + static_cast<int64_t>(I[row * k + t])]);
        }
        __syncwarp();
        for (int64_t t = lane; t < k; t += kWarp) {
          if (split)
            atomicAdd(dV + row * k + t, acc[t]);
          else
            dV[row * k + t] = acc[t];
        }
        __syncwarp();
      });
}

template <typename index_t>
__global__ void cbsr_rowdot_kernel(const float* __restrict__ dH, const float* __restrict__ W,
                                   const index_t* __restrict__ I, int64_t n, int64_t k,
                                   int64_t d_out, float* __restrict__ dV) {
  const int lane = threadIdx.x % kWarp;
  for (int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kWarp; row < n;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x / kWarp) {
    for (int64_t t = 0; t < k; ++t) {
      const float* w = W + static_cast<int64_t>(I[row * k + t]) * d_out;
      float acc = 0.f;
      for (int64_t c = lane; c < d_out; c += kWarp) acc += dH[row * d_out + c] * w[c];
      for (int offset = kWarp / 2; offset > 0; offset /= 2) {
        acc += __shfl_down_sync(0xffffffffu, acc, offset);
      }
      if (lane == 0) dV[row * k + t] = acc;
    }
  }
}

// Block b accumulates S(V, I)^T dH over its slice of rows into partial[b] (d_in x d_out);
// each thread owns whole columns, so no atomics are needed.
template <typename index_t>
__global__ void weight_grad_partial_kernel(const float* __restrict__ V,
                                           const index_t* __restrict__ I,
                                           const float* __restrict__ dH, int64_t n, int64_t k,
                                           int64_t d_in, int64_t d_out,
                                           float* __restrict__ partial) {
  float* mine = partial + blockIdx.x * d_in * d_out;
  for (int64_t f = threadIdx.x; f < d_in * d_out; f += blockDim.x) mine[f] = 0.f;
  __syncthreads();
  const int64_t r0 = n * blockIdx.x / gridDim.x, r1 = n * (blockIdx.x + 1) / gridDim.x;
  for (int64_t row = r0; row < r1; ++row) {
    for (int64_t t = 0; t < k; ++t) {
      const float v = V[row * k + t];
      float* o = mine + static_cast<int64_t>(I[row * k + t]) * d_out;
      for (int64_t c = threadIdx.x; c < d_out; c += blockDim.x) o[c] += v * dH[row * d_out + c];
    }
  }
}

__global__ void reduce_partials_kernel(const float* __restrict__ partial, int64_t blocks,
                                       int64_t size, bool accumulate, float* __restrict__ dW) {
  for (int64_t f = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; f < size;
       f += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float acc = accumulate ? dW[f] : 0.f;
    for (int64_t b = 0; b < blocks; ++b) acc += partial[b * size + f];
    dW[f] = acc;
  }
}

}  // namespace

void sampled_spmm(const Csr& At, const void* G, int64_t d, const void* I, int64_t k, void* dV,
                  int dtype, int index_type, uintptr_t stream) {
  require_float32(dtype, "sampled_spmm");
  cudaStream_t s = as_stream(stream);
  // Slices of hub rows add atomically, so every row starts from zero.
  check(cudaMemsetAsync(dV, 0, sizeof(float) * At.num_rows * k, s), "memset");
  const size_t shared = checked_shared(sizeof(float) * kWarpsPerBlock * k, "sampled_spmm");
  GSR_DISPATCH_INDEX(index_type, [&] {
    sampled_spmm_kernel<index_t>
        <<<blocks_for(At.num_parts, kWarpsPerBlock), kWarp * kWarpsPerBlock, shared, s>>>(
            At.indptr, At.indices, static_cast<const float*>(At.weights), At.parts, At.num_parts,
            static_cast<const float*>(G), d, static_cast<const index_t*>(I), k,
            static_cast<float*>(dV));
  });
  check(cudaGetLastError(), "sampled_spmm");
}

void cbsr_rowdot(const void* dH, const void* W, const void* I, int64_t n, int64_t k, int64_t d_in,
                 int64_t d_out, void* dV, int dtype, int index_type, uintptr_t stream) {
  (void)d_in;
  require_float32(dtype, "cbsr_rowdot");
  GSR_DISPATCH_INDEX(index_type, [&] {
    cbsr_rowdot_kernel<index_t>
        <<<blocks_for(n, kWarpsPerBlock), kWarp * kWarpsPerBlock, 0, as_stream(stream)>>>(
            static_cast<const float*>(dH), static_cast<const float*>(W),
            static_cast<const index_t*>(I), n, k, d_out, static_cast<float*>(dV));
  });
  check(cudaGetLastError(), "cbsr_rowdot");
}

void cbsr_weight_grad(const void* V, const void* I, const void* dH, int64_t n, int64_t k,
                      int64_t d_in, int64_t d_out, void* dW, bool accumulate,
                      int64_t partial_blocks, void* partials, int dtype, int index_type,
                      uintptr_t stream) {
  require_float32(dtype, "cbsr_weight_grad");
  cudaStream_t s = as_stream(stream);
  const int64_t blocks = partial_blocks;
  const int64_t size = d_in * d_out;
  float* partial = static_cast<float*>(partials);
  if (blocks > 0) {
    GSR_DISPATCH_INDEX(index_type, [&] {
      weight_grad_partial_kernel<index_t><<<static_cast<int>(blocks), 256, 0, s>>>(
          static_cast<const float*>(V), static_cast<const index_t*>(I),
          static_cast<const float*>(dH), n, k, d_in, d_out, partial);
    });
    check(cudaGetLastError(), "cbsr_weight_grad");
  }
  reduce_partials_kernel<<<blocks_for(size, 256), 256, 0, s>>>(partial, blocks, size, accumulate,
                                                               static_cast<float*>(dW));
  check(cudaGetLastError(), "cbsr_weight_grad reduce");
}

void cbsr_linear_backward(const Csr& At, const void* G, int64_t d_out, const void* V, const void* I,
                          int64_t k, const void* W, int64_t d_in, void* dV, void* dW,
                          bool accumulate, void* workspace, int64_t partial_blocks, void* partials,
                          int dtype, int index_type, uintptr_t stream) {
  // On the GPU dH goes through global memory (workspace): the three kernels run back to back on
  // the stream, each already saturating the device.
  csr_spmm(At, G, d_out, nullptr, workspace, false, dtype, stream);
  cbsr_rowdot(workspace, W, I, At.num_rows, k, d_in, d_out, dV, dtype, index_type, stream);
  cbsr_weight_grad(V, I, workspace, At.num_rows, k, d_in, d_out, dW, accumulate, partial_blocks,
                   partials, dtype, index_type, stream);
}

}  // namespace gsr::cuda
