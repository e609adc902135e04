// Packing routines shared by the kernel files. Everything here has internal linkage (anonymous
// namespace): each kernel file compiles its own copy with its own instruction set, and no
// AVX-512 instantiation can be picked by the linker for code that runs on an older CPU.
#pragma once

#include <cstdint>
#include <cstring>

namespace {

template <int MR>
void pack_a_impl(int64_t mc, int64_t kc, const float* a, int64_t lda, bool trans, float* dst) {
  for (int64_t p = 0; p < mc; p += MR) {
    const int64_t rows = mc - p < MR ? mc - p : MR;
    if (!trans) {
      // Rows of A are contiguous along k: a small transpose per panel.
      const float* src[MR];
      for (int i = 0; i < MR; i++) src[i] = a + (p + (i < rows ? i : 0)) * lda;
      if (rows == MR) {
        for (int64_t k = 0; k < kc; k++) {
          for (int i = 0; i < MR; i++) dst[k * MR + i] = src[i][k];
        }
      } else {
        for (int64_t k = 0; k < kc; k++) {
          for (int i = 0; i < MR; i++) dst[k * MR + i] = i < rows ? src[i][k] : 0.0f;
        }
      }
    } else {
      const float* s = a + p;
      if (rows == MR) {
        for (int64_t k = 0; k < kc; k++) std::memcpy(dst + k * MR, s + k * lda, sizeof(float) * MR);
      } else {
        for (int64_t k = 0; k < kc; k++) {
          for (int i = 0; i < MR; i++) dst[k * MR + i] = i < rows ? s[k * lda + i] : 0.0f;
        }
      }
    }
    dst += MR * kc;
  }
}

template <int NR>
void pack_b_impl(int64_t kc, int64_t nc, const float* b, int64_t ldb, bool trans, float* dst) {
  for (int64_t q = 0; q < nc; q += NR) {
    const int64_t cols = nc - q < NR ? nc - q : NR;
    if (!trans) {
      const float* s = b + q;
      if (cols == NR) {
        for (int64_t k = 0; k < kc; k++) std::memcpy(dst + k * NR, s + k * ldb, sizeof(float) * NR);
      } else {
        for (int64_t k = 0; k < kc; k++) {
          for (int j = 0; j < NR; j++) dst[k * NR + j] = j < cols ? s[k * ldb + j] : 0.0f;
        }
      }
    } else {
      // Rows of the stored B are columns of op(B), contiguous along k.
      const float* src[NR];
      for (int j = 0; j < NR; j++) src[j] = b + (q + (j < cols ? j : 0)) * ldb;
      if (cols == NR) {
        for (int64_t k = 0; k < kc; k++) {
          for (int j = 0; j < NR; j++) dst[k * NR + j] = src[j][k];
        }
      } else {
        for (int64_t k = 0; k < kc; k++) {
          for (int j = 0; j < NR; j++) dst[k * NR + j] = j < cols ? src[j][k] : 0.0f;
        }
      }
    }
    dst += NR * kc;
  }
}

}  // namespace
