// Shared definitions of the gsr-eda compute core.
//
// The core never links libtorch: Python hands over raw device pointers (as integers), shapes,
// dtype codes and, for CUDA, the stream. Every pointer has been checked by the Python layer for
// device, dtype, contiguity and shape before it reaches these functions.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

// Here so that it precedes cpu/isa.h in every CPU source (see topk_rule.h).
#include "topk_rule.h"

namespace gsr {

// Codes shared with gsr_eda/ops/dtypes.py (FLOAT_CODES, INDEX_CODES).
enum class Dtype : int { Float32 = 0, Float64 = 1 };
enum class IndexType : int { UInt8 = 0, Int16 = 1, Int32 = 2 };

// A CSR matrix as the kernels see it: int64 row pointers, int32 column indices, float weights.
// `parts` is the nnz-balanced work partition built once per graph by CSRAdjacency: `num_parts`
// rows of four int64 [row_begin, row_end, nnz_begin, nnz_end]. A part either covers whole rows
// or (GPU only) a slice of one long row; the second kind is accumulated with atomics.
struct Csr {
  const int64_t* indptr;
  const int32_t* indices;
  const void* weights;
  const int64_t* parts;
  int64_t num_parts;
  int64_t num_rows;
};

// Below this much work (multiply-adds) a CPU kernel runs on the calling thread: waking an
// OpenMP team costs microseconds idle and milliseconds on a loaded machine.
constexpr int64_t kMinParallelWork = int64_t{1} << 16;

// Dispatch a templated body over the float dtype (scalar_t) and the index dtype (index_t).
#define GSR_DISPATCH_FLOAT(code, ...)                                            \
  [&] {                                                                          \
    switch (static_cast<::gsr::Dtype>(code)) {                                   \
      case ::gsr::Dtype::Float32: {                                              \
        using scalar_t = float;                                                  \
        return __VA_ARGS__();                                                    \
      }                                                                          \
      case ::gsr::Dtype::Float64: {                                              \
        using scalar_t = double;                                                 \
        return __VA_ARGS__();                                                    \
      }                                                                          \
    }                                                                            \
    throw std::invalid_argument("gsr_eda._core: unsupported float dtype code " + \
                                std::to_string(code));                           \
  }()

#define GSR_DISPATCH_INDEX(code, ...)                                            \
  [&] {                                                                          \
    switch (static_cast<::gsr::IndexType>(code)) {                               \
      case ::gsr::IndexType::UInt8: {                                            \
        using index_t = uint8_t;                                                 \
        return __VA_ARGS__();                                                    \
      }                                                                          \
      case ::gsr::IndexType::Int16: {                                            \
        using index_t = int16_t;                                                 \
        return __VA_ARGS__();                                                    \
      }                                                                          \
      case ::gsr::IndexType::Int32: {                                            \
        using index_t = int32_t;                                                 \
        return __VA_ARGS__();                                                    \
      }                                                                          \
    }                                                                            \
    throw std::invalid_argument("gsr_eda._core: unsupported index dtype code " + \
                                std::to_string(code));                           \
  }()

}  // namespace gsr
