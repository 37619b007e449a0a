// Instruction-set variant of the CPU kernels being compiled.
//
// Every CPU kernel source is compiled twice on x86-64 with GCC (CMakeLists.txt,
// GSR_EDA_CPU_DISPATCH): once for the portable baseline (SSE2) into namespace gsr::cpu, and once
// with GSR_CPU_AVX2 defined into gsr::cpu_avx2 with AVX2 + FMA enabled from this point of the
// translation unit on. bindings.cpp picks the variant at import from what the CPU supports, so
// one wheel runs everywhere and still uses 256-bit FMA where it exists (measured gains:
// docs/perf-history.md, "Design measurements behind the code").
//
// Include this after every standard and system header: the target pragma must not reach
// inline functions and templates of the standard library, whose out-of-line copies are shared
// (COMDAT) between both variants and so must stay baseline code.
#pragma once

#if defined(GSR_CPU_AVX2)
#if !defined(__GNUC__) || defined(__clang__) || !defined(__x86_64__)
#error "GSR_CPU_AVX2 needs GCC on x86-64 (#pragma GCC target)"
#endif
#pragma GCC target("avx2,fma")
#define GSR_CPU_NS cpu_avx2
#else
#define GSR_CPU_NS cpu
#endif
