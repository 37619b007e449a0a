// Helpers shared by the CUDA kernels of the core.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "../ops.h"
#include "../topk_rule.h"

namespace gsr::cuda {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("gsr_eda._core CUDA error in ") + what + ": " +
                             cudaGetErrorString(status));
  }
}

// Kernels take float32 on the GPU; Python checks this first, the guard catches direct callers.
inline void require_float32(int dtype, const char* what) {
  if (static_cast<Dtype>(dtype) != Dtype::Float32) {
    throw std::invalid_argument(std::string("gsr_eda._core: CUDA ") + what + " takes float32");
  }
}

// Dynamic shared memory a launch may use without opting in to more (every architecture).
inline size_t checked_shared(size_t bytes, const char* what) {
  if (bytes > 48 * 1024) {
    throw std::invalid_argument(std::string("gsr_eda._core: CUDA ") + what +
                                ": feature width too large for one warp row in shared memory");
  }
  return bytes;
}

inline cudaStream_t as_stream(uintptr_t stream) { return reinterpret_cast<cudaStream_t>(stream); }

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 8;

inline int blocks_for(int64_t items, int per_block) {
  const int64_t blocks = (items + per_block - 1) / per_block;
  return static_cast<int>(blocks < 1 ? 1 : (blocks > 65535 * 16 ? 65535 * 16 : blocks));
}

// True when part p covers only a slice of one row: its sum must be added atomically.
__device__ inline bool part_is_split(const int64_t* part, const int64_t* indptr) {
  return part[1] - part[0] == 1 && (part[2] > indptr[part[0]] || part[3] < indptr[part[1]]);
}

// One warp per part of the nnz-balanced partition (grid-stride over the parts): calls
// row_body(row, e0, e1, split) for each row of the warp's parts, with [e0, e1) the row's
// nonzeros inside the part and `split` true when the part is a slice of one long row (its sum
// must then be added atomically). Every lane of the warp makes the same calls.
template <typename RowBody>
__device__ inline void for_each_row_of_warp_parts(const int64_t* __restrict__ indptr,
                                                  const int64_t* __restrict__ parts,
                                                  int64_t num_parts, RowBody row_body) {
  const int warp = threadIdx.x / kWarp;
  for (int64_t part = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + warp; part < num_parts;
       part += static_cast<int64_t>(gridDim.x) * kWarpsPerBlock) {
    const int64_t* p = parts + 4 * part;
    const bool split = part_is_split(p, indptr);
    for (int64_t row = p[0]; row < p[1]; ++row) {
      row_body(row, max(indptr[row], p[2]), min(indptr[row + 1], p[3]), split);
    }
  }
}

// Offers column c with value x to a row's best-k buffer (v, idx), ranked by the rule of
// ../topk_rule.h (the CPU's). `filled` counts the entries so far and `kth` caches v[k - 1] once
// the buffer is full, so the common case (x does not make the cut) is one compare.
template <typename index_t>
__device__ inline void topk_offer(float x, int64_t c, int64_t k, float* v, index_t* idx,
                                  int64_t& filled, float& kth) {
  if (filled == k && !ranks_above(x, kth)) return;
  insert_sorted(x, c, k, filled, v, idx);
  if (filled == k) kth = v[k - 1];
}

}  // namespace gsr::cuda
