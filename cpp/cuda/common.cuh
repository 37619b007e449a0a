// Helpers shared by the CUDA kernels of the core.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "../ops.h"

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

}  // namespace gsr::cuda
