// Row top-k on the CPU: one pass over each row keeping a sorted buffer of the k best entries.
// Work O(N * d) in the usual case: most entries fail the "better than the current k-th" test.
#include <omp.h>

#include "../ops.h"

namespace gsr::cpu {

namespace {

// Keeps the best k of one row in (v, idx), sorted descending; `kth` caches v[k - 1] in a
// register so the common case (an entry that does not make the cut) is one compare.
template <typename scalar_t, typename index_t>
inline void topk_row(const scalar_t* __restrict p, int64_t d, int64_t k, scalar_t* __restrict v,
                     index_t* __restrict idx) {
  int64_t filled = 0;
  for (int64_t c = 0; c < d && filled < k; ++c) {
    int64_t pos = filled++;
    // Strictly less: an equal value seen later has a higher column and stays behind.
    while (pos > 0 && v[pos - 1] < p[c]) {
      v[pos] = v[pos - 1];
      idx[pos] = idx[pos - 1];
      --pos;
    }
    v[pos] = p[c];
    idx[pos] = static_cast<index_t>(c);
  }
  scalar_t kth = v[k - 1];
  for (int64_t c = k; c < d; ++c) {
    const scalar_t x = p[c];
    if (!(x > kth)) continue;  // ties lose to the lower column already kept
    int64_t pos = k - 1;
    while (pos > 0 && v[pos - 1] < x) {
      v[pos] = v[pos - 1];
      idx[pos] = idx[pos - 1];
      --pos;
    }
    v[pos] = x;
    idx[pos] = static_cast<index_t>(c);
    kth = v[k - 1];
  }
}

template <typename scalar_t, typename index_t>
void row_topk_impl(const scalar_t* P, int64_t n, int64_t d, int64_t k, scalar_t* V, index_t* I) {
  constexpr int64_t kLocal = 64;  // rows' best-k kept on the stack (L1) up to this k
#pragma omp parallel for schedule(static) if (n * d >= kMinParallelWork)
  for (int64_t row = 0; row < n; ++row) {
    if (k <= kLocal) {
      scalar_t v[kLocal];
      index_t idx[kLocal];
      topk_row(P + row * d, d, k, v, idx);
      for (int64_t t = 0; t < k; ++t) {
        V[row * k + t] = v[t];
        I[row * k + t] = idx[t];
      }
    } else {
      topk_row(P + row * d, d, k, V + row * k, I + row * k);
    }
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

}  // namespace gsr::cpu
