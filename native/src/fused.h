// Fused forward/backward kernels for the transformer blocks: GELU (erf and tanh forms), layer
// norm, the softmax gradient and dropout. One pass over memory each, where the same math as tfjs
// ops takes 5 to 15 kernels. All computed in double per element (or per row) and stored float32.
#pragma once

#include <cstdint>

namespace ft {

enum class GeluKind { kErf, kTanh };

void gelu_forward(const float* x, float* y, int64_t n, GeluKind kind);
// dx = dy * gelu'(x)
void gelu_backward(const float* dy, const float* x, float* dx, int64_t n, GeluKind kind);

// Per row of x [rows, cols]: y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps) with
// the biased variance (torch.nn.LayerNorm).
void layer_norm_forward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t cols, double eps,
                        float* y);
// dx, and dgamma/dbeta summed over rows (deterministic: fixed row chunks summed in order). The row
// statistics are recomputed from x (one more read of x, and no saved tensors to manage).
void layer_norm_backward(const float* dy, const float* x, const float* gamma, int64_t rows, int64_t cols, double eps,
                         float* dx, float* dgamma, float* dbeta);

// Softmax gradient over rows: dx = y * (dy - sum(dy * y)).
void softmax_backward(const float* dy, const float* y, int64_t rows, int64_t cols, float* dx);

// out[i] = x[i] * keep(i) / (1 - rate), keep(i) = uniform(seed, i) >= rate from a counter-based
// generator (vmath.h: 24-bit uniforms): the same mask for the same seed whatever the thread
// count, and the backward pass is the same call on dy.
void dropout(const float* x, float* out, int64_t n, double rate, uint64_t seed);

}  // namespace ft
