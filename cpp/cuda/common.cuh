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

// Sum of x over the 32 lanes of a warp, returned to every lane.
__device__ inline float warp_sum(float x) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// (x, cx) comes before (y, cy) in the order of ../topk_rule.h: ranks above, or ranks level (equal
// values, two NaNs included) at a lower column. A total order, so "after the last one taken"
// identifies the entries not yet taken without marking them.
__device__ inline bool comes_before(float x, int64_t cx, float y, int64_t cy) {
  return ranks_above(x, y) || (!ranks_above(y, x) && cx < cy);
}

// Warp-cooperative top-k of one row of d entries, value(c) giving the entry at column c: k
// rounds, each taking the first entry (in comes_before order) after the previous round's, lane l
// scanning columns l, l + 32, ... and the warp reducing the 32 candidates by shuffles. Lane 0
// writes round t's entry to (v[t], idx[t]), so the output is in rank order, as on the CPU.
// O(k d / 32) per lane, without the per-thread insertion buffer of a one-thread-per-row scan.
template <typename index_t, typename Value>
__device__ inline void warp_row_topk(int64_t d, int64_t k, Value value, float* v, index_t* idx) {
  const int lane = threadIdx.x % kWarp;
  constexpr int64_t kNone = INT64_MAX;  // no candidate: after every real column
  float last = 0.f;
  int64_t last_c = -1;  // round 0 takes the first entry overall
  for (int64_t t = 0; t < k; ++t) {
    float best = 0.f;
    int64_t best_c = kNone;
    for (int64_t c = lane; c < d; c += kWarp) {
      const float x = value(c);
      const bool remaining = last_c < 0 || comes_before(last, last_c, x, c);
      if (remaining && (best_c == kNone || comes_before(x, c, best, best_c))) {
        best = x;
        best_c = c;
      }
    }
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      const float other = __shfl_xor_sync(0xffffffffu, best, offset);
      const int64_t other_c = __shfl_xor_sync(0xffffffffu, best_c, offset);
      if (other_c != kNone && (best_c == kNone || comes_before(other, other_c, best, best_c))) {
        best = other;
        best_c = other_c;
      }
    }
    if (lane == 0) {
      v[t] = best;
      idx[t] = static_cast<index_t>(best_c);
    }
    last = best;
    last_c = best_c;
  }
}

}  // namespace gsr::cuda
