// Row top-k on the GPU: one warp per row (warp_row_topk), the selection rule of the CPU kernel,
// so ties resolve identically (towards the lower column) and results match the CPU bit for bit.
#include "common.cuh"

namespace gsr::cuda {

namespace {

template <typename index_t>
__global__ void row_topk_kernel(const float* __restrict__ P, int64_t n, int64_t d, int64_t k,
                                float* __restrict__ V, index_t* __restrict__ I) {
  for (int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kWarp; row < n;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x / kWarp) {
    const float* p = P + row * d;
    warp_row_topk(d, k, [&](int64_t c) { return p[c]; }, V + row * k, I + row * k);
  }
}

}  // namespace

void row_topk(const void* P, int64_t n, int64_t d, int64_t k, int dtype, void* V, void* I,
              int index_type, uintptr_t stream) {
  require_float32(dtype, "row_topk");
  GSR_DISPATCH_INDEX(index_type, [&] {
    row_topk_kernel<index_t>
        <<<blocks_for(n, kWarpsPerBlock), kWarp * kWarpsPerBlock, 0, as_stream(stream)>>>(
            static_cast<const float*>(P), n, d, k, static_cast<float*>(V),
            static_cast<index_t*>(I));
  });
  check(cudaGetLastError(), "row_topk");
}

int device_count() {
  int count = 0;
  // Without a driver or a GPU this fails: report no devices rather than an error.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state
    return 0;
  }
  return count;
}

}  // namespace gsr::cuda
