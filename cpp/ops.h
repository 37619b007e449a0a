// Declarations of every kernel of the core. Each op has a CPU implementation (cpp/cpu/<op>.cpp)
// and a CUDA implementation (cpp/cuda/<op>.cu) with the same arguments, plus a `stream` for CUDA.
//
// Notation: A is an N x N CSR matrix, S(V, I) is the N x d matrix whose row j holds V[j, t] at
// column I[j, t] (t < k) and zeros elsewhere (the CBSR format of the GSR-GNN paper). A may be
// rectangular (R x C): every kernel walks A.num_rows rows and reads the input rows its column
// indices name, so inputs have C rows and outputs R (for At, the other way round).
#pragma once

#include <cstdint>

#include "common.h"

namespace gsr {

#define GSR_DECLARE_OPS(STREAM_ARG)                                                                \
  /* Row top-k: V[j] = the k largest entries of P[j] (descending), I[j] their columns; ties go */  \
  /* to the lower column. */                                                                       \
  void row_topk(const void* P, int64_t n, int64_t d, int64_t k, int dtype, void* V, void* I,       \
                int index_type STREAM_ARG);                                                        \
  /* out (+)= A @ S(V, I), out is N x d. */                                                        \
  void cbsr_spmm(const Csr& A, const void* V, const void* I, int64_t k, int64_t d, void* out,      \
                 bool accumulate, int dtype, int index_type STREAM_ARG);                           \
  /* out (+)= A @ H (+ bias), H dense N x d, bias d or null (added in the same pass). */           \
  void csr_spmm(const Csr& A, const void* H, int64_t d, const void* bias, void* out,               \
                bool accumulate, int dtype STREAM_ARG);                                            \
  /* out = S(V, I) @ W, W is d_in x d_out. */                                                      \
  void cbsr_linear(const void* V, const void* I, int64_t n, int64_t k, const void* W,              \
                   int64_t d_in, int64_t d_out, void* out, int dtype, int index_type STREAM_ARG);  \
  /* dV[j, t] = (At @ G)[j, I[j, t]] with At the transpose of A (given as CSR). */                 \
  void sampled_spmm(const Csr& At, const void* G, int64_t d, const void* I, int64_t k, void* dV,   \
                    int dtype, int index_type STREAM_ARG);                                         \
  /* dV[j, t] = dot(dH[j, :], W[I[j, t], :]). */                                                   \
  void cbsr_rowdot(const void* dH, const void* W, const void* I, int64_t n, int64_t k,             \
                   int64_t d_in, int64_t d_out, void* dV, int dtype, int index_type STREAM_ARG);   \
  /* dW (+)= S(V, I)^T @ dH, in N * k * d_out work. partials: caller-owned scratch of */           \
  /* partial_blocks x d_in x d_out (CUDA sums per-block partials there in a fixed order; the */    \
  /* CPU takes none: 0 and null). */                                                               \
  void cbsr_weight_grad(const void* V, const void* I, const void* dH, int64_t n, int64_t k,        \
                        int64_t d_in, int64_t d_out, void* dW, bool accumulate,                    \
                        int64_t partial_blocks, void* partials, int dtype,                         \
                        int index_type STREAM_ARG);                                                \
  /* Backward of out = A @ (S(V, I) @ W) for upstream gradient G (N x d_out), At the transpose */  \
  /* of A: with dH = At @ G, dV[j, t] = dH[j] . W[I[j, t]] and dW (+)= S(V, I)^T dH. workspace */  \
  /* (N x d_out) may be overwritten with dH (CUDA and the portable CPU build; the AVX2 build */    \
  /* keeps each row in L1 instead); partial_blocks and partials as for cbsr_weight_grad. */        \
  void cbsr_linear_backward(const Csr& At, const void* G, int64_t d_out, const void* V,            \
                            const void* I, int64_t k, const void* W, int64_t d_in, void* dV,       \
                            void* dW, bool accumulate, void* workspace, int64_t partial_blocks,    \
                            void* partials, int dtype, int index_type STREAM_ARG);                 \
  /* Fused LayerNorm + GS(k): V, I = top-k of (Y - mean) * rstd * gamma + beta per row; writes */  \
  /* mean and rstd (N each). With given_indices, I is an input and V = h at I. */                  \
  void layernorm_topk(const void* Y, int64_t n, int64_t d, int64_t k, const void* gamma,           \
                      const void* beta, double eps, void* V, void* I, void* mean, void* rstd,      \
                      bool given_indices, int dtype, int index_type STREAM_ARG);                   \
  /* Its backward: dY (+)= d(V)/d(Y)^T dV; dgamma, dbeta (d each) are overwritten, and so is */    \
  /* dY_sum (d, or null) with the column sums of the updated dY. */                                \
  void layernorm_topk_backward(const void* Y, int64_t n, int64_t d, int64_t k, const void* gamma,  \
                               const void* mean, const void* rstd, const void* I, const void* dV,  \
                               void* dY, bool accumulate, void* dgamma, void* dbeta, void* dY_sum, \
                               int dtype, int index_type STREAM_ARG);

// The CPU kernels, compiled for the portable baseline (cpu) and, on x86-64 with GCC, a second
// time for AVX2 + FMA (cpu_avx2; see cpu/isa.h). Same functions, same results up to rounding.
#define GSR_NO_STREAM
// max_threads and set_max_threads read and set the OpenMP team size of the calling thread (an
// OpenMP ICV of that thread: two Python threads can run kernels with a team each).
namespace cpu {
GSR_DECLARE_OPS(GSR_NO_STREAM)
int max_threads();
void set_max_threads(int threads);
}  // namespace cpu
namespace cpu_avx2 {
GSR_DECLARE_OPS(GSR_NO_STREAM)
int max_threads();
void set_max_threads(int threads);
}  // namespace cpu_avx2
#undef GSR_NO_STREAM

namespace cuda {
#define GSR_STREAM , uintptr_t stream
GSR_DECLARE_OPS(GSR_STREAM)
#undef GSR_STREAM
int device_count();
}  // namespace cuda

}  // namespace gsr
