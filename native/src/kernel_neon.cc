// AArch64 NEON micro-kernel: 8 x 12 register tile (24 q-register accumulators, FMA by lane).
// NEON is part of the AArch64 baseline, so no special compiler flags are needed.
#include "kernels.h"

#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>

#include "pack_impl.h"

namespace {

constexpr int MR = 8;
constexpr int NR = 12;

void ukernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  float32x4_t acc[MR][3];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < 3; j++) acc[i][j] = vdupq_n_f32(0.0f);
  for (int64_t k = 0; k < kc; k++) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
#define FT_ROW(i, av, lane)                                 \
  acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, av, lane);     \
  acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, av, lane);     \
  acc[i][2] = vfmaq_laneq_f32(acc[i][2], b2, av, lane);
    FT_ROW(0, a0, 0) FT_ROW(1, a0, 1) FT_ROW(2, a0, 2) FT_ROW(3, a0, 3)
    FT_ROW(4, a1, 0) FT_ROW(5, a1, 1) FT_ROW(6, a1, 2) FT_ROW(7, a1, 3)
#undef FT_ROW
    a += MR;
    b += NR;
  }
  const float32x4_t va = vdupq_n_f32(alpha);
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    for (int j = 0; j < 3; j++) {
      float32x4_t r = vmulq_f32(va, acc[i][j]);
      // Rounded as the driver's edge-tile path (see kernel_avx512.cc).
      if (beta != 0.0f) r = vaddq_f32(r, vmulq_n_f32(vld1q_f32(ci + 4 * j), beta));
      vst1q_f32(ci + 4 * j, r);
    }
  }
}

void pack_a(int64_t mc, int64_t kc, const float* a, int64_t lda, bool trans, float* dst) {
  pack_a_impl<MR>(mc, kc, a, lda, trans, dst);
}
void pack_b(int64_t kc, int64_t nc, const float* b, int64_t ldb, bool trans, float* dst) {
  pack_b_impl<NR>(kc, nc, b, ldb, trans, dst);
}

const ft::KernelSet kSet = {"own-neon", MR, NR, 8 * 16, 256, 1536, ukernel, pack_a, pack_b};

}  // namespace

const ft::KernelSet* ft::kernels_neon() { return &kSet; }
#else
const ft::KernelSet* ft::kernels_neon() { return nullptr; }
#endif
