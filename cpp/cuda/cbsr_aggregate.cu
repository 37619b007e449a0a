// Forward aggregation on the GPU. One warp per part of the nnz-balanced partition; each warp
// accumulates the current output row in shared memory, then writes it out (or, for a slice of a
// hub row, adds it atomically). When not accumulating, the output is zeroed first so that the
// slices of split rows can all be added.
#include "common.cuh"

namespace gsr::cuda {

namespace {

template <typename index_t>
__global__ void cbsr_spmm_kernel(const int64_t* __restrict__ indptr,
                                 const int32_t* __restrict__ indices,
                                 const float* __restrict__ weights,
                                 const int64_t* __restrict__ parts, int64_t num_parts,
                                 const float* __restrict__ V, const index_t* __restrict__ I,
                                 int64_t k, int64_t d, float* __restrict__ out) {
  extern __shared__ float smem[];
  const int lane = threadIdx.x % kWarp;
  float* acc = smem + (threadIdx.x / kWarp) * d;
  for_each_row_of_warp_parts(
      indptr, parts, num_parts, [&](int64_t row, int64_t e0, int64_t e1, bool split) {
        for (int64_t c = lane; c < d; c += kWarp) acc[c] = 0.f;
        __syncwarp();
        // Lanes walk the (edge, t) pairs; the k columns of one source row are distinct, and
        // different edges may collide, hence the shared-memory atomics.
        for (int64_t f = lane; f < (e1 - e0) * k; f += kWarp) {
          const int64_t e = e0 + f / k;
          const int64_t t = f % k;
          const int64_t src = indices[e];
          atomicAdd(acc + static_cast<int64_t>(I[src * k + t]), weights[e] * V[src * k + t]);
        }
        __syncwarp();
        float* o = out + row * d;
        for (int64_t c = lane; c < d; c += kWarp) {
          if (split)
            atomicAdd(o + c, acc[c]);
          else
            o[c] += acc[c];
        }
        __syncwarp();
      });
}

__global__ void csr_spmm_kernel(const int64_t* __restrict__ indptr,
                                const int32_t* __restrict__ indices,
                                const float* __restrict__ weights,
                                const int64_t* __restrict__ parts, int64_t num_parts,
                                const float* __restrict__ H, int64_t d,
                                const float* __restrict__ bias, float* __restrict__ out) {
  extern __shared__ float smem[];
  const int lane = threadIdx.x % kWarp;
  // Each lane owns columns lane, lane + 32, ...: no atomics on the row.
  float* acc = smem + (threadIdx.x / kWarp) * d;
  for_each_row_of_warp_parts(indptr, parts, num_parts,
                             [&](int64_t row, int64_t e0, int64_t e1, bool split) {
                               // The bias goes into the first slice of a row only (every row has
                               // one, empty rows too).
                               const bool with_bias = bias != nullptr && e0 == indptr[row];
                               for (int64_t c = lane; c < d; c += kWarp)
                                 acc[c] = with_bias ? bias[c] : 0.f;
                               for (int64_t e = e0; e < e1; ++e) {
                                 const float a = weights[e];
                                 const float* h = H + static_cast<int64_t>(indices[e]) * d;
                                 for (int64_t c = lane; c < d; c += kWarp) acc[c] += a * h[c];
                               }
                               float* o = out + row * d;
                               for (int64_t c = lane; c < d; c += kWarp) {
                                 if (split)
                                   atomicAdd(o + c, acc[c]);
                                 else
                                   o[c] += acc[c];
                               }
                             });
}

template <typename index_t>
__global__ void cbsr_linear_kernel(const float* __restrict__ V, const index_t* __restrict__ I,
                                   int64_t n, int64_t k, const float* __restrict__ W, int64_t d_out,
                                   float* __restrict__ out) {
  const int lane = threadIdx.x % kWarp;
  for (int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kWarp; row < n;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x / kWarp) {
    for (int64_t c = lane; c < d_out; c += kWarp) {
      float acc = 0.f;
      for (int64_t t = 0; t < k; ++t) {
        acc += V[row * k + t] * W[static_cast<int64_t>(I[row * k + t]) * d_out + c];
      }
      out[row * d_out + c] = acc;
    }
  }
}

int warp_blocks(int64_t num_parts) { return blocks_for(num_parts, kWarpsPerBlock); }

void zero_unless(bool accumulate, void* out, int64_t elements, cudaStream_t stream) {
  if (!accumulate) check(cudaMemsetAsync(out, 0, sizeof(float) * elements, stream), "memset");
}

}  // namespace

void cbsr_spmm(const Csr& A, const void* V, const void* I, int64_t k, int64_t d, void* out,
               bool accumulate, int dtype, int index_type, uintptr_t stream) {
  require_float32(dtype, "cbsr_spmm");
  cudaStream_t s = as_stream(stream);
  zero_unless(accumulate, out, A.num_rows * d, s);
  const size_t shared = checked_shared(sizeof(float) * kWarpsPerBlock * d, "cbsr_spmm");
  GSR_DISPATCH_INDEX(index_type, [&] {
    cbsr_spmm_kernel<index_t><<<warp_blocks(A.num_parts), kWarp * kWarpsPerBlock, shared, s>>>(
        A.indptr, A.indices, static_cast<const float*>(A.weights), A.parts, A.num_parts,
        static_cast<const float*>(V), static_cast<const index_t*>(I), k, d,
        static_cast<float*>(out));
  });
  check(cudaGetLastError(), "cbsr_spmm");
}

void csr_spmm(const Csr& A, const void* H, int64_t d, const void* bias, void* out, bool accumulate,
              int dtype, uintptr_t stream) {
  require_float32(dtype, "csr_spmm");
  cudaStream_t s = as_stream(stream);
  zero_unless(accumulate, out, A.num_rows * d, s);
  const size_t shared = checked_shared(sizeof(float) * kWarpsPerBlock * d, "csr_spmm");
  csr_spmm_kernel<<<warp_blocks(A.num_parts), kWarp * kWarpsPerBlock, shared, s>>>(
      A.indptr, A.indices, static_cast<const float*>(A.weights), A.parts, A.num_parts,
      static_cast<const float*>(H), d, static_cast<const float*>(bias), static_cast<float*>(out));
  check(cudaGetLastError(), "csr_spmm");
}

void cbsr_linear(const void* V, const void* I, int64_t n, int64_t k, const void* W, int64_t d_in,
                 int64_t d_out, void* out, int dtype, int index_type, uintptr_t stream) {
  (void)d_in;
  require_float32(dtype, "cbsr_linear");
  const int threads = kWarp * kWarpsPerBlock;
  GSR_DISPATCH_INDEX(index_type, [&] {
    cbsr_linear_kernel<index_t><<<blocks_for(n, kWarpsPerBlock), threads, 0, as_stream(stream)>>>(
        static_cast<const float*>(V), static_cast<const index_t*>(I), n, k,
        static_cast<const float*>(W), d_out, static_cast<float*>(out));
  });
  check(cudaGetLastError(), "cbsr_linear");
}

}  // namespace gsr::cuda
