#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "thread_pool.h"
#include "vmath.h"

namespace ft {

namespace {

// Ranges below this many elements run on the calling thread.
constexpr int64_t kGrain = 32768;

// ------------------------------------------------------------------------------------------------
// Binary

template <BinaryOp OP>
struct Bin;
template <>
struct Bin<BinaryOp::kAdd> {
  using Out = float;
  static float f(float a, float b) { return a + b; }
};
template <>
struct Bin<BinaryOp::kSub> {
  using Out = float;
  static float f(float a, float b) { return a - b; }
};
template <>
struct Bin<BinaryOp::kMul> {
  using Out = float;
  static float f(float a, float b) { return a * b; }
};
template <>
struct Bin<BinaryOp::kDiv> {
  using Out = float;
  static float f(float a, float b) { return a / b; }
};
// Math.max / Math.min: NaN wins; +0 is larger than -0.
template <>
struct Bin<BinaryOp::kMax> {
  using Out = float;
  static float f(float a, float b) {
    if (a != a || b != b) return std::numeric_limits<float>::quiet_NaN();
    if (a == b) return std::signbit(a) ? b : a;
    return a > b ? a : b;
  }
};
template <>
struct Bin<BinaryOp::kMin> {
  using Out = float;
  static float f(float a, float b) {
    if (a != a || b != b) return std::numeric_limits<float>::quiet_NaN();
    if (a == b) return std::signbit(a) ? a : b;
    return a < b ? a : b;
  }
};
// (a - b)^2 in double, rounded once, as JS computes it.
template <>
struct Bin<BinaryOp::kSquaredDiff> {
  using Out = float;
  static float f(float a, float b) {
    const double d = static_cast<double>(a) - static_cast<double>(b);
    return static_cast<float>(d * d);
  }
};
// Math.pow in double, rounded once (libm pow may differ from V8's in the last bit of the double,
// which almost never survives the rounding to float32).
template <>
struct Bin<BinaryOp::kPow> {
  using Out = float;
  static float f(float a, float b) { return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b))); }
};
template <>
struct Bin<BinaryOp::kGreater> {
  using Out = uint8_t;
  static uint8_t f(float a, float b) { return a > b; }
};
template <>
struct Bin<BinaryOp::kGreaterEqual> {
  using Out = uint8_t;
  static uint8_t f(float a, float b) { return a >= b; }
};
template <>
struct Bin<BinaryOp::kLess> {
  using Out = uint8_t;
  static uint8_t f(float a, float b) { return a < b; }
};
template <>
struct Bin<BinaryOp::kLessEqual> {
  using Out = uint8_t;
  static uint8_t f(float a, float b) { return a <= b; }
};
template <>
struct Bin<BinaryOp::kEqual> {
  using Out = uint8_t;
  static uint8_t f(float a, float b) { return a == b; }
};
template <>
struct Bin<BinaryOp::kNotEqual> {
  using Out = uint8_t;
  static uint8_t f(float a, float b) { return a != b; }
};

// Broadcast layout after merging dimensions: dims[d] with element strides of a and b (0 where
// broadcast). The innermost dim is dims.back().
struct Layout {
  std::vector<int64_t> dims, sa, sb;
};

Layout broadcast_layout(const std::vector<int64_t>& a_shape, const std::vector<int64_t>& b_shape,
                        const std::vector<int64_t>& out_shape) {
  const size_t rank = out_shape.size();
  std::vector<int64_t> ad(rank, 1), bd(rank, 1);
  std::copy(a_shape.begin(), a_shape.end(), ad.begin() + (rank - a_shape.size()));
  std::copy(b_shape.begin(), b_shape.end(), bd.begin() + (rank - b_shape.size()));
  // Merge adjacent dims with the same broadcast pattern; drop size-1 output dims.
  std::vector<int64_t> dims;
  std::vector<bool> a_bc, b_bc;
  for (size_t d = 0; d < rank; d++) {
    if (out_shape[d] == 1) continue;
    const bool abc = ad[d] == 1, bbc = bd[d] == 1;
    if (!dims.empty() && a_bc.back() == abc && b_bc.back() == bbc) {
      dims.back() *= out_shape[d];
    } else {
      dims.push_back(out_shape[d]);
      a_bc.push_back(abc);
      b_bc.push_back(bbc);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    a_bc.push_back(false);
    b_bc.push_back(false);
  }
  Layout l;
  l.dims = dims;
  l.sa.assign(dims.size(), 0);
  l.sb.assign(dims.size(), 0);
  int64_t sa = 1, sb = 1;
  for (size_t d = dims.size(); d-- > 0;) {
    l.sa[d] = a_bc[d] ? 0 : sa;
    l.sb[d] = b_bc[d] ? 0 : sb;
    if (!a_bc[d]) sa *= dims[d];
    if (!b_bc[d]) sb *= dims[d];
  }
  return l;
}

template <BinaryOp OP>
void binary_run(const float* a, const float* b, void* out_ptr, const Layout& l) {
  using T = Bin<OP>;
  using Out = typename T::Out;
  Out* out = static_cast<Out*>(out_ptr);
  const size_t q = l.dims.size();
  const int64_t inner = l.dims[q - 1];
  const int64_t isa = l.sa[q - 1], isb = l.sb[q - 1];
  int64_t total = 1;
  for (int64_t d : l.dims) total *= d;
  parallel_ranges(total, kGrain, [&](int64_t begin, int64_t end) {
    int64_t s = begin;
    while (s < end) {
      int64_t row = s / inner;
      const int64_t j = s % inner;
      // Offsets of this row from its multi-index over the outer dims.
      int64_t ao = 0, bo = 0;
      for (size_t d = q - 1; d-- > 0;) {
        const int64_t idx = row % l.dims[d];
        row /= l.dims[d];
        ao += idx * l.sa[d];
        bo += idx * l.sb[d];
      }
      const int64_t len = std::min(inner - j, end - s);
      Out* o = out + s;
      const float* ap = a + ao + j * isa;
      const float* bp = b + bo + j * isb;
      // Specialised inner loops so the compiler vectorises the contiguous cases.
      if (isa == 1 && isb == 1) {
        for (int64_t i = 0; i < len; i++) o[i] = T::f(ap[i], bp[i]);
      } else if (isa == 1) {
        const float bv = *bp;
        for (int64_t i = 0; i < len; i++) o[i] = T::f(ap[i], bv);
      } else if (isb == 1) {
        const float av = *ap;
        for (int64_t i = 0; i < len; i++) o[i] = T::f(av, bp[i]);
      } else {
        const Out v = T::f(*ap, *bp);
        for (int64_t i = 0; i < len; i++) o[i] = v;
      }
      s += len;
    }
  });
}

// ------------------------------------------------------------------------------------------------
// Unary

inline float unary_one(UnaryOp op, float x, float alpha) {
  const double d = x;
  switch (op) {
    case UnaryOp::kNeg:
      return -x;
    case UnaryOp::kExp:
      return static_cast<float>(std::exp(d));
    case UnaryOp::kLog:
      return static_cast<float>(std::log(d));
    case UnaryOp::kSqrt:
      return std::sqrt(x);
    case UnaryOp::kRsqrt:
      return static_cast<float>(1.0 / std::sqrt(d));
    case UnaryOp::kSquare:
      return x * x;
    case UnaryOp::kAbs:
      return std::fabs(x);
    case UnaryOp::kErf:
      // Exact erf (the tfjs cpu kernel uses a 1.5e-7 approximation; PyTorch uses erf).
      return static_cast<float>(std::erf(d));
    case UnaryOp::kTanh:
      return static_cast<float>(std::tanh(d));
    case UnaryOp::kReciprocal:
      return 1.0f / x;
    case UnaryOp::kRelu:
      return x != x ? x : (x > 0 ? x : 0.0f);
    case UnaryOp::kSigmoid:
      return static_cast<float>(1.0 / (1.0 + std::exp(-d)));
    case UnaryOp::kExpm1:
      return static_cast<float>(std::expm1(d));
    case UnaryOp::kLog1p:
      return static_cast<float>(std::log1p(d));
    case UnaryOp::kSign:
      return x < 0 ? -1.0f : (x > 0 ? 1.0f : 0.0f);  // NaN gives 0, as in the cpu kernel
    case UnaryOp::kRelu6:
      return x != x ? x : (x > 0 ? std::min(x, 6.0f) : 0.0f);  // -0 gives +0, as Math.max(0, -0)
    case UnaryOp::kElu:
      return x >= 0 ? x : static_cast<float>(std::exp(d) - 1.0);
    case UnaryOp::kStep:
      return x != x ? x : (x > 0 ? 1.0f : alpha);
  }
  return x;
}

template <UnaryOp OP>
void unary_run(const float* x, float* out, int64_t n, float alpha) {
  // The transcendental functions most used in training run on the vectorised float math.
  void (*vec)(const float*, float*, int64_t) = nullptr;
  const MathKernels& mk = math_kernels();
  if (OP == UnaryOp::kExp) vec = mk.exp;
  if (OP == UnaryOp::kErf) vec = mk.erf;
  if (OP == UnaryOp::kTanh) vec = mk.tanh;
  if (OP == UnaryOp::kSigmoid) vec = mk.sigmoid;
  if (vec) {
    parallel_ranges(n, kGrain, [&](int64_t begin, int64_t end) { vec(x + begin, out + begin, end - begin); });
    return;
  }
  parallel_ranges(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) out[i] = unary_one(OP, x[i], alpha);
  });
}

}  // namespace

// --------------------------------------------------------------------------------------------------

bool parse_binary_op(const std::string& n, BinaryOp* op) {
  static const struct {
    const char* name;
    BinaryOp op;
  } table[] = {{"Add", BinaryOp::kAdd},
               {"Sub", BinaryOp::kSub},
               {"Multiply", BinaryOp::kMul},
               {"RealDiv", BinaryOp::kDiv},
               {"Maximum", BinaryOp::kMax},
               {"Minimum", BinaryOp::kMin},
               {"SquaredDifference", BinaryOp::kSquaredDiff},
               {"Pow", BinaryOp::kPow},
               {"Greater", BinaryOp::kGreater},
               {"GreaterEqual", BinaryOp::kGreaterEqual},
               {"Less", BinaryOp::kLess},
               {"LessEqual", BinaryOp::kLessEqual},
               {"Equal", BinaryOp::kEqual},
               {"NotEqual", BinaryOp::kNotEqual}};
  for (const auto& e : table) {
    if (n == e.name) {
      *op = e.op;
      return true;
    }
  }
  return false;
}

bool parse_unary_op(const std::string& n, UnaryOp* op) {
  static const struct {
    const char* name;
    UnaryOp op;
  } table[] = {{"Neg", UnaryOp::kNeg},       {"Exp", UnaryOp::kExp},         {"Log", UnaryOp::kLog},
               {"Sqrt", UnaryOp::kSqrt},     {"Rsqrt", UnaryOp::kRsqrt},     {"Square", UnaryOp::kSquare},
               {"Abs", UnaryOp::kAbs},       {"Erf", UnaryOp::kErf},         {"Tanh", UnaryOp::kTanh},
               {"Reciprocal", UnaryOp::kReciprocal}, {"Relu", UnaryOp::kRelu}, {"Sigmoid", UnaryOp::kSigmoid},
               {"Expm1", UnaryOp::kExpm1},   {"Log1p", UnaryOp::kLog1p},     {"Sign", UnaryOp::kSign},
               {"Relu6", UnaryOp::kRelu6},   {"Elu", UnaryOp::kElu},         {"Step", UnaryOp::kStep}};
  for (const auto& e : table) {
    if (n == e.name) {
      *op = e.op;
      return true;
    }
  }
  return false;
}

bool parse_reduce_op(const std::string& n, ReduceOp* op) {
  if (n == "Sum") *op = ReduceOp::kSum;
  else if (n == "Mean") *op = ReduceOp::kMean;
  else if (n == "Max") *op = ReduceOp::kMax;
  else if (n == "Min") *op = ReduceOp::kMin;
  else return false;
  return true;
}

bool binary_op_is_comparison(BinaryOp op) {
  switch (op) {
    case BinaryOp::kGreater:
    case BinaryOp::kGreaterEqual:
    case BinaryOp::kLess:
    case BinaryOp::kLessEqual:
    case BinaryOp::kEqual:
    case BinaryOp::kNotEqual:
      return true;
    default:
      return false;
  }
}

void binary(BinaryOp op, const float* a, const std::vector<int64_t>& a_shape, const float* b,
            const std::vector<int64_t>& b_shape, void* out, const std::vector<int64_t>& out_shape) {
  for (int64_t d : out_shape)
    if (d == 0) return;
  const Layout l = broadcast_layout(a_shape, b_shape, out_shape);
  switch (op) {
#define FT_CASE(X)      \
  case BinaryOp::X:     \
    binary_run<BinaryOp::X>(a, b, out, l); \
    break;
    FT_CASE(kAdd)
    FT_CASE(kSub)
    FT_CASE(kMul)
    FT_CASE(kDiv)
    FT_CASE(kMax)
    FT_CASE(kMin)
    FT_CASE(kSquaredDiff)
    FT_CASE(kPow)
    FT_CASE(kGreater)
    FT_CASE(kGreaterEqual)
    FT_CASE(kLess)
    FT_CASE(kLessEqual)
    FT_CASE(kEqual)
    FT_CASE(kNotEqual)
#undef FT_CASE
  }
}

void unary(UnaryOp op, const float* x, float* out, int64_t n, float alpha) {
  switch (op) {
#define FT_CASE(X)                         \
  case UnaryOp::X:                         \
    unary_run<UnaryOp::X>(x, out, n, alpha); \
    break;
    FT_CASE(kNeg)
    FT_CASE(kExp)
    FT_CASE(kLog)
    FT_CASE(kSqrt)
    FT_CASE(kRsqrt)
    FT_CASE(kSquare)
    FT_CASE(kAbs)
    FT_CASE(kErf)
    FT_CASE(kTanh)
    FT_CASE(kReciprocal)
    FT_CASE(kRelu)
    FT_CASE(kSigmoid)
    FT_CASE(kExpm1)
    FT_CASE(kLog1p)
    FT_CASE(kSign)
    FT_CASE(kRelu6)
    FT_CASE(kElu)
    FT_CASE(kStep)
#undef FT_CASE
  }
}

void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t r, int64_t inner) {
  const int64_t outputs = outer * inner;
  if (outputs == 0) return;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (r == 0) {
    const float v = op == ReduceOp::kSum ? 0.0f : nan;
    std::fill(out, out + outputs, v);
    return;
  }
  const bool is_sum = op == ReduceOp::kSum || op == ReduceOp::kMean;
  if (inner == 1) {
    // Each output reduces a contiguous run of r values.
    parallel_ranges(outer, std::max<int64_t>(1, kGrain / r), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; o++) {
        const float* p = x + o * r;
        if (is_sum) {
          double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          int64_t j = 0;
          for (; j + 4 <= r; j += 4) {
            s0 += p[j];
            s1 += p[j + 1];
            s2 += p[j + 2];
            s3 += p[j + 3];
          }
          for (; j < r; j++) s0 += p[j];
          const double s = (s0 + s1) + (s2 + s3);
          out[o] = static_cast<float>(op == ReduceOp::kMean ? s / static_cast<double>(r) : s);
        } else {
          float m = p[0];
          for (int64_t j = 0; j < r; j++) {
            const float v = p[j];
            if (v != v || (op == ReduceOp::kMax ? v > m : v < m)) m = v;
          }
          out[o] = m;
        }
      }
    });
    return;
  }
  // Outputs are columns: accumulate rows of `inner` values. Parallel over (outer, column block).
  constexpr int64_t kBlock = 1024;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_ranges(outer * blocks, std::max<int64_t>(1, kGrain / (r * kBlock)), [&](int64_t begin, int64_t end) {
    double acc[kBlock];
    for (int64_t t = begin; t < end; t++) {
      const int64_t o = t / blocks;
      const int64_t c0 = (t % blocks) * kBlock;
      const int64_t w = std::min(kBlock, inner - c0);
      const float* base = x + o * r * inner + c0;
      float* dst = out + o * inner + c0;
      if (is_sum) {
        for (int64_t i = 0; i < w; i++) acc[i] = 0.0;
        for (int64_t j = 0; j < r; j++) {
          const float* row = base + j * inner;
          for (int64_t i = 0; i < w; i++) acc[i] += row[i];
        }
        if (op == ReduceOp::kMean) {
          for (int64_t i = 0; i < w; i++) dst[i] = static_cast<float>(acc[i] / static_cast<double>(r));
        } else {
          for (int64_t i = 0; i < w; i++) dst[i] = static_cast<float>(acc[i]);
        }
      } else {
        for (int64_t i = 0; i < w; i++) dst[i] = base[i];
        for (int64_t j = 0; j < r; j++) {
          const float* row = base + j * inner;
          for (int64_t i = 0; i < w; i++) {
            const float v = row[i];
            if (v != v || (op == ReduceOp::kMax ? v > dst[i] : v < dst[i])) dst[i] = v;
          }
        }
      }
    }
  });
}

void softmax(const float* x, float* out, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  const MathKernels& mk = math_kernels();
  parallel_ranges(rows, std::max<int64_t>(1, kGrain / cols), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; row++) {
      const float* p = x + row * cols;
      float* o = out + row * cols;
      // As the tfjs cpu kernel: max, exp(x - max) (vectorised float exp, within 2 ulp), sum
      // (double, rounded to float), then e / sum.
      float m = p[0];
      for (int64_t j = 0; j < cols; j++)
        if (p[j] != p[j] || p[j] > m) m = p[j];
      mk.exp_shift(p, m, o, cols);
      double s = 0;
      for (int64_t j = 0; j < cols; j++) s += o[j];
      const float sf = static_cast<float>(s);
      for (int64_t j = 0; j < cols; j++) o[j] = o[j] / sf;
    }
  });
}

void transpose32(const uint32_t* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& perm,
                 uint32_t* out) {
  const size_t rank = shape.size();
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  if (total == 0) return;
  // Input strides, then merge output dims that are consecutive in the input too.
  std::vector<int64_t> in_stride(rank, 1);
  for (size_t d = rank; d-- > 1;) in_stride[d - 1] = in_stride[d] * shape[d];
  std::vector<int64_t> dims, strides;  // output dims (outermost first) and their input strides
  for (size_t i = 0; i < rank; i++) {
    const int64_t p = perm[i];
    if (shape[p] == 1) continue;
    if (!dims.empty() && strides.back() == in_stride[p] * shape[p]) {
      dims.back() *= shape[p];
      strides.back() = in_stride[p];
    } else {
      dims.push_back(shape[p]);
      strides.push_back(in_stride[p]);
    }
  }
  if (dims.empty()) {
    out[0] = x[0];
    return;
  }
  const size_t q = dims.size();
  if (q == 1) {
    std::memcpy(out, x, static_cast<size_t>(total) * 4);
    return;
  }
  const int64_t inner = dims[q - 1];
  const int64_t inner_stride = strides[q - 1];
  if (inner_stride == 1) {
    // The innermost output run is contiguous in the input: copy runs.
    const int64_t runs = total / inner;
    parallel_ranges(runs, std::max<int64_t>(1, kGrain / inner), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; r++) {
        int64_t rem = r, off = 0;
        for (size_t d = q - 1; d-- > 0;) {
          off += (rem % dims[d]) * strides[d];
          rem /= dims[d];
        }
        std::memcpy(out + r * inner, x + off, static_cast<size_t>(inner) * 4);
      }
    });
    return;
  }
  // Find the output dim that reads the input contiguously (stride 1): tile it against the
  // innermost output dim so both reads and writes stay within cache lines.
  size_t cdim = q;
  for (size_t d = 0; d + 1 < q; d++)
    if (strides[d] == 1) cdim = d;
  if (cdim == q) {
    // No contiguous input dim among the outer ones (rare): strided gather per output run.
    const int64_t runs = total / inner;
    parallel_ranges(runs, std::max<int64_t>(1, kGrain / inner), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; r++) {
        int64_t rem = r, off = 0;
        for (size_t d = q - 1; d-- > 0;) {
          off += (rem % dims[d]) * strides[d];
          rem /= dims[d];
        }
        uint32_t* o = out + r * inner;
        for (int64_t i = 0; i < inner; i++) o[i] = x[off + i * inner_stride];
      }
    });
    return;
  }
  // Output strides.
  std::vector<int64_t> out_stride(q, 1);
  for (size_t d = q - 1; d-- > 0;) out_stride[d] = out_stride[d + 1] * dims[d + 1];
  // Iterate over all output dims except cdim and the innermost; for each, transpose a
  // dims[cdim] x inner block in 32 x 32 tiles.
  const int64_t rows = dims[cdim];
  const int64_t rows_out_stride = out_stride[cdim];
  int64_t outer = total / (rows * inner);
  constexpr int64_t T = 32;
  const int64_t row_tiles = (rows + T - 1) / T, col_tiles = (inner + T - 1) / T;
  parallel_ranges(outer * row_tiles * col_tiles, std::max<int64_t>(1, kGrain / (T * T)), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; t++) {
      int64_t o = t / (row_tiles * col_tiles);
      const int64_t rt = (t / col_tiles) % row_tiles, ct = t % col_tiles;
      int64_t in_off = 0, out_off = 0;
      for (size_t d = q - 1; d-- > 0;) {
        if (d == cdim) continue;
        const int64_t idx = o % dims[d];
        o /= dims[d];
        in_off += idx * strides[d];
        out_off += idx * out_stride[d];
      }
      const int64_t r0 = rt * T, r1 = std::min(rows, r0 + T);
      const int64_t c0 = ct * T, c1 = std::min(inner, c0 + T);
      for (int64_t r = r0; r < r1; r++) {
        uint32_t* dst = out + out_off + r * rows_out_stride;
        const uint32_t* src = x + in_off + r;  // strides[cdim] == 1
        for (int64_t c = c0; c < c1; c++) dst[c] = src[c * inner_stride];
      }
    }
  });
}

int64_t gather_rows32(const uint32_t* x, int64_t rows, int64_t row_size, const int32_t* indices, int64_t count,
                      uint32_t* out) {
  for (int64_t i = 0; i < count; i++)
    if (indices[i] < 0 || indices[i] >= rows) return i;
  parallel_ranges(count, std::max<int64_t>(1, kGrain / std::max<int64_t>(row_size, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++)
      std::memcpy(out + i * row_size, x + static_cast<int64_t>(indices[i]) * row_size, static_cast<size_t>(row_size) * 4);
  });
  return -1;
}

}  // namespace ft
