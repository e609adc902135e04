// Portable micro-kernel in plain C++ (4 x 8 tile): the fallback on CPUs without AVX2/NEON and the
// reference the SIMD kernels are tested beside. The compiler may still vectorize it with the
// baseline instruction set (SSE2 on x86-64).
#include "kernels.h"

#include "pack_impl.h"

namespace {

constexpr int MR = 4;
constexpr int NR = 8;

void ukernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      const float ai = a[i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < NR; j++) ci[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < NR; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

void pack_a(int64_t mc, int64_t kc, const float* a, int64_t lda, bool trans, float* dst) {
  pack_a_impl<MR>(mc, kc, a, lda, trans, dst);
}
void pack_b(int64_t kc, int64_t nc, const float* b, int64_t ldb, bool trans, float* dst) {
  pack_b_impl<NR>(kc, nc, b, ldb, trans, dst);
}

const ft::KernelSet kSet = {"own-scalar", MR, NR, 4 * 32, 256, 1024, ukernel, pack_a, pack_b};

}  // namespace

const ft::KernelSet* ft::kernels_scalar() { return &kSet; }
