#include "fused.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "thread_pool.h"
#include "vmath.h"

namespace ft {

namespace {

constexpr int64_t kGrain = 32768;
}  // namespace

void gelu_forward(const float* x, float* y, int64_t n, GeluKind kind) {
  const MathKernels& mk = math_kernels();
  parallel_ranges(n, kGrain, [&](int64_t begin, int64_t end) { mk.gelu(x + begin, y + begin, end - begin, kind == GeluKind::kTanh); });
}

void gelu_backward(const float* dy, const float* x, float* dx, int64_t n, GeluKind kind) {
  const MathKernels& mk = math_kernels();
  parallel_ranges(n, kGrain, [&](int64_t begin, int64_t end) {
    mk.gelu_grad(dy + begin, x + begin, dx + begin, end - begin, kind == GeluKind::kTanh);
  });
}

// Mean and 1/sqrt(var + eps) of one row, two-pass in double.
inline void row_stats(const float* xr, int64_t cols, double eps, double* mu, double* rs) {
  double s = 0;
  for (int64_t j = 0; j < cols; j++) s += xr[j];
  const double m = cols ? s / static_cast<double>(cols) : 0.0;
  double ss = 0;
  for (int64_t j = 0; j < cols; j++) {
    const double d = xr[j] - m;
    ss += d * d;
  }
  const double var = cols ? ss / static_cast<double>(cols) : 0.0;
  *mu = m;
  *rs = 1.0 / std::sqrt(var + eps);
}

void layer_norm_forward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t cols, double eps,
                        float* y) {
  parallel_ranges(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      double mu, rs;
      row_stats(xr, cols, eps, &mu, &rs);
      for (int64_t j = 0; j < cols; j++)
        yr[j] = static_cast<float>((xr[j] - mu) * rs * static_cast<double>(gamma[j]) + static_cast<double>(beta[j]));
    }
  });
}

void layer_norm_backward(const float* dy, const float* x, const float* gamma, int64_t rows, int64_t cols, double eps,
                         float* dx, float* dgamma, float* dbeta) {
  // Fixed chunks of rows: each sums its dgamma/dbeta contribution, then the chunks are added in
  // order, so the result does not depend on how many threads ran them.
  constexpr int64_t kRowsPerChunk = 64;
  const int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(chunks, 1) * 2 * cols), 0.0);
  parallel_ranges(chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; c++) {
      double* pg = partial.data() + c * 2 * cols;
      double* pb = pg + cols;
      const int64_t r1 = std::min(rows, (c + 1) * kRowsPerChunk);
      for (int64_t r = c * kRowsPerChunk; r < r1; r++) {
        const float* xr = x + r * cols;
        const float* dyr = dy + r * cols;
        float* dxr = dx + r * cols;
        double mu, rs;
        row_stats(xr, cols, eps, &mu, &rs);
        double sum_g = 0, sum_gx = 0;
        for (int64_t j = 0; j < cols; j++) {
          const double xhat = (xr[j] - mu) * rs;
          const double g = static_cast<double>(dyr[j]) * gamma[j];
          sum_g += g;
          sum_gx += g * xhat;
          pg[j] += static_cast<double>(dyr[j]) * xhat;
          pb[j] += dyr[j];
        }
        const double mg = sum_g / static_cast<double>(cols), mgx = sum_gx / static_cast<double>(cols);
        for (int64_t j = 0; j < cols; j++) {
          const double xhat = (xr[j] - mu) * rs;
          const double g = static_cast<double>(dyr[j]) * gamma[j];
          dxr[j] = static_cast<float>(rs * (g - mg - xhat * mgx));
        }
      }
    }
  });
  for (int64_t j = 0; j < cols; j++) {
    double sg = 0, sb = 0;
    for (int64_t c = 0; c < chunks; c++) {
      sg += partial[static_cast<size_t>(c * 2 * cols + j)];
      sb += partial[static_cast<size_t>(c * 2 * cols + cols + j)];
    }
    dgamma[j] = static_cast<float>(sg);
    dbeta[j] = static_cast<float>(sb);
  }
}

void softmax_backward(const float* dy, const float* y, int64_t rows, int64_t cols, float* dx) {
  parallel_ranges(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      const float* dyr = dy + r * cols;
      const float* yr = y + r * cols;
      float* dxr = dx + r * cols;
      double s = 0;
      for (int64_t j = 0; j < cols; j++) s += static_cast<double>(dyr[j]) * yr[j];
      for (int64_t j = 0; j < cols; j++) dxr[j] = static_cast<float>(static_cast<double>(yr[j]) * (dyr[j] - s));
    }
  });
}

void dropout(const float* x, float* out, int64_t n, double rate, uint64_t seed) {
  const MathKernels& mk = math_kernels();
  const uint32_t key = dropout_key(seed);
  const float r = static_cast<float>(rate);
  const float scale = static_cast<float>(1.0 / (1.0 - rate));
  parallel_ranges(n, kGrain, [&](int64_t begin, int64_t end) {
    mk.dropout(x + begin, out + begin, end - begin, static_cast<uint64_t>(begin), key, r, scale);
  });
}

}  // namespace ft
