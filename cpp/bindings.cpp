#include <pybind11/pybind11.h>

PYBIND11_MODULE(_core, m) {
  m.doc() = "gsr-eda compute core";
  m.def("has_cuda", []() { return false; });
}
