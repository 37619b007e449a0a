// Forward aggregation on the CPU: out (+)= A @ S(V, I), out (+)= A @ H (+ bias) and S(V, I) @ W.
//
// Rows are processed part by part (the nnz-balanced partition of CSRAdjacency, whole rows on the
// CPU) with a dynamic schedule, so a clock-net hub row does not stall one thread while the
// others idle. Each output row is owned by exactly one part: no atomics, deterministic results.
#include <cstring>
#include <type_traits>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "../ops.h"
#include "isa.h"
#include "csr_row.h"

namespace gsr::GSR_CPU_NS {

namespace {

// o[I[src, t]] += a * V[src, t] for the K (a compile-time k) entries of one gathered row. The
// row is read into locals before the first store: I is a byte type, which may alias `o`, so
// read through its pointer it was reloaded (with V) after every store to o.
template <int K, typename scalar_t, typename index_t>
inline void scatter_add_row(scalar_t a, const scalar_t* v, const index_t* idx, scalar_t* o) {
  scalar_t product[K];
  int64_t column[K];
  for (int t = 0; t < K; ++t) {
    product[t] = a * v[t];
    column[t] = static_cast<int64_t>(idx[t]);
  }
  for (int t = 0; t < K; ++t) o[column[t]] += product[t];
}

template <int K, typename scalar_t, typename index_t>
void cbsr_spmm_rows(const Csr& A, const scalar_t* V, const index_t* I, int64_t k, int64_t d,
                    scalar_t* out, bool accumulate) {
  const scalar_t* w = static_cast<const scalar_t*>(A.weights);
#pragma omp parallel for schedule(dynamic, 1) if (A.indptr[A.num_rows] * k >= kMinParallelWork)
  for (int64_t part = 0; part < A.num_parts; ++part) {
    const int64_t* p = A.parts + 4 * part;
    for (int64_t row = p[0]; row < p[1]; ++row) {
      scalar_t* o = out + row * d;
      if (!accumulate) std::memset(o, 0, sizeof(scalar_t) * d);
      const int64_t end = A.indptr[row + 1];
      for (int64_t e = A.indptr[row]; e < end; ++e) {
        if (e + kPrefetchDistance < end) {
          const int64_t ahead = A.indices[e + kPrefetchDistance];
          __builtin_prefetch(V + ahead * k);
          __builtin_prefetch(I + ahead * k);
        }
        const int64_t src = A.indices[e];
        const scalar_t a = w[e];
        const scalar_t* v = V + src * k;
        const index_t* idx = I + src * k;
        if constexpr (K > 0) {
          scatter_add_row<K>(a, v, idx, o);
        } else {
          for (int64_t t = 0; t < k; ++t) o[static_cast<int64_t>(idx[t])] += a * v[t];
        }
      }
    }
  }
}

// K = 0: k known only at run time.
template <typename scalar_t, typename index_t>
void cbsr_spmm_impl(const Csr& A, const scalar_t* V, const index_t* I, int64_t k, int64_t d,
                    scalar_t* out, bool accumulate) {
  switch (k) {
    case 4:
      return cbsr_spmm_rows<4>(A, V, I, k, d, out, accumulate);
    case 8:
      return cbsr_spmm_rows<8>(A, V, I, k, d, out, accumulate);
    case 16:
      return cbsr_spmm_rows<16>(A, V, I, k, d, out, accumulate);
    default:
      return cbsr_spmm_rows<0>(A, V, I, k, d, out, accumulate);
  }
}

// The bias goes in while the output row is in L1 for the product anyway: as a separate pass
// it read and wrote the whole N x d output once more.
template <typename scalar_t>
void csr_spmm_impl(const Csr& A, const scalar_t* H, int64_t d, const scalar_t* bias, scalar_t* out,
                   bool accumulate) {
#pragma omp parallel for schedule(dynamic, 1) if (A.indptr[A.num_rows] * d >= kMinParallelWork)
  for (int64_t part = 0; part < A.num_parts; ++part) {
    const int64_t* p = A.parts + 4 * part;
    for (int64_t row = p[0]; row < p[1]; ++row) {
      scalar_t* __restrict o = out + row * d;
      if (bias == nullptr) {
        if (!accumulate) std::memset(o, 0, sizeof(scalar_t) * d);
      } else if (accumulate) {
#pragma omp simd
        for (int64_t c = 0; c < d; ++c) o[c] += bias[c];
      } else {
        std::memcpy(o, bias, sizeof(scalar_t) * d);
      }
      add_row_product(A, H, d, row, o);
    }
  }
}

#if defined(GSR_CPU_AVX2)
// Columns [c0, c0 + 8 R) of one output row of S(V, I) @ W, kept in R registers and summed over
// the k gathered rows of W in order (the FMA sequence of the generic loop): the row never goes
// through memory. GCC does this by itself only in some contexts, and where it did not the
// kernel ran four times slower.
template <int R, typename index_t>
inline void linear_columns(const float* v, const index_t* idx, int64_t k, const float* W,
                           int64_t d_out, int64_t c0, float* o) {
  __m256 acc[R];
  for (int q = 0; q < R; ++q) acc[q] = _mm256_setzero_ps();
  for (int64_t t = 0; t < k; ++t) {
    const __m256 a = _mm256_set1_ps(v[t]);
    const float* wr = W + static_cast<int64_t>(idx[t]) * d_out + c0;
    for (int q = 0; q < R; ++q) acc[q] = _mm256_fmadd_ps(a, _mm256_loadu_ps(wr + 8 * q), acc[q]);
  }
  for (int q = 0; q < R; ++q) _mm256_storeu_ps(o + c0 + 8 * q, acc[q]);
}
#endif

template <typename scalar_t, typename index_t>
void cbsr_linear_impl(const scalar_t* V, const index_t* I, int64_t n, int64_t k, const scalar_t* W,
                      int64_t d_out, scalar_t* out) {
#pragma omp parallel for schedule(static) if (n * k * d_out >= kMinParallelWork)
  for (int64_t row = 0; row < n; ++row) {
    const scalar_t* v = V + row * k;
    const index_t* idx = I + row * k;
    scalar_t* __restrict o = out + row * d_out;
    int64_t c0 = 0;
#if defined(GSR_CPU_AVX2)
    if constexpr (std::is_same_v<scalar_t, float>) {
      for (; c0 + 64 <= d_out; c0 += 64) linear_columns<8>(v, idx, k, W, d_out, c0, o);
      if (c0 + 32 <= d_out) {
        linear_columns<4>(v, idx, k, W, d_out, c0, o);
        c0 += 32;
      }
      for (; c0 + 8 <= d_out; c0 += 8) linear_columns<1>(v, idx, k, W, d_out, c0, o);
    }
#endif
    if (c0 == d_out) continue;
    std::memset(o + c0, 0, sizeof(scalar_t) * (d_out - c0));
    for (int64_t t = 0; t < k; ++t) {
      const scalar_t a = v[t];
      const scalar_t* __restrict wr = W + static_cast<int64_t>(idx[t]) * d_out;
#pragma omp simd
      for (int64_t c = c0; c < d_out; ++c) o[c] += a * wr[c];
    }
  }
}

}  // namespace

void cbsr_spmm(const Csr& A, const void* V, const void* I, int64_t k, int64_t d, void* out,
               bool accumulate, int dtype, int index_type) {
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      cbsr_spmm_impl<scalar_t, index_t>(A, static_cast<const scalar_t*>(V),
                                        static_cast<const index_t*>(I), k, d,
                                        static_cast<scalar_t*>(out), accumulate);
    });
  });
}

void csr_spmm(const Csr& A, const void* H, int64_t d, const void* bias, void* out, bool accumulate,
              int dtype) {
  GSR_DISPATCH_FLOAT(dtype, [&] {
    csr_spmm_impl<scalar_t>(A, static_cast<const scalar_t*>(H), d,
                            static_cast<const scalar_t*>(bias), static_cast<scalar_t*>(out),
                            accumulate);
  });
}

void cbsr_linear(const void* V, const void* I, int64_t n, int64_t k, const void* W, int64_t d_in,
                 int64_t d_out, void* out, int dtype, int index_type) {
  (void)d_in;
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      cbsr_linear_impl<scalar_t, index_t>(
          static_cast<const scalar_t*>(V), static_cast<const index_t*>(I), n, k,
          static_cast<const scalar_t*>(W), d_out, static_cast<scalar_t*>(out));
    });
  });
}

}  // namespace gsr::GSR_CPU_NS
