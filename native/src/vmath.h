// Vectorisable float32 math for the memory-bound kernels: exp, erf, tanh and the loops built on
// them (GELU, softmax rows, sigmoid, dropout). The same source is compiled once per instruction
// set (vmath_generic.cc, vmath_avx2.cc, vmath_avx512.cc) and picked at run time; with
// -ffp-contract=off every build computes bit-identical results, only wider.
//
// Accuracy, checked by test/native/elementwise.test.ts over dense sweeps against float64: exp
// within 1 ulp, tanh and sigmoid within 2 ulp, erf within 1.5e-7 absolute (the tfjs cpu kernel's
// approximation is within 1.5e-7; PyTorch's erf is exact).
#pragma once

#include <cstdint>

namespace ft {

struct MathKernels {
  const char* name;
  void (*exp)(const float* x, float* y, int64_t n);
  void (*erf)(const float* x, float* y, int64_t n);
  void (*tanh)(const float* x, float* y, int64_t n);
  void (*sigmoid)(const float* x, float* y, int64_t n);
  // y = exp(x - shift)
  void (*exp_shift)(const float* x, float shift, float* y, int64_t n);
  // GELU forward and backward; tanh_form: 0 = erf (exact GELU), 1 = tanh approximation.
  void (*gelu)(const float* x, float* y, int64_t n, int tanh_form);
  void (*gelu_grad)(const float* dy, const float* x, float* dx, int64_t n, int tanh_form);
  // y[i] = keep(first + i) ? x[i] * scale : 0, keep(j) = dropout_uniform(key, j) >= rate
  void (*dropout)(const float* x, float* y, int64_t n, uint64_t first, uint32_t key, float rate, float scale);
};

// The active set: the widest this CPU runs, unless select_math_kernels chose another.
const MathKernels& math_kernels();
// Chooses a set by name ("avx512", "avx2", "generic", or "auto"); false when this build or CPU
// lacks it. For tests: every set computes bit-identical results.
bool select_math_kernels(const char* name);

// The uniform number in [0, 1) (24 bits) that dropout draws for element j under `key`.
float dropout_uniform32(uint32_t key, uint64_t j);
// The 32-bit key dropout derives from a 53-bit seed.
uint32_t dropout_key(uint64_t seed);

const MathKernels* math_kernels_generic();
const MathKernels* math_kernels_avx2();    // nullptr when not built for this architecture
const MathKernels* math_kernels_avx512();  // nullptr when not built for this architecture

}  // namespace ft
