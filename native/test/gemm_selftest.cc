// Stand-alone check of the GEMM library without Node: every own kernel this CPU runs (and the
// BLAS, when found) against a double-precision reference, on odd shapes, all transposes,
// alpha/beta, batches and several thread counts. Used to test kernels on other architectures
// (e.g. the NEON kernel built with aarch64-linux-gnu-g++ and run under qemu-aarch64) and under
// sanitizers:
//   c++ -std=c++17 -O2 -pthread -Isrc test/gemm_selftest.cc src/gemm.cc src/platform.cc \
//       src/thread_pool.cc src/blas_loader.cc src/kernel_*.cc -ldl -o gemm_selftest
// (x86-64: compile kernel_avx2.cc with -mavx2 -mfma and kernel_avx512.cc with -mavx512f -mfma.)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gemm.h"

namespace {

int failures = 0;

bool check_case(std::mt19937& rng, int64_t m, int64_t n, int64_t k, bool ta, bool tb, float alpha, float beta,
                int64_t batch, const std::string& label) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(batch * m * k)), b(static_cast<size_t>(k * n)),
      c(static_cast<size_t>(batch * m * n));
  for (auto& x : a) x = u(rng);
  for (auto& x : b) x = u(rng);
  for (auto& x : c) x = beta == 0.0f ? NAN : u(rng);
  const std::vector<float> c0 = c;
  ft::GemmCall call;
  call.trans_a = ta;
  call.trans_b = tb;
  call.m = m;
  call.n = n;
  call.k = k;
  call.alpha = alpha;
  call.beta = beta;
  call.a = a.data();
  call.b = b.data();
  call.c = c.data();
  call.batch = batch;
  for (int64_t i = 0; i < batch; i++) {
    call.a_offsets.push_back(i * m * k);
    call.b_offsets.push_back(0);  // B broadcast over the batch
  }
  const std::string err = ft::gemm_run(call);
  if (!err.empty()) {
    std::printf("FAIL %s: %s\n", label.c_str(), err.c_str());
    return false;
  }
  for (int64_t t = 0; t < batch; t++) {
    for (int64_t i = 0; i < m; i++) {
      for (int64_t j = 0; j < n; j++) {
        double s = 0, abs = 0;
        for (int64_t p = 0; p < k; p++) {
          const double av = ta ? a[t * m * k + p * m + i] : a[t * m * k + i * k + p];
          const double bv = tb ? b[j * k + p] : b[p * n + j];
          s += av * bv;
          abs += std::fabs(av * bv);
        }
        const size_t o = static_cast<size_t>(t * m * n + i * n + j);
        const double cin = beta == 0.0f ? 0.0 : c0[o];
        const double ref = alpha * s + beta * cin;
        const double bound = 2.0 * (k + 2) * std::ldexp(1.0, -24) * (std::fabs(alpha) * abs + std::fabs(beta * cin)) +
                             2 * std::ldexp(1.0, -24) * std::fabs(ref) + 1e-30;
        if (!(std::fabs(c[o] - ref) <= bound)) {
          std::printf("FAIL %s: element (%lld,%lld,%lld) got %.9g expected %.9g\n", label.c_str(),
                      static_cast<long long>(t), static_cast<long long>(i), static_cast<long long>(j), c[o], ref);
          return false;
        }
      }
    }
  }
  return true;
}

}  // namespace

int main() {
  std::vector<std::string> paths = ft::available_own_kernels();
  const ft::BlasStatus blas = ft::blas_status();
  if (blas.found) paths.insert(paths.begin(), "blas");
  std::printf("paths:");
  for (const auto& p : paths) std::printf(" %s", p.c_str());
  std::printf("%s\n", blas.found ? "" : (" (no BLAS: " + blas.why + ")").c_str());
  const int64_t sizes[] = {1, 2, 3, 7, 8, 12, 13, 17, 31, 33, 64, 65, 130, 300};
  std::mt19937 rng(1234);
  for (const auto& path : paths) {
    const std::string err = ft::select_gemm(path);
    if (!err.empty()) {
      std::printf("FAIL select %s: %s\n", path.c_str(), err.c_str());
      failures++;
      continue;
    }
    int cases = 0;
    for (int threads : {1, 3}) {
      ft::set_threads(threads);
      for (int t = 0; t < 48; t++) {
        const int64_t m = sizes[rng() % 14], n = sizes[rng() % 14], k = sizes[rng() % 14];
        const bool ta = t & 1, tb = t & 2;
        const float alpha = t % 3 ? 1.0f : -0.75f;
        const float beta = t % 4 == 0 ? 0.5f : 0.0f;
        const int64_t batch = t % 5 == 0 ? 3 : 1;
        const std::string label = path + " threads=" + std::to_string(threads) + " m=" + std::to_string(m) +
                                  " n=" + std::to_string(n) + " k=" + std::to_string(k) + " ta=" + std::to_string(ta) +
                                  " tb=" + std::to_string(tb) + " batch=" + std::to_string(batch);
        if (!check_case(rng, m, n, k, ta, tb, alpha, beta, batch, label)) failures++;
        cases++;
      }
      // Blocking boundaries: k beyond two KC blocks, n beyond NC for the NEON/scalar sets.
      if (!check_case(rng, 37, 1600, 530, false, true, 1.0f, 0.25f, 1, path + " big")) failures++;
      cases++;
    }
    std::printf("%s: %d cases\n", path.c_str(), cases);
  }
  std::printf(failures ? "FAILED: %d\n" : "all passed\n", failures);
  return failures ? 1 : 0;
}
