// The own SGEMM micro-kernels, one set per instruction set. Each set lives in its own source
// file compiled with that instruction set enabled (see binding.gyp); the driver picks one at run
// time from the CPU features, so the binary still runs on CPUs without AVX2 or AVX-512.
//
// Packed layouts (BLIS/GotoBLAS style):
//   A block: ceil(mc/MR) panels, panel p holds op(A)[p*MR + i][k] at [k*MR + i] (zero padded)
//   B block: ceil(nc/NR) panels, panel q holds op(B)[k][q*NR + j] at [k*NR + j] (zero padded)
#pragma once

#include <cstdint>

namespace ft {

struct KernelSet {
  const char* name;  // "own-avx512", "own-avx2", "own-neon", "own-scalar"
  int mr, nr;        // register tile
  int mc, kc, nc;    // cache blocking (mc multiple of mr, nc multiple of nr)
  // C[0:mr, 0:nr] = alpha * (A panel x B panel) + beta * C; with beta == 0, C is not read.
  void (*ukernel)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta);
  // Packs op(A)[0:mc, 0:kc]; element (i, k) is a[i*lda + k], or a[k*lda + i] when trans.
  void (*pack_a)(int64_t mc, int64_t kc, const float* a, int64_t lda, bool trans, float* dst);
  // Packs op(B)[0:kc, 0:nc]; element (k, j) is b[k*ldb + j], or b[j*ldb + k] when trans.
  void (*pack_b)(int64_t kc, int64_t nc, const float* b, int64_t ldb, bool trans, float* dst);
};

// Each returns nullptr when the set is not compiled for this architecture. The caller checks
// the CPU features before using one.
const KernelSet* kernels_avx512();
const KernelSet* kernels_avx2();
const KernelSet* kernels_neon();
const KernelSet* kernels_scalar();

}  // namespace ft
