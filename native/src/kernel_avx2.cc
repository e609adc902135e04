// AVX2 + FMA micro-kernel: 6 x 16 register tile (12 ymm accumulators). Compiled with
// -mavx2 -mfma; used only when cpu_features().avx2_fma.
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "pack_impl.h"

namespace {

constexpr int MR = 6;
constexpr int NR = 16;

void ukernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) {
    c0[i] = _mm256_setzero_ps();
    c1[i] = _mm256_setzero_ps();
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(b);
    const __m256 b1 = _mm256_load_ps(b + 8);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
    a += MR;
    b += NR;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, c0[i]));
      _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, c1[i]));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      float* ci = c + i * ldc;
      // Rounded as the driver's edge-tile path (see kernel_avx512.cc).
      _mm256_storeu_ps(ci, _mm256_add_ps(_mm256_mul_ps(va, c0[i]), _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));
      _mm256_storeu_ps(ci + 8, _mm256_add_ps(_mm256_mul_ps(va, c1[i]), _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8))));
    }
  }
}

void pack_a(int64_t mc, int64_t kc, const float* a, int64_t lda, bool trans, float* dst) {
  pack_a_impl<MR>(mc, kc, a, lda, trans, dst);
}
void pack_b(int64_t kc, int64_t nc, const float* b, int64_t ldb, bool trans, float* dst) {
  pack_b_impl<NR>(kc, nc, b, ldb, trans, dst);
}

const ft::KernelSet kSet = {"own-avx2", MR, NR, 6 * 24, 256, 2048, ukernel, pack_a, pack_b};

}  // namespace

const ft::KernelSet* ft::kernels_avx2() { return &kSet; }
#else
const ft::KernelSet* ft::kernels_avx2() { return nullptr; }
#endif
