// Included by vmath_generic.cc, vmath_avx2.cc and vmath_avx512.cc only. Internal linkage
// throughout (anonymous namespace): each includer gets its own copy built for its instruction set.
#pragma once

#include <cstdint>
#include <cstring>

#include "vmath.h"

namespace {

inline float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

// exp: Cody-Waite reduction x = n ln2 + r, a degree-6 polynomial for exp(r) (Cephes expf), and the
// scale 2^n applied as two normal powers of two so that results down in the subnormal range and up
// to overflow come out right. NaN in, NaN out.
inline float exp_f(float x) {
  const float xc = clampf(x, -104.0f, 88.8f);
  const float t = xc * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest (|t| < 2^22)
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  const float s1 = bits_to_float(static_cast<uint32_t>(n1 + 127) << 23);
  const float s2 = bits_to_float(static_cast<uint32_t>(n2 + 127) << 23);
  const float y = p * s1 * s2;
  return x != x ? x : y;
}

// erf: the odd Taylor polynomial to x^19 for |x| < 0.8 (truncation below 2e-10), and 1 - erfc(|x|)
// beyond, with erfc from the Chebyshev fit of Numerical Recipes (fractional error below 1.2e-7,
// and erfc(0.8) = 0.26). Both branches are computed and selected, so the loop vectorises.
inline float erf_f(float x) {
  const float ax = x < 0 ? -x : x;
  // 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
  const float x2 = x * x;
  float p = -1.6365844691234924e-7f;
  p = p * x2 + 1.6462114365889246e-6f;
  p = p * x2 - 1.4925650358406251e-5f;
  p = p * x2 + 1.2055332981789664e-4f;
  p = p * x2 - 8.548325929405584e-4f;
  p = p * x2 + 5.223977625442188e-3f;
  p = p * x2 - 2.6866170645131252e-2f;
  p = p * x2 + 1.1283791670955126e-1f;
  p = p * x2 - 3.7612638903183754e-1f;
  p = p * x2 + 1.1283791670955126f;
  const float small = p * x;
  // Large |x| (clamped at 10, where erf is 1 in float).
  const float z = ax < 10.0f ? ax : 10.0f;
  const float t = 1.0f / (1.0f + 0.5f * z);
  float q = 0.17087277f;
  q = q * t - 0.82215223f;
  q = q * t + 1.48851587f;
  q = q * t - 1.13520398f;
  q = q * t + 0.27886807f;
  q = q * t - 0.18628806f;
  q = q * t + 0.09678418f;
  q = q * t + 0.37409196f;
  q = q * t + 1.00002368f;
  q = q * t - 1.26551223f;
  const float erfc = t * exp_f(q - z * z);
  const float large = x < 0 ? erfc - 1.0f : 1.0f - erfc;
  const float y = ax < 0.8f ? small : large;
  return x != x ? x : y;
}

// tanh (Cephes tanhf): an odd polynomial for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) beyond (|x|
// clamped at 10, where tanh is 1 in float). Both computed and selected.
inline float tanh_f(float x) {
  const float ax = x < 0 ? -x : x;
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float e = exp_f(2.0f * (ax < 10.0f ? ax : 10.0f));
  const float big = 1.0f - 2.0f / (e + 1.0f);
  const float large = x < 0 ? -big : big;
  const float y = ax < 0.625f ? small : large;
  return (x != x || x == 0.0f) ? x : y;  // NaN, and the sign of zero, pass through
}

inline uint32_t lowbias32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}

inline float uniform24(uint32_t key, uint64_t j) {
  const uint32_t h = lowbias32(key ^ (static_cast<uint32_t>(j) * 0x9e3779b9u) ^ (static_cast<uint32_t>(j >> 32) * 0x85ebca6bu));
  return static_cast<float>(h >> 8) * (1.0f / 16777216.0f);
}

constexpr float kSqrtHalf = 0.707106781186547524f;
constexpr float kInvSqrt2Pi = 0.398942280401432678f;
constexpr float kSqrt2OverPi = 0.797884560802865356f;
constexpr float kGeluC = 0.044715f;

void v_exp(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = exp_f(x[i]);
}
void v_erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = erf_f(x[i]);
}
void v_tanh(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = tanh_f(x[i]);
}
void v_sigmoid(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp_f(-x[i]));
}
void v_exp_shift(const float* x, float shift, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = exp_f(x[i] - shift);
}
void v_gelu(const float* x, float* y, int64_t n, int tanh_form) {
  if (!tanh_form) {
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erf_f(x[i] * kSqrtHalf));
  } else {
    for (int64_t i = 0; i < n; i++) {
      const float v = x[i];
      y[i] = 0.5f * v * (1.0f + tanh_f(kSqrt2OverPi * (v + kGeluC * v * v * v)));
    }
  }
}
void v_gelu_grad(const float* dy, const float* x, float* dx, int64_t n, int tanh_form) {
  if (!tanh_form) {
    for (int64_t i = 0; i < n; i++) {
      const float v = x[i];
      const float cdf = 0.5f * (1.0f + erf_f(v * kSqrtHalf));
      const float pdf = kInvSqrt2Pi * exp_f(-0.5f * v * v);
      dx[i] = dy[i] * (cdf + v * pdf);
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      const float v = x[i];
      const float t = tanh_f(kSqrt2OverPi * (v + kGeluC * v * v * v));
      const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * v * v);
      dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
    }
  }
}
void v_dropout(const float* x, float* y, int64_t n, uint64_t first, uint32_t key, float rate, float scale) {
  for (int64_t i = 0; i < n; i++) y[i] = uniform24(key, first + static_cast<uint64_t>(i)) >= rate ? x[i] * scale : 0.0f;
}

}  // namespace

#define FT_DEFINE_MATH_KERNELS(NAME)                                                                            \
  const ft::MathKernels kMathKernels = {NAME,   v_exp,  v_erf,       v_tanh,    v_sigmoid,                         \
                                        v_exp_shift, v_gelu, v_gelu_grad, v_dropout};
