// AVX-512F micro-kernel: 12 x 32 register tile (24 zmm accumulators, 2 for B, broadcasts of A
// folded into the FMAs as memory operands). Compiled with -mavx512f; used only when
// cpu_features().avx512f.
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "pack_impl.h"

namespace {

constexpr int MR = 12;
constexpr int NR = 32;

void ukernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    c0[i] = _mm512_setzero_ps();
    c1[i] = _mm512_setzero_ps();
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * NR), _MM_HINT_T0);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    a += MR;
    b += NR;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, c0[i]));
      _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, c1[i]));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      float* ci = c + i * ldc;
      // alpha*AB and beta*C rounded separately, as the driver's edge-tile path does: every element
      // gets the same arithmetic whichever tile (and so whichever thread split) computed it.
      _mm512_storeu_ps(ci, _mm512_add_ps(_mm512_mul_ps(va, c0[i]), _mm512_mul_ps(vb, _mm512_loadu_ps(ci))));
      _mm512_storeu_ps(ci + 16, _mm512_add_ps(_mm512_mul_ps(va, c1[i]), _mm512_mul_ps(vb, _mm512_loadu_ps(ci + 16))));
    }
  }
}

void pack_a(int64_t mc, int64_t kc, const float* a, int64_t lda, bool trans, float* dst) {
  pack_a_impl<MR>(mc, kc, a, lda, trans, dst);
}
void pack_b(int64_t kc, int64_t nc, const float* b, int64_t ldb, bool trans, float* dst) {
  pack_b_impl<NR>(kc, nc, b, ldb, trans, dst);
}

const ft::KernelSet kSet = {"own-avx512", MR, NR, 12 * 12, 256, 2048, ukernel, pack_a, pack_b};

}  // namespace

const ft::KernelSet* ft::kernels_avx512() { return &kSet; }
#else
const ft::KernelSet* ft::kernels_avx512() { return nullptr; }
#endif
