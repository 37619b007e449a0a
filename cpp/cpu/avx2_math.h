// Small AVX2 helpers shared by the CPU kernels. Include after isa.h (and so after
// <immintrin.h>, which isa.h must follow).
#pragma once

#include "../common.h"

namespace gsr::GSR_CPU_NS {

#if defined(GSR_CPU_AVX2)
// The sum of the eight lanes of v.
inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
#endif

}  // namespace gsr::GSR_CPU_NS
