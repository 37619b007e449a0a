// The single pybind11 binding file of gsr_eda._core.
//
// Every pointer argument is an integer address (tensor.data_ptr()) checked by gsr_eda/ops;
// submodule `cpu` always exists (bound at import to the AVX2 + FMA variant of the CPU kernels
// when they were compiled and the CPU has them, unless GSR_EDA_CPU_ISA=baseline; `cpu_isa` says
// which), `cpu_baseline` holds the portable variant, and submodule `cuda` exists only when the
// CUDA kernels were compiled.
// The GIL is released around every kernel so Python threads (data loading) keep running.
#include <pybind11/pybind11.h>

#include <cstdlib>
#include <cstring>

#include "ops.h"

namespace py = pybind11;

namespace {

template <typename T>
const T* cptr(uintptr_t address) {
  return reinterpret_cast<const T*>(address);
}
void* mptr(uintptr_t address) { return reinterpret_cast<void*>(address); }
const void* vptr(uintptr_t address) { return reinterpret_cast<const void*>(address); }

gsr::Csr make_csr(uintptr_t indptr, uintptr_t indices, uintptr_t weights, uintptr_t parts,
                  int64_t num_parts, int64_t num_rows) {
  return gsr::Csr{cptr<int64_t>(indptr),
                  cptr<int32_t>(indices),
                  vptr(weights),
                  cptr<int64_t>(parts),
                  num_parts,
                  num_rows};
}

// Registers the ten kernels of one backend; STREAM is empty for the CPU.
#define GSR_BIND_BACKEND(mod, ns, STREAM_PARAM, STREAM_ARG, STREAM_PYARG)                          \
  mod.def(                                                                                         \
      "row_topk",                                                                                  \
      [](uintptr_t P, int64_t n, int64_t d, int64_t k, int dtype, uintptr_t V, uintptr_t I,        \
         int index_type STREAM_PARAM) {                                                            \
        py::gil_scoped_release release;                                                            \
        ns::row_topk(vptr(P), n, d, k, dtype, mptr(V), mptr(I), index_type STREAM_ARG);            \
      },                                                                                           \
      py::arg("P"), py::arg("n"), py::arg("d"), py::arg("k"), py::arg("dtype"), py::arg("V"),      \
      py::arg("I"), py::arg("index_type") STREAM_PYARG);                                           \
  mod.def("cbsr_spmm",                                                                             \
          [](uintptr_t indptr, uintptr_t indices, uintptr_t weights, uintptr_t parts,              \
             int64_t num_parts, int64_t num_rows, uintptr_t V, uintptr_t I, int64_t k, int64_t d,  \
             uintptr_t out, bool accumulate, int dtype, int index_type STREAM_PARAM) {             \
            py::gil_scoped_release release;                                                        \
            ns::cbsr_spmm(make_csr(indptr, indices, weights, parts, num_parts, num_rows), vptr(V), \
                          vptr(I), k, d, mptr(out), accumulate, dtype, index_type STREAM_ARG);     \
          });                                                                                      \
  mod.def("csr_spmm", [](uintptr_t indptr, uintptr_t indices, uintptr_t weights, uintptr_t parts,  \
                         int64_t num_parts, int64_t num_rows, uintptr_t H, int64_t d,              \
                         uintptr_t bias, uintptr_t out, bool accumulate, int dtype STREAM_PARAM) { \
    py::gil_scoped_release release;                                                                \
    ns::csr_spmm(make_csr(indptr, indices, weights, parts, num_parts, num_rows), vptr(H), d,       \
                 vptr(bias), mptr(out), accumulate, dtype STREAM_ARG);                             \
  });                                                                                              \
  mod.def("cbsr_linear",                                                                           \
          [](uintptr_t V, uintptr_t I, int64_t n, int64_t k, uintptr_t W, int64_t d_in,            \
             int64_t d_out, uintptr_t out, int dtype, int index_type STREAM_PARAM) {               \
            py::gil_scoped_release release;                                                        \
            ns::cbsr_linear(vptr(V), vptr(I), n, k, vptr(W), d_in, d_out, mptr(out), dtype,        \
                            index_type STREAM_ARG);                                                \
          });                                                                                      \
  mod.def("sampled_spmm",                                                                          \
          [](uintptr_t indptr, uintptr_t indices, uintptr_t weights, uintptr_t parts,              \
             int64_t num_parts, int64_t num_rows, uintptr_t G, int64_t d, uintptr_t I, int64_t k,  \
             uintptr_t dV, int dtype, int index_type STREAM_PARAM) {                               \
            py::gil_scoped_release release;                                                        \
            ns::sampled_spmm(make_csr(indptr, indices, weights, parts, num_parts, num_rows),       \
                             vptr(G), d, vptr(I), k, mptr(dV), dtype, index_type STREAM_ARG);      \
          });                                                                                      \
  mod.def("cbsr_rowdot",                                                                           \
          [](uintptr_t dH, uintptr_t W, uintptr_t I, int64_t n, int64_t k, int64_t d_in,           \
             int64_t d_out, uintptr_t dV, int dtype, int index_type STREAM_PARAM) {                \
            py::gil_scoped_release release;                                                        \
            ns::cbsr_rowdot(vptr(dH), vptr(W), vptr(I), n, k, d_in, d_out, mptr(dV), dtype,        \
                            index_type STREAM_ARG);                                                \
          });                                                                                      \
  mod.def("cbsr_weight_grad", [](uintptr_t V, uintptr_t I, uintptr_t dH, int64_t n, int64_t k,     \
                                 int64_t d_in, int64_t d_out, uintptr_t dW, bool accumulate,       \
                                 int64_t partial_blocks, uintptr_t partials, int dtype,            \
                                 int index_type STREAM_PARAM) {                                    \
    py::gil_scoped_release release;                                                                \
    ns::cbsr_weight_grad(vptr(V), vptr(I), vptr(dH), n, k, d_in, d_out, mptr(dW), accumulate,      \
                         partial_blocks, mptr(partials), dtype, index_type STREAM_ARG);            \
  });                                                                                              \
  mod.def("cbsr_linear_backward",                                                                  \
          [](uintptr_t indptr, uintptr_t indices, uintptr_t weights, uintptr_t parts,              \
             int64_t num_parts, int64_t num_rows, uintptr_t G, int64_t d_out, uintptr_t V,         \
             uintptr_t I, int64_t k, uintptr_t W, int64_t d_in, uintptr_t dV, uintptr_t dW,        \
             bool accumulate, uintptr_t workspace, int64_t partial_blocks, uintptr_t partials,     \
             int dtype, int index_type STREAM_PARAM) {                                             \
            py::gil_scoped_release release;                                                        \
            ns::cbsr_linear_backward(                                                              \
                make_csr(indptr, indices, weights, parts, num_parts, num_rows), vptr(G), d_out,    \
                vptr(V), vptr(I), k, vptr(W), d_in, mptr(dV), mptr(dW), accumulate,                \
                mptr(workspace), partial_blocks, mptr(partials), dtype, index_type STREAM_ARG);    \
          });                                                                                      \
  mod.def("layernorm_topk",                                                                        \
          [](uintptr_t Y, int64_t n, int64_t d, int64_t k, uintptr_t gamma, uintptr_t beta,        \
             double eps, uintptr_t V, uintptr_t I, uintptr_t mean, uintptr_t rstd, bool given,     \
             int dtype, int index_type STREAM_PARAM) {                                             \
            py::gil_scoped_release release;                                                        \
            ns::layernorm_topk(vptr(Y), n, d, k, vptr(gamma), vptr(beta), eps, mptr(V), mptr(I),   \
                               mptr(mean), mptr(rstd), given, dtype, index_type STREAM_ARG);       \
          });                                                                                      \
  mod.def("layernorm_topk_backward",                                                               \
          [](uintptr_t Y, int64_t n, int64_t d, int64_t k, uintptr_t gamma, uintptr_t mean,        \
             uintptr_t rstd, uintptr_t I, uintptr_t dV, uintptr_t dY, bool accumulate,             \
             uintptr_t dgamma, uintptr_t dbeta, uintptr_t dY_sum, int dtype,                       \
             int index_type STREAM_PARAM) {                                                        \
            py::gil_scoped_release release;                                                        \
            ns::layernorm_topk_backward(vptr(Y), n, d, k, vptr(gamma), vptr(mean), vptr(rstd),     \
                                        vptr(I), vptr(dV), mptr(dY), accumulate, mptr(dgamma),     \
                                        mptr(dbeta), mptr(dY_sum), dtype, index_type STREAM_ARG);  \
          });

#define GSR_EMPTY
#define GSR_STREAM_PARAM , uintptr_t stream
#define GSR_STREAM_ARG , stream
#define GSR_STREAM_PYARG , py::arg("stream")

// Whether `cpu` gets the AVX2 + FMA kernels: compiled in, supported by this CPU (libgcc's check
// includes the OS saving the YMM state), and not turned off with GSR_EDA_CPU_ISA=baseline.
bool use_avx2_kernels() {
#ifdef GSR_EDA_CPU_AVX2
  const char* requested = std::getenv("GSR_EDA_CPU_ISA");
  if (requested != nullptr && std::strcmp(requested, "baseline") == 0) return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "gsr-eda compute core: CBSR top-k, aggregation and sampled-backward kernels";
#ifdef GSR_EDA_WITH_CUDA
  m.def("has_cuda", []() { return true; }, "Whether the CUDA kernels were compiled in.");
  m.def(
      "cuda_device_count", []() { return gsr::cuda::device_count(); },
      "Number of usable CUDA devices; 0 without a GPU or driver.");
#else
  m.def("has_cuda", []() { return false; }, "Whether the CUDA kernels were compiled in.");
  m.def(
      "cuda_device_count", []() { return 0; },
      "Number of usable CUDA devices; 0 without a GPU or driver.");
#endif
  m.def(
      "cpu_max_threads", []() { return gsr::cpu::max_threads(); },
      "OpenMP threads the CPU kernels use (called from this thread).");
  m.def(
      "cpu_set_num_threads", [](int threads) { gsr::cpu::set_max_threads(threads); },
      py::arg("threads"),
      "Set the OpenMP team size of the CPU kernels called from this thread (at least 1).");

  const bool avx2 = use_avx2_kernels();
  m.attr("cpu_isa") = avx2 ? "avx2+fma" : "baseline";
  py::module_ cpu = m.def_submodule("cpu", "CPU (OpenMP) kernels, the best variant for this CPU");
  if (avx2) {
    GSR_BIND_BACKEND(cpu, gsr::cpu_avx2, GSR_EMPTY, GSR_EMPTY, GSR_EMPTY)
  } else {
    GSR_BIND_BACKEND(cpu, gsr::cpu, GSR_EMPTY, GSR_EMPTY, GSR_EMPTY)
  }
  py::module_ baseline = m.def_submodule("cpu_baseline", "CPU kernels, portable (SSE2) build");
  GSR_BIND_BACKEND(baseline, gsr::cpu, GSR_EMPTY, GSR_EMPTY, GSR_EMPTY)
#ifdef GSR_EDA_WITH_CUDA
  py::module_ cuda = m.def_submodule("cuda", "CUDA kernels (stream-ordered on the given stream)");
  GSR_BIND_BACKEND(cuda, gsr::cuda, GSR_STREAM_PARAM, GSR_STREAM_ARG, GSR_STREAM_PYARG)
#endif
}
