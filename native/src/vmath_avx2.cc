// Math kernels built with avx2 enabled (see vmath_impl.h); used only when the CPU has it.
#if defined(__x86_64__) || defined(_M_X64)
#include "vmath_impl.h"

namespace {
FT_DEFINE_MATH_KERNELS("avx2")
}  // namespace

const ft::MathKernels* ft::math_kernels_avx2() { return &kMathKernels; }
#else
#include "vmath.h"
const ft::MathKernels* ft::math_kernels_avx2() { return nullptr; }
#endif
