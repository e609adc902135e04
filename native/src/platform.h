// CPU feature detection and core counting. No Node-API here: the GEMM library is usable from a
// plain C++ test program as well as from the addon.
#pragma once

#include <string>

namespace ft {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA3, with the OS saving YMM state
  bool avx512f = false;   // AVX-512F, with the OS saving ZMM/opmask state
  bool neon = false;      // AArch64 Advanced SIMD (always present on arm64)
};

const CpuFeatures& cpu_features();

// Threads to use by default: physical cores available to this process (affinity mask and a
// cgroup CPU quota respected), at least 1. FINETUNE_THREADS is applied by the caller.
int default_thread_count();

// One line describing how default_thread_count() was found, for info().
std::string thread_count_source();

}  // namespace ft
