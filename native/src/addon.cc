// Node-API bindings (C API only, NAPI_VERSION 8): one binary loads in every Node >= 16 and in
// Electron's main and utility processes without a rebuild. The addon never creates external
// ArrayBuffers (Electron's V8 sandbox forbids them): JS allocates every array and C++ fills it.
//
// Exports:
//   gemm(a, aBatch, b, bBatch, c, transA, transB, m, n, k, alpha, beta,
//        bias, activation, leakyAlpha, prelu) -> undefined
//   setGemm(mode) -> active path name (throws with the reason when unavailable)
//   setThreads(n) -> thread count
//   info() -> { version, gemm, ownKernels, blas, blasPath, blasDetail, blasError, threads,
//               defaultThreads, threadSource, arch }
#include <node_api.h>

#include <cmath>
#include <mutex>
#include <cstdint>
#include <string>
#include <vector>

#include "gemm.h"
#include "platform.h"

namespace {

constexpr const char* kVersion = "1";

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
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
