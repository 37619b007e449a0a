// Row top-k on the CPU: blocks of rows through select_topk_rows (topk_select.h), split over
// threads.
#include <omp.h>

#include "../ops.h"
#include "isa.h"
#include "topk_select.h"

namespace gsr::GSR_CPU_NS {

namespace {

template <typename scalar_t, typename index_t>
void row_topk_impl(const scalar_t* P, int64_t n, int64_t d, int64_t k, scalar_t* V, index_t* I) {
  const int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
#pragma omp parallel for schedule(static) if (n * d >= kMinParallelWork)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t row = block * kBlockRows;
    const int64_t rows = n - row < kBlockRows ? n - row : kBlockRows;
    select_topk_rows(P + row * d, rows, d, k, V + row * k, I + row * k);
  }
}

}  // namespace

void row_topk(const void* P, int64_t n, int64_t d, int64_t k, int dtype, void* V, void* I,
              int index_type) {
  GSR_DISPATCH_FLOAT(dtype, [&] {
    GSR_DISPATCH_INDEX(index_type, [&] {
      row_topk_impl<scalar_t, index_t>(static_cast<const scalar_t*>(P), n, d, k,
                                       static_cast<scalar_t*>(V), static_cast<index_t*>(I));
    });
  });
}

int max_threads() { return omp_get_max_threads(); }

void set_max_threads(int threads) { omp_set_num_threads(threads < 1 ? 1 : threads); }

}  // namespace gsr::GSR_CPU_NS
