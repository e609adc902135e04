// Math kernels with the baseline instruction set (SSE2 on x86-64, NEON on arm64), and the
// dispatcher.
#include "vmath_impl.h"

#include <atomic>
#include <string>

#include "platform.h"

namespace {
FT_DEFINE_MATH_KERNELS("generic")
}  // namespace

namespace ft {

const MathKernels* math_kernels_generic() { return &kMathKernels; }

namespace {
const MathKernels* best_math_kernels() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && math_kernels_avx512()) return math_kernels_avx512();
  if (f.avx2_fma && math_kernels_avx2()) return math_kernels_avx2();
  return math_kernels_generic();
}
std::atomic<const MathKernels*> active{nullptr};
}  // namespace

const MathKernels& math_kernels() {
  const MathKernels* k = active.load(std::memory_order_acquire);
  if (!k) {
    k = best_math_kernels();
    active.store(k, std::memory_order_release);
  }
  return *k;
}

bool select_math_kernels(const char* name) {
  const CpuFeatures& f = cpu_features();
  const std::string n = name;
  const MathKernels* k = nullptr;
  if (n == "auto") k = best_math_kernels();
  else if (n == "generic") k = math_kernels_generic();
  else if (n == "avx2" && f.avx2_fma) k = math_kernels_avx2();
  else if (n == "avx512" && f.avx512f) k = math_kernels_avx512();
  if (!k) return false;
  active.store(k, std::memory_order_release);
  return true;
}

float dropout_uniform32(uint32_t key, uint64_t j) { return uniform24(key, j); }

uint32_t dropout_key(uint64_t seed) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<uint32_t>(z >> 32) ^ static_cast<uint32_t>(z);
}

}  // namespace ft
