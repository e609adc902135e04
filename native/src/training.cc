#include "training.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "thread_pool.h"

namespace ft {

void adamw(float* p, const float* g, float* m, float* v, int64_t n, const AdamWArgs& a) {
  const double one_minus_b1 = 1 - a.beta1, one_minus_b2 = 1 - a.beta2;
  parallel_ranges(n, 32768, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      // Same operations in the same order as the JavaScript reference (which computes in double).
      const double gi = static_cast<double>(g[i]) * a.grad_scale;
      const double mi = a.beta1 * static_cast<double>(m[i]) + one_minus_b1 * gi;
      const double vi = a.beta2 * static_cast<double>(v[i]) + one_minus_b2 * gi * gi;
      m[i] = static_cast<float>(mi);
      v[i] = static_cast<float>(vi);
      p[i] = static_cast<float>(static_cast<double>(p[i]) * a.decay - (a.step_size * mi) / (std::sqrt(vi) / a.bc2_sqrt + a.eps));
    }
  });
}

double sum_squares(const float* x, int64_t n) {
  constexpr int64_t kChunk = 65536;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks == 0) return 0.0;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  parallel_ranges(chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; c++) {
      const float* p = x + c * kChunk;
      const int64_t len = std::min(kChunk, n - c * kChunk);
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t i = 0;
      for (; i + 4 <= len; i += 4) {
        s0 += static_cast<double>(p[i]) * p[i];
        s1 += static_cast<double>(p[i + 1]) * p[i + 1];
        s2 += static_cast<double>(p[i + 2]) * p[i + 2];
        s3 += static_cast<double>(p[i + 3]) * p[i + 3];
      }
      for (; i < len; i++) s0 += static_cast<double>(p[i]) * p[i];
      partial[static_cast<size_t>(c)] = (s0 + s1) + (s2 + s3);
    }
  });
  double s = 0;
  for (double v : partial) s += v;
  return s;
}

void segment_sum(const float* x, int64_t rows, int64_t row_size, const int32_t* ids, int64_t segments, float* out) {
  std::memset(out, 0, static_cast<size_t>(segments * row_size) * sizeof(float));
  if (rows == 0 || row_size == 0) return;
  // Threads own disjoint column ranges, so no two write the same element.
  constexpr int64_t kCols = 64;
  const int64_t col_blocks = (row_size + kCols - 1) / kCols;
  parallel_ranges(col_blocks, std::max<int64_t>(1, 32768 / std::max<int64_t>(rows * kCols, 1)), [&](int64_t begin, int64_t end) {
    const int64_t c0 = begin * kCols, c1 = std::min(row_size, end * kCols);
    for (int64_t i = 0; i < rows; i++) {
      const int64_t s = ids[i];
      if (s < 0 || s >= segments) continue;
      const float* src = x + i * row_size;
      float* dst = out + s * row_size;
      for (int64_t c = c0; c < c1; c++) dst[c] += src[c];
    }
  });
}

}  // namespace ft
