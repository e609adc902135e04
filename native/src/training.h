// Kernels for the optimizer and the embedding gradient: an in-place AdamW step exactly as the
// engine's JavaScript reference computes it, a deterministic sum of squares (gradient norm), and
// a one-pass unsorted segment sum.
#pragma once

#include <cstdint>

namespace ft {

struct AdamWArgs {
  double decay;      // 1 - lr * weight_decay
  double beta1, beta2;
  double step_size;  // lr / (1 - beta1^step)
  double bc2_sqrt;   // sqrt(1 - beta2^step)
  double eps;
  double grad_scale;  // clip coefficient
};

// p, m, v updated in place from g, in double per element and stored as float32 (bit-identical
// to adamwUpdateJs in src/main/engine/optimizer.ts).
void adamw(float* p, const float* g, float* m, float* v, int64_t n, const AdamWArgs& a);

// sum of x[i]^2 in double; the same value for any thread count (fixed chunks, summed in order).
double sum_squares(const float* x, int64_t n);

// out[ids[i], :] += x[i, :] over rows of row_size floats (out zeroed first); ids outside
// [0, segments) are skipped. Deterministic (each output column is summed in row order).
void segment_sum(const float* x, int64_t rows, int64_t row_size, const int32_t* ids, int64_t segments, float* out);

}  // namespace ft
