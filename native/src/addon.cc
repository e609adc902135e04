// Node-API bindings (C API only, NAPI_VERSION 8): one binary loads in every Node >= 16 and in
// Electron's main and utility processes without a rebuild. The addon never creates external
// ArrayBuffers (Electron's V8 sandbox forbids them): JS allocates every array and C++ fills it.
//
// Exports:
//   gemm(a, aBatch, b, bBatch, c, transA, transB, m, n, k, alpha, beta,
//        bias, activation, leakyAlpha, prelu) -> undefined
//   binary(op, a, aShape, b, bShape, out, outShape), unary(op, x, out, alpha),
//   reduce(op, x, outer, r, inner, out), softmax(x, rows, cols, out),
//   transpose(x, shape, perm, out), gatherRows(x, rows, rowSize, indices, out) -> undefined
//   adamw(p, g, m, v, decay, beta1, beta2, stepSize, bc2Sqrt, eps, gradScale) -> undefined (in place)
//   sumSquares(x) -> number; segmentSum(x, rowSize, ids, numSegments, out) -> undefined
//   gelu(x, out, approximate), geluGrad(dy, x, dx, approximate),
//   layerNorm(x, gamma, beta, rows, cols, eps, y),
//   layerNormGrad(dy, x, gamma, rows, cols, eps, dx, dgamma, dbeta),
//   softmaxGrad(dy, y, rows, cols, dx), dropout(x, rate, seed, out) -> undefined
//   setMath(name) -> the vectorised math set in use (avx512, avx2, generic; info().math)
//   setGemm(mode) -> active path name (throws with the reason when unavailable)
//   setThreads(n) -> thread count
//   info() -> { version, gemm, ownKernels, blas, blasPath, blasDetail, blasError, threads,
//               defaultThreads, threadSource, arch }
#include <node_api.h>

#include <cmath>
#include <mutex>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "elementwise.h"
#include "fused.h"
#include "gemm.h"
#include "platform.h"
#include "training.h"
#include "vmath.h"

namespace {

constexpr const char* kVersion = "4";

struct Args {
  napi_env env;
  std::vector<napi_value> v;
};

bool fail(napi_env env, const std::string& msg, bool type_error = false) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    if (type_error)
      napi_throw_type_error(env, "ERR_FINETUNE_NATIVE_ARG", msg.c_str());
    else
      napi_throw_error(env, "ERR_FINETUNE_NATIVE", msg.c_str());
  }
  return false;
}

bool get_args(napi_env env, napi_callback_info info, size_t expected, Args* out) {
  size_t argc = expected;
  out->env = env;
  out->v.assign(expected, nullptr);
  if (napi_get_cb_info(env, info, &argc, out->v.data(), nullptr, nullptr) != napi_ok) return fail(env, "bad call");
  if (argc < expected) {
    return fail(env, "expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc), true);
  }
  return true;
}

bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

bool get_f32(napi_env env, napi_value v, const char* name, float** data, size_t* length) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) return fail(env, std::string(name) + " must be a Float32Array", true);
  napi_typedarray_type type;
  void* ptr = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, &ab, &offset) != napi_ok)
    return fail(env, std::string(name) + ": cannot read the typed array");
  if (type != napi_float32_array) return fail(env, std::string(name) + " must be a Float32Array", true);
  if (*length > 0 && !ptr) return fail(env, std::string(name) + " is detached", true);
  *data = static_cast<float*>(ptr);
  return true;
}

struct Typed {
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type = napi_float32_array;
};

const char* typed_name(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array:
      return "Float32Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_uint8_array:
      return "Uint8Array";
    default:
      return "a typed array";
  }
}

// A typed array of one of the allowed element types (4-byte or 1-byte: see the callers).
bool get_typed(napi_env env, napi_value v, const char* name, std::initializer_list<napi_typedarray_type> allowed,
               Typed* out) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  std::string expected;
  for (auto t : allowed) expected += std::string(expected.empty() ? "" : " or ") + typed_name(t);
  if (!is_ta) return fail(env, std::string(name) + " must be a " + expected, true);
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &ab, &offset) != napi_ok)
    return fail(env, std::string(name) + ": cannot read the typed array");
  bool ok = false;
  for (auto t : allowed) ok = ok || t == out->type;
  if (!ok) return fail(env, std::string(name) + " must be a " + expected, true);
  if (out->length > 0 && !out->data) return fail(env, std::string(name) + " is detached", true);
  return true;
}

size_t element_size(napi_typedarray_type t) { return t == napi_uint8_array ? 1 : 4; }

bool overlaps_bytes(const Typed& x, const Typed& y) {
  if (!x.length || !y.length) return false;
  const char* xs = static_cast<const char*>(x.data);
  const char* ys = static_cast<const char*>(y.data);
  return xs < ys + y.length * element_size(y.type) && ys < xs + x.length * element_size(x.type);
}

bool get_double(napi_env env, napi_value v, const char* name, double* out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number) return fail(env, std::string(name) + " must be a number", true);
  napi_get_value_double(env, v, out);
  return true;
}

bool get_dim(napi_env env, napi_value v, const char* name, int64_t* out) {
  double d;
  if (!get_double(env, v, name, &d)) return false;
  if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0)
    return fail(env, std::string(name) + " must be a non-negative integer", true);
  *out = static_cast<int64_t>(d);
  return true;
}

bool get_bool(napi_env env, napi_value v, const char* name, bool* out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_boolean) return fail(env, std::string(name) + " must be a boolean", true);
  napi_get_value_bool(env, v, out);
  return true;
}

bool get_string(napi_env env, napi_value v, const char* name, std::string* out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) return fail(env, std::string(name) + " must be a string", true);
  size_t len = 0;
  napi_get_value_string_utf8(env, v, nullptr, 0, &len);
  out->assign(len, '\0');
  napi_get_value_string_utf8(env, v, &(*out)[0], len + 1, &len);
  return true;
}

bool get_dims(napi_env env, napi_value v, const char* name, std::vector<int64_t>* out) {
  bool is_array = false;
  napi_is_array(env, v, &is_array);
  if (!is_array) return fail(env, std::string(name) + " must be an array of batch dimensions", true);
  uint32_t len = 0;
  napi_get_array_length(env, v, &len);
  if (len > 16) return fail(env, std::string(name) + " has more than 16 dimensions", true);
  out->resize(len);
  for (uint32_t i = 0; i < len; i++) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    if (!get_dim(env, e, name, &(*out)[i])) return false;
  }
  return true;
}

// Checked product; false on overflow past 2^53.
bool mul(int64_t a, int64_t b, int64_t* out) {
  const double p = static_cast<double>(a) * static_cast<double>(b);
  if (p > 9007199254740991.0) return false;
  *out = a * b;
  return true;
}

bool overlaps(const float* x, size_t xn, const float* y, size_t yn) {
  if (!xn || !yn) return false;
  return x < y + yn && y < x + xn;
}

napi_value Gemm(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 16, &args)) return nullptr;
  auto& v = args.v;
  float *a, *b, *c;
  size_t a_len, b_len, c_len;
  std::vector<int64_t> a_batch, b_batch;
  ft::GemmCall call;
  double alpha, beta, leaky;
  std::string activation;
  if (!get_f32(env, v[0], "a", &a, &a_len) || !get_dims(env, v[1], "aBatch", &a_batch) ||
      !get_f32(env, v[2], "b", &b, &b_len) || !get_dims(env, v[3], "bBatch", &b_batch) ||
      !get_f32(env, v[4], "c", &c, &c_len) || !get_bool(env, v[5], "transA", &call.trans_a) ||
      !get_bool(env, v[6], "transB", &call.trans_b) || !get_dim(env, v[7], "m", &call.m) ||
      !get_dim(env, v[8], "n", &call.n) || !get_dim(env, v[9], "k", &call.k) ||
      !get_double(env, v[10], "alpha", &alpha) || !get_double(env, v[11], "beta", &beta) ||
      !get_string(env, v[13], "activation", &activation) || !get_double(env, v[14], "leakyAlpha", &leaky))
    return nullptr;
  call.alpha = static_cast<float>(alpha);
  call.beta = static_cast<float>(beta);
  call.epilogue.leaky_alpha = static_cast<float>(leaky);
  if (!ft::parse_activation(activation, &call.epilogue.activation))
    return fail(env, "unknown activation '" + activation + "'", true), nullptr;

  std::vector<int64_t> out_batch, a_index, b_index;
  const std::string berr = ft::broadcast_offsets(a_batch, b_batch, &out_batch, &a_index, &b_index);
  if (!berr.empty()) return fail(env, berr, true), nullptr;
  int64_t a_count = 1, b_count = 1, c_count = 1, a_mat, b_mat, c_mat;
  for (int64_t d : a_batch) mul(a_count, d, &a_count);
  for (int64_t d : b_batch) mul(b_count, d, &b_count);
  c_count = static_cast<int64_t>(a_index.size());
  int64_t a_total, b_total, c_total;
  if (!mul(call.m, call.k, &a_mat) || !mul(call.k, call.n, &b_mat) || !mul(call.m, call.n, &c_mat) ||
      !mul(a_count, a_mat, &a_total) || !mul(b_count, b_mat, &b_total) || !mul(c_count, c_mat, &c_total))
    return fail(env, "matrix sizes overflow", true), nullptr;
  if (static_cast<int64_t>(a_len) != a_total)
    return fail(env, "a has " + std::to_string(a_len) + " elements, expected " + std::to_string(a_total), true),
           nullptr;
  if (static_cast<int64_t>(b_len) != b_total)
    return fail(env, "b has " + std::to_string(b_len) + " elements, expected " + std::to_string(b_total), true),
           nullptr;
  if (static_cast<int64_t>(c_len) != c_total)
    return fail(env, "c has " + std::to_string(c_len) + " elements, expected " + std::to_string(c_total), true),
           nullptr;
  if (overlaps(c, c_len, a, a_len) || overlaps(c, c_len, b, b_len))
    return fail(env, "c must not share memory with a or b", true), nullptr;

  float* bias = nullptr;
  size_t bias_len = 0;
  if (!is_nullish(env, v[12])) {
    if (!get_f32(env, v[12], "bias", &bias, &bias_len)) return nullptr;
    if (bias_len != 1 && static_cast<int64_t>(bias_len) != call.n)
      return fail(env, "bias must have 1 or n elements", true), nullptr;
    call.epilogue.bias = bias;
    call.epilogue.bias_len = static_cast<int64_t>(bias_len);
  }
  if (call.epilogue.activation == ft::Activation::kPrelu) {
    float* prelu = nullptr;
    size_t prelu_len = 0;
    if (is_nullish(env, v[15])) return fail(env, "prelu activation needs prelu weights", true), nullptr;
    if (!get_f32(env, v[15], "prelu", &prelu, &prelu_len)) return nullptr;
    if (prelu_len != 1 && static_cast<int64_t>(prelu_len) != call.n)
      return fail(env, "prelu weights must have 1 or n elements", true), nullptr;
    call.epilogue.prelu = prelu;
    call.epilogue.prelu_len = static_cast<int64_t>(prelu_len);
  }

  call.a = a;
  call.b = b;
  call.c = c;
  call.batch = c_count;
  call.a_offsets.resize(a_index.size());
  call.b_offsets.resize(b_index.size());
  for (size_t i = 0; i < a_index.size(); i++) {
    call.a_offsets[i] = a_index[i] * a_mat;
    call.b_offsets[i] = b_index[i] * b_mat;
  }
  const std::string err = ft::gemm_run(call);
  if (!err.empty()) return fail(env, err), nullptr;
  return nullptr;
}

bool shape_size(napi_env env, const std::vector<int64_t>& shape, const char* name, int64_t* out) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (!mul(n, d, &n)) return fail(env, std::string(name) + " is too large", true);
  *out = n;
  return true;
}

bool expect_length(napi_env env, const Typed& t, int64_t n, const char* name) {
  if (static_cast<int64_t>(t.length) == n) return true;
  return fail(env, std::string(name) + " has " + std::to_string(t.length) + " elements, expected " + std::to_string(n),
              true);
}

// binary(op, a, aShape, b, bShape, out, outShape): out = a op b, numpy broadcasting.
napi_value Binary(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 7, &args)) return nullptr;
  auto& v = args.v;
  std::string name;
  Typed a, b, out;
  std::vector<int64_t> as, bs, os;
  ft::BinaryOp op;
  if (!get_string(env, v[0], "op", &name)) return nullptr;
  if (!ft::parse_binary_op(name, &op)) return fail(env, "unknown binary op '" + name + "'", true), nullptr;
  const bool cmp = ft::binary_op_is_comparison(op);
  if (!get_typed(env, v[1], "a", {napi_float32_array}, &a) || !get_dims(env, v[2], "aShape", &as) ||
      !get_typed(env, v[3], "b", {napi_float32_array}, &b) || !get_dims(env, v[4], "bShape", &bs) ||
      !get_typed(env, v[5], "out", {cmp ? napi_uint8_array : napi_float32_array}, &out) ||
      !get_dims(env, v[6], "outShape", &os))
    return nullptr;
  std::vector<int64_t> expected, ai, bi;
  const size_t rank = std::max(as.size(), bs.size());
  expected.assign(rank, 1);
  for (size_t d = 0; d < rank; d++) {
    const int64_t x = d + as.size() >= rank ? as[d + as.size() - rank] : 1;
    const int64_t y = d + bs.size() >= rank ? bs[d + bs.size() - rank] : 1;
    if (x != y && x != 1 && y != 1)
      return fail(env, "shapes cannot be broadcast: dimension " + std::to_string(x) + " vs " + std::to_string(y), true),
             nullptr;
    expected[d] = x == 1 ? y : x;
  }
  if (expected != os) return fail(env, "outShape is not the broadcast shape of aShape and bShape", true), nullptr;
  int64_t an, bn, on;
  if (!shape_size(env, as, "a", &an) || !shape_size(env, bs, "b", &bn) || !shape_size(env, os, "out", &on) ||
      !expect_length(env, a, an, "a") || !expect_length(env, b, bn, "b") || !expect_length(env, out, on, "out"))
    return nullptr;
  if (overlaps_bytes(out, a) || overlaps_bytes(out, b))
    return fail(env, "out must not share memory with the inputs", true), nullptr;
  ft::binary(op, static_cast<const float*>(a.data), as, static_cast<const float*>(b.data), bs, out.data, os);
  return nullptr;
}

// unary(op, x, out, alpha)
napi_value Unary(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 4, &args)) return nullptr;
  auto& v = args.v;
  std::string name;
  Typed x, out;
  double alpha;
  ft::UnaryOp op;
  if (!get_string(env, v[0], "op", &name)) return nullptr;
  if (!ft::parse_unary_op(name, &op)) return fail(env, "unknown unary op '" + name + "'", true), nullptr;
  if (!get_typed(env, v[1], "x", {napi_float32_array}, &x) || !get_typed(env, v[2], "out", {napi_float32_array}, &out) ||
      !get_double(env, v[3], "alpha", &alpha) || !expect_length(env, out, static_cast<int64_t>(x.length), "out"))
    return nullptr;
  if (overlaps_bytes(out, x) && out.data != x.data)
    return fail(env, "out must be x itself or not share memory with it", true), nullptr;
  ft::unary(op, static_cast<const float*>(x.data), static_cast<float*>(out.data), static_cast<int64_t>(x.length),
            static_cast<float>(alpha));
  return nullptr;
}

// reduce(op, x, outer, r, inner, out): x is [outer, r, inner], out [outer, inner].
napi_value Reduce(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 6, &args)) return nullptr;
  auto& v = args.v;
  std::string name;
  Typed x, out;
  int64_t outer, r, inner, xn, on;
  ft::ReduceOp op;
  if (!get_string(env, v[0], "op", &name)) return nullptr;
  if (!ft::parse_reduce_op(name, &op)) return fail(env, "unknown reduction '" + name + "'", true), nullptr;
  if (!get_typed(env, v[1], "x", {napi_float32_array}, &x) || !get_dim(env, v[2], "outer", &outer) ||
      !get_dim(env, v[3], "r", &r) || !get_dim(env, v[4], "inner", &inner) ||
      !get_typed(env, v[5], "out", {napi_float32_array}, &out) || !shape_size(env, {outer, r, inner}, "x", &xn) ||
      !shape_size(env, {outer, inner}, "out", &on) || !expect_length(env, x, xn, "x") ||
      !expect_length(env, out, on, "out"))
    return nullptr;
  if (overlaps_bytes(out, x)) return fail(env, "out must not share memory with x", true), nullptr;
  ft::reduce(op, static_cast<const float*>(x.data), static_cast<float*>(out.data), outer, r, inner);
  return nullptr;
}

// softmax(x, rows, cols, out)
napi_value Softmax(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 4, &args)) return nullptr;
  auto& v = args.v;
  Typed x, out;
  int64_t rows, cols, n;
  if (!get_typed(env, v[0], "x", {napi_float32_array}, &x) || !get_dim(env, v[1], "rows", &rows) ||
      !get_dim(env, v[2], "cols", &cols) || !get_typed(env, v[3], "out", {napi_float32_array}, &out) ||
      !shape_size(env, {rows, cols}, "x", &n) || !expect_length(env, x, n, "x") || !expect_length(env, out, n, "out"))
    return nullptr;
  if (overlaps_bytes(out, x)) return fail(env, "out must not share memory with x", true), nullptr;
  ft::softmax(static_cast<const float*>(x.data), static_cast<float*>(out.data), rows, cols);
  return nullptr;
}

// transpose(x, shape, perm, out): 4-byte elements (Float32Array or Int32Array).
napi_value Transpose(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 4, &args)) return nullptr;
  auto& v = args.v;
  Typed x, out;
  std::vector<int64_t> shape, perm;
  int64_t n;
  if (!get_typed(env, v[0], "x", {napi_float32_array, napi_int32_array}, &x) || !get_dims(env, v[1], "shape", &shape) ||
      !get_dims(env, v[2], "perm", &perm) || !get_typed(env, v[3], "out", {x.type}, &out) ||
      !shape_size(env, shape, "x", &n) || !expect_length(env, x, n, "x") || !expect_length(env, out, n, "out"))
    return nullptr;
  if (perm.size() != shape.size()) return fail(env, "perm must have one entry per dimension", true), nullptr;
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[static_cast<size_t>(p)])
      return fail(env, "perm is not a permutation", true), nullptr;
    seen[static_cast<size_t>(p)] = true;
  }
  if (overlaps_bytes(out, x)) return fail(env, "out must not share memory with x", true), nullptr;
  ft::transpose32(static_cast<const uint32_t*>(x.data), shape, perm, static_cast<uint32_t*>(out.data));
  return nullptr;
}

// gatherRows(x, rows, rowSize, indices, out): out[i, :] = x[indices[i], :].
napi_value GatherRows(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 5, &args)) return nullptr;
  auto& v = args.v;
  Typed x, idx, out;
  int64_t rows, row_size, xn, on;
  if (!get_typed(env, v[0], "x", {napi_float32_array, napi_int32_array}, &x) || !get_dim(env, v[1], "rows", &rows) ||
      !get_dim(env, v[2], "rowSize", &row_size) || !get_typed(env, v[3], "indices", {napi_int32_array}, &idx) ||
      !get_typed(env, v[4], "out", {x.type}, &out) || !shape_size(env, {rows, row_size}, "x", &xn) ||
      !shape_size(env, {static_cast<int64_t>(idx.length), row_size}, "out", &on) || !expect_length(env, x, xn, "x") ||
      !expect_length(env, out, on, "out"))
    return nullptr;
  if (overlaps_bytes(out, x) || overlaps_bytes(out, idx))
    return fail(env, "out must not share memory with the inputs", true), nullptr;
  const int64_t bad = ft::gather_rows32(static_cast<const uint32_t*>(x.data), rows, row_size,
                                        static_cast<const int32_t*>(idx.data), static_cast<int64_t>(idx.length),
                                        static_cast<uint32_t*>(out.data));
  if (bad >= 0) {
    const int32_t value = static_cast<const int32_t*>(idx.data)[bad];
    napi_throw_range_error(env, "ERR_FINETUNE_NATIVE_INDEX",
                           ("index " + std::to_string(value) + " at position " + std::to_string(bad) + " is not in [0, " +
                            std::to_string(rows) + ")")
                               .c_str());
    return nullptr;
  }
  return nullptr;
}

// adamw(p, g, m, v, decay, beta1, beta2, stepSize, bc2Sqrt, eps, gradScale): in place.
napi_value AdamW(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 11, &args)) return nullptr;
  auto& v = args.v;
  Typed p, g, m, vv;
  ft::AdamWArgs a;
  if (!get_typed(env, v[0], "p", {napi_float32_array}, &p) || !get_typed(env, v[1], "g", {napi_float32_array}, &g) ||
      !get_typed(env, v[2], "m", {napi_float32_array}, &m) || !get_typed(env, v[3], "v", {napi_float32_array}, &vv) ||
      !get_double(env, v[4], "decay", &a.decay) || !get_double(env, v[5], "beta1", &a.beta1) ||
      !get_double(env, v[6], "beta2", &a.beta2) || !get_double(env, v[7], "stepSize", &a.step_size) ||
      !get_double(env, v[8], "bc2Sqrt", &a.bc2_sqrt) || !get_double(env, v[9], "eps", &a.eps) ||
      !get_double(env, v[10], "gradScale", &a.grad_scale))
    return nullptr;
  const int64_t n = static_cast<int64_t>(p.length);
  if (!expect_length(env, g, n, "g") || !expect_length(env, m, n, "m") || !expect_length(env, vv, n, "v")) return nullptr;
  if (overlaps_bytes(p, g) || overlaps_bytes(p, m) || overlaps_bytes(p, vv) || overlaps_bytes(m, vv) ||
      overlaps_bytes(m, g) || overlaps_bytes(vv, g))
    return fail(env, "p, g, m and v must not share memory", true), nullptr;
  ft::adamw(static_cast<float*>(p.data), static_cast<const float*>(g.data), static_cast<float*>(m.data),
            static_cast<float*>(vv.data), n, a);
  return nullptr;
}

// sumSquares(x) -> number
napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args args;
  Typed x;
  if (!get_args(env, info, 1, &args) || !get_typed(env, args.v[0], "x", {napi_float32_array}, &x)) return nullptr;
  napi_value out;
  napi_create_double(env, ft::sum_squares(static_cast<const float*>(x.data), static_cast<int64_t>(x.length)), &out);
  return out;
}

// segmentSum(x, rowSize, ids, numSegments, out): out[ids[i], :] += x[i, :].
napi_value SegmentSum(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 5, &args)) return nullptr;
  auto& v = args.v;
  Typed x, ids, out;
  int64_t row_size, segments, on;
  if (!get_typed(env, v[0], "x", {napi_float32_array}, &x) || !get_dim(env, v[1], "rowSize", &row_size) ||
      !get_typed(env, v[2], "ids", {napi_int32_array}, &ids) || !get_dim(env, v[3], "numSegments", &segments) ||
      !get_typed(env, v[4], "out", {napi_float32_array}, &out) ||
      !expect_length(env, x, static_cast<int64_t>(ids.length) * row_size, "x") ||
      !shape_size(env, {segments, row_size}, "out", &on) || !expect_length(env, out, on, "out"))
    return nullptr;
  if (overlaps_bytes(out, x) || overlaps_bytes(out, ids))
    return fail(env, "out must not share memory with the inputs", true), nullptr;
  ft::segment_sum(static_cast<const float*>(x.data), static_cast<int64_t>(ids.length), row_size,
                  static_cast<const int32_t*>(ids.data), segments, static_cast<float*>(out.data));
  return nullptr;
}

bool get_gelu_kind(napi_env env, napi_value v, ft::GeluKind* kind) {
  std::string s;
  if (!get_string(env, v, "approximate", &s)) return false;
  if (s == "erf") *kind = ft::GeluKind::kErf;
  else if (s == "tanh") *kind = ft::GeluKind::kTanh;
  else return fail(env, "approximate must be 'erf' or 'tanh'", true);
  return true;
}

bool distinct(napi_env env, std::initializer_list<const Typed*> outs, std::initializer_list<const Typed*> ins) {
  for (const Typed* o : outs) {
    for (const Typed* i : ins)
      if (overlaps_bytes(*o, *i)) return fail(env, "outputs must not share memory with the inputs", true);
    for (const Typed* o2 : outs)
      if (o != o2 && overlaps_bytes(*o, *o2)) return fail(env, "outputs must not share memory", true);
  }
  return true;
}

// gelu(x, out, approximate)
napi_value Gelu(napi_env env, napi_callback_info info) {
  Args args;
  Typed x, out;
  ft::GeluKind kind;
  if (!get_args(env, info, 3, &args) || !get_typed(env, args.v[0], "x", {napi_float32_array}, &x) ||
      !get_typed(env, args.v[1], "out", {napi_float32_array}, &out) || !get_gelu_kind(env, args.v[2], &kind) ||
      !expect_length(env, out, static_cast<int64_t>(x.length), "out") || !distinct(env, {&out}, {&x}))
    return nullptr;
  ft::gelu_forward(static_cast<const float*>(x.data), static_cast<float*>(out.data), static_cast<int64_t>(x.length), kind);
  return nullptr;
}

// geluGrad(dy, x, dx, approximate)
napi_value GeluGrad(napi_env env, napi_callback_info info) {
  Args args;
  Typed dy, x, dx;
  ft::GeluKind kind;
  if (!get_args(env, info, 4, &args) || !get_typed(env, args.v[0], "dy", {napi_float32_array}, &dy) ||
      !get_typed(env, args.v[1], "x", {napi_float32_array}, &x) ||
      !get_typed(env, args.v[2], "dx", {napi_float32_array}, &dx) || !get_gelu_kind(env, args.v[3], &kind) ||
      !expect_length(env, dy, static_cast<int64_t>(x.length), "dy") ||
      !expect_length(env, dx, static_cast<int64_t>(x.length), "dx") || !distinct(env, {&dx}, {&dy, &x}))
    return nullptr;
  ft::gelu_backward(static_cast<const float*>(dy.data), static_cast<const float*>(x.data), static_cast<float*>(dx.data),
                    static_cast<int64_t>(x.length), kind);
  return nullptr;
}

// layerNorm(x, gamma, beta, rows, cols, eps, y)
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 7, &args)) return nullptr;
  auto& v = args.v;
  Typed x, gamma, beta, y;
  int64_t rows, cols, n;
  double eps;
  if (!get_typed(env, v[0], "x", {napi_float32_array}, &x) || !get_typed(env, v[1], "gamma", {napi_float32_array}, &gamma) ||
      !get_typed(env, v[2], "beta", {napi_float32_array}, &beta) || !get_dim(env, v[3], "rows", &rows) ||
      !get_dim(env, v[4], "cols", &cols) || !get_double(env, v[5], "eps", &eps) ||
      !get_typed(env, v[6], "y", {napi_float32_array}, &y) || !shape_size(env, {rows, cols}, "x", &n) ||
      !expect_length(env, x, n, "x") || !expect_length(env, y, n, "y") || !expect_length(env, gamma, cols, "gamma") ||
      !expect_length(env, beta, cols, "beta") || !distinct(env, {&y}, {&x, &gamma, &beta}))
    return nullptr;
  if (!(eps >= 0)) return fail(env, "eps must be >= 0", true), nullptr;
  ft::layer_norm_forward(static_cast<const float*>(x.data), static_cast<const float*>(gamma.data),
                         static_cast<const float*>(beta.data), rows, cols, eps, static_cast<float*>(y.data));
  return nullptr;
}

// layerNormGrad(dy, x, gamma, rows, cols, eps, dx, dgamma, dbeta)
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 9, &args)) return nullptr;
  auto& v = args.v;
  Typed dy, x, gamma, dx, dgamma, dbeta;
  int64_t rows, cols, n;
  double eps;
  if (!get_typed(env, v[0], "dy", {napi_float32_array}, &dy) || !get_typed(env, v[1], "x", {napi_float32_array}, &x) ||
      !get_typed(env, v[2], "gamma", {napi_float32_array}, &gamma) || !get_dim(env, v[3], "rows", &rows) ||
      !get_dim(env, v[4], "cols", &cols) || !get_double(env, v[5], "eps", &eps) ||
      !get_typed(env, v[6], "dx", {napi_float32_array}, &dx) ||
      !get_typed(env, v[7], "dgamma", {napi_float32_array}, &dgamma) ||
      !get_typed(env, v[8], "dbeta", {napi_float32_array}, &dbeta) || !shape_size(env, {rows, cols}, "x", &n) ||
      !expect_length(env, dy, n, "dy") || !expect_length(env, x, n, "x") || !expect_length(env, dx, n, "dx") ||
      !expect_length(env, gamma, cols, "gamma") || !expect_length(env, dgamma, cols, "dgamma") ||
      !expect_length(env, dbeta, cols, "dbeta") || !distinct(env, {&dx, &dgamma, &dbeta}, {&dy, &x, &gamma}))
    return nullptr;
  if (!(eps >= 0)) return fail(env, "eps must be >= 0", true), nullptr;
  ft::layer_norm_backward(static_cast<const float*>(dy.data), static_cast<const float*>(x.data),
                          static_cast<const float*>(gamma.data), rows, cols, eps, static_cast<float*>(dx.data),
                          static_cast<float*>(dgamma.data), static_cast<float*>(dbeta.data));
  return nullptr;
}

// softmaxGrad(dy, y, rows, cols, dx)
napi_value SoftmaxGrad(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, 5, &args)) return nullptr;
  auto& v = args.v;
  Typed dy, y, dx;
  int64_t rows, cols, n;
  if (!get_typed(env, v[0], "dy", {napi_float32_array}, &dy) || !get_typed(env, v[1], "y", {napi_float32_array}, &y) ||
      !get_dim(env, v[2], "rows", &rows) || !get_dim(env, v[3], "cols", &cols) ||
      !get_typed(env, v[4], "dx", {napi_float32_array}, &dx) || !shape_size(env, {rows, cols}, "y", &n) ||
      !expect_length(env, dy, n, "dy") || !expect_length(env, y, n, "y") || !expect_length(env, dx, n, "dx") ||
      !distinct(env, {&dx}, {&dy, &y}))
    return nullptr;
  ft::softmax_backward(static_cast<const float*>(dy.data), static_cast<const float*>(y.data), rows, cols,
                       static_cast<float*>(dx.data));
  return nullptr;
}

// dropout(x, rate, seed, out): seed is an integer in [0, 2^53).
napi_value Dropout(napi_env env, napi_callback_info info) {
  Args args;
  Typed x, out;
  double rate;
  int64_t seed;
  if (!get_args(env, info, 4, &args) || !get_typed(env, args.v[0], "x", {napi_float32_array}, &x) ||
      !get_double(env, args.v[1], "rate", &rate) || !get_dim(env, args.v[2], "seed", &seed) ||
      !get_typed(env, args.v[3], "out", {napi_float32_array}, &out) ||
      !expect_length(env, out, static_cast<int64_t>(x.length), "out") || !distinct(env, {&out}, {&x}))
    return nullptr;
  if (!(rate >= 0 && rate < 1)) return fail(env, "rate must be in [0, 1)", true), nullptr;
  ft::dropout(static_cast<const float*>(x.data), static_cast<float*>(out.data), static_cast<int64_t>(x.length), rate,
              static_cast<uint64_t>(seed));
  return nullptr;
}

napi_value SetGemm(napi_env env, napi_callback_info info) {
  Args args;
  std::string mode;
  if (!get_args(env, info, 1, &args) || !get_string(env, args.v[0], "mode", &mode)) return nullptr;
  const std::string err = ft::select_gemm(mode);
  if (!err.empty()) return fail(env, err), nullptr;
  const std::string name = ft::active_gemm();
  napi_value out;
  napi_create_string_utf8(env, name.c_str(), name.size(), &out);
  return out;
}

// setMath(name) -> active math set; name "auto", "avx512", "avx2" or "generic".
napi_value SetMath(napi_env env, napi_callback_info info) {
  Args args;
  std::string name;
  if (!get_args(env, info, 1, &args) || !get_string(env, args.v[0], "name", &name)) return nullptr;
  if (!ft::select_math_kernels(name.c_str()))
    return fail(env, "math set '" + name + "' is not available here (use auto, avx512, avx2 or generic)"), nullptr;
  napi_value out;
  napi_create_string_utf8(env, ft::math_kernels().name, NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args args;
  int64_t n;
  if (!get_args(env, info, 1, &args) || !get_dim(env, args.v[0], "threads", &n)) return nullptr;
  if (n < 1 || n > 1024) return fail(env, "threads must be between 1 and 1024", true), nullptr;
  ft::set_threads(static_cast<int>(n));
  napi_value out;
  napi_create_int32(env, ft::threads(), &out);
  return out;
}

void set_str(napi_env env, napi_value obj, const char* key, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  napi_set_named_property(env, obj, key, v);
}

void set_null(napi_env env, napi_value obj, const char* key) {
  napi_value v;
  napi_get_null(env, &v);
  napi_set_named_property(env, obj, key, v);
}

void set_int(napi_env env, napi_value obj, const char* key, int n) {
  napi_value v;
  napi_create_int32(env, n, &v);
  napi_set_named_property(env, obj, key, v);
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj;
  napi_create_object(env, &obj);
  set_str(env, obj, "version", kVersion);
  set_str(env, obj, "gemm", ft::active_gemm());
  napi_value kernels;
  const auto own = ft::available_own_kernels();
  napi_create_array_with_length(env, own.size(), &kernels);
  for (size_t i = 0; i < own.size(); i++) {
    napi_value s;
    napi_create_string_utf8(env, own[i].c_str(), own[i].size(), &s);
    napi_set_element(env, kernels, static_cast<uint32_t>(i), s);
  }
  napi_set_named_property(env, obj, "ownKernels", kernels);
  const ft::BlasStatus blas = ft::blas_status();
  if (blas.found) {
    set_str(env, obj, "blas", blas.name);
    set_str(env, obj, "blasPath", blas.path);
    set_str(env, obj, "blasDetail", blas.detail);
    set_null(env, obj, "blasError");
  } else {
    set_null(env, obj, "blas");
    set_null(env, obj, "blasPath");
    set_null(env, obj, "blasDetail");
    set_str(env, obj, "blasError", blas.why);
  }
  set_str(env, obj, "math", ft::math_kernels().name);
  set_int(env, obj, "threads", ft::threads());
  set_int(env, obj, "defaultThreads", ft::default_thread_count());
  set_str(env, obj, "threadSource", ft::thread_count_source());
#if defined(__aarch64__) || defined(_M_ARM64)
  set_str(env, obj, "arch", "arm64");
#elif defined(__x86_64__) || defined(_M_X64)
  set_str(env, obj, "arch", "x64");
#else
  set_str(env, obj, "arch", "other");
#endif
  return obj;
}

// The pool is process-wide; the first environment (main thread or worker) to load the addon
// sizes it.
void init_pool_once() {
  static std::once_flag once;
  std::call_once(once, [] { ft::set_threads(ft::default_thread_count()); });
}

}  // namespace

NAPI_MODULE_INIT() {
  init_pool_once();
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setGemm", nullptr, SetGemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setMath", nullptr, SetMath, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"reduce", nullptr, Reduce, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gatherRows", nullptr, GatherRows, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamw", nullptr, AdamW, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gelu", nullptr, Gelu, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"geluGrad", nullptr, GeluGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"layerNorm", nullptr, LayerNorm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"layerNormGrad", nullptr, LayerNormGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"softmaxGrad", nullptr, SoftmaxGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dropout", nullptr, Dropout, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sumSquares", nullptr, SumSquares, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"segmentSum", nullptr, SegmentSum, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
