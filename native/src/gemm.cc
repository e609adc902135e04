#include "gemm.h"
#include "vmath.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

#include "blas_loader.h"
#include "kernels.h"
#include "platform.h"
#include "thread_pool.h"

namespace ft {

namespace {

// ---------------------------------------------------------------------------------------------
// The active path

struct GemmPath {
  const KernelSet* own = nullptr;     // own kernel set, when not BLAS
  const BlasLibrary* blas = nullptr;  // BLAS library, when BLAS
  std::string name;
};

std::mutex path_mu;
GemmPath current_path;  // guarded by path_mu; copied per call

const KernelSet* best_own_kernel() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && kernels_avx512()) return kernels_avx512();
  if (f.avx2_fma && kernels_avx2()) return kernels_avx2();
  if (f.neon && kernels_neon()) return kernels_neon();
  return kernels_scalar();
}

const KernelSet* own_kernel_named(const std::string& name, std::string* why) {
  const CpuFeatures& f = cpu_features();
  struct Entry {
    const char* name;
    const KernelSet* set;
    bool cpu_ok;
  } entries[] = {{"own-avx512", kernels_avx512(), f.avx512f},
                 {"own-avx2", kernels_avx2(), f.avx2_fma},
                 {"own-neon", kernels_neon(), f.neon},
                 {"own-scalar", kernels_scalar(), true}};
  for (const Entry& e : entries) {
    if (name != e.name) continue;
    if (!e.set) {
      *why = name + " is not built for this architecture";
      return nullptr;
    }
    if (!e.cpu_ok) {
      *why = name + " needs CPU features this machine lacks";
      return nullptr;
    }
    return e.set;
  }
  *why = "unknown GEMM path '" + name +
         "' (use auto, blas, own, own-avx512, own-avx2, own-neon, own-scalar, openblas, blis or accelerate)";
  return nullptr;
}

GemmPath path_snapshot() {
  std::lock_guard<std::mutex> lock(path_mu);
  if (current_path.name.empty()) {
    // First use without select_gemm(): auto. (The TypeScript loader applies FINETUNE_NATIVE_GEMM.)
    std::string why;
    const BlasLibrary* blas = load_blas(&why);
    if (blas) {
      current_path.blas = blas;
      current_path.name = blas->name;
    } else {
      current_path.own = best_own_kernel();
      current_path.name = current_path.own->name;
    }
  }
  return current_path;
}

// ---------------------------------------------------------------------------------------------
// Per-thread packing buffers

struct Workspace {
  float* data = nullptr;
  size_t capacity = 0;  // floats
  ~Workspace() { free_data(); }
  void free_data() {
#if defined(_WIN32)
    _aligned_free(data);
#else
    std::free(data);
#endif
    data = nullptr;
    capacity = 0;
  }
  float* get(size_t floats) {
    if (floats > capacity) {
      free_data();
      const size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
#if defined(_WIN32)
      data = static_cast<float*>(_aligned_malloc(bytes, 64));
#else
      void* p = nullptr;
      if (posix_memalign(&p, 64, bytes) != 0) p = nullptr;
      data = static_cast<float*>(p);
#endif
      if (!data) return nullptr;
      capacity = floats;
    }
    return data;
  }
};

thread_local Workspace workspace;     // packed A (and B, in the per-tile path) of this thread
thread_local Workspace workspace_b;   // shared packed B panel, owned by the calling thread

// ---------------------------------------------------------------------------------------------
// One (sub-)GEMM on the own kernels, on the calling thread:
//   C[0:m, 0:n] = alpha * op(A) op(B) + beta * C,  k >= 1

bool own_gemm(const KernelSet& ks, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
              int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const int64_t MR = ks.mr, NR = ks.nr;
  const int64_t MC = ks.mc, KC = ks.kc, NC = ks.nc;
  const int64_t nc_max = std::min(NC, (n + NR - 1) / NR * NR);
  const int64_t mc_max = std::min(MC, (m + MR - 1) / MR * MR);
  const int64_t kc_max = std::min(KC, k);
  const size_t a_size = static_cast<size_t>(mc_max * kc_max);
  const size_t b_size = static_cast<size_t>(nc_max * kc_max);
  const size_t tile_size = static_cast<size_t>(MR * NR);
  float* buf = workspace.get(a_size + b_size + tile_size + 16);
  if (!buf) return false;
  float* bpack = buf;
  float* apack = buf + (b_size + 15) / 16 * 16;
  float* tile = apack + (a_size + 15) / 16 * 16;

  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = std::min(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      const float beta_eff = pc == 0 ? beta : 1.0f;
      ks.pack_b(kc, nc, tb ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, tb, bpack);
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc = std::min(MC, m - ic);
        ks.pack_a(mc, kc, ta ? a + pc * lda + ic : a + ic * lda + pc, lda, ta, apack);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min(NR, nc - jr);
          const float* bp = bpack + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min(MR, mc - ir);
            const float* ap = apack + ir * kc;
            float* cp = c + (ic + ir) * ldc + jc + jr;
            if (mr == MR && nr == NR) {
              ks.ukernel(kc, ap, bp, cp, ldc, alpha, beta_eff);
            } else {
              ks.ukernel(kc, ap, bp, tile, NR, alpha, 0.0f);
              for (int64_t i = 0; i < mr; i++) {
                float* ci = cp + i * ldc;
                const float* ti = tile + i * NR;
                if (beta_eff == 0.0f) {
                  for (int64_t j = 0; j < nr; j++) ci[j] = ti[j];
                } else {
                  for (int64_t j = 0; j < nr; j++) ci[j] = ti[j] + beta_eff * ci[j];
                }
              }
            }
          }
        }
      }
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Epilogue: bias and activation over a block of C, computed in double like the JS kernels.

inline float activate(double x, const Epilogue& ep, int64_t j) {
  switch (ep.activation) {
    case Activation::kLinear:
      return static_cast<float>(x);
    case Activation::kRelu:
      return std::isnan(x) ? static_cast<float>(x) : static_cast<float>(x > 0 ? x : 0.0);
    case Activation::kRelu6:
      return std::isnan(x) ? static_cast<float>(x) : static_cast<float>(std::min(std::max(x, 0.0), 6.0));
    case Activation::kElu:
      return static_cast<float>(x >= 0 ? x : std::exp(x) - 1.0);
    case Activation::kSigmoid:
      return static_cast<float>(1.0 / (1.0 + std::exp(-x)));
    case Activation::kLeakyRelu:
      return static_cast<float>(x < 0 ? static_cast<double>(ep.leaky_alpha) * x : x);
    case Activation::kPrelu: {
      const double w = ep.prelu_len == 1 ? ep.prelu[0] : ep.prelu[j];
      return static_cast<float>(x < 0 ? w * x : x);
    }
    case Activation::kGeluErf:
    case Activation::kGeluTanh:
      // Rows go through the vectorised GELU in apply_epilogue; this scalar form is never reached.
      return static_cast<float>(x);
  }
  return static_cast<float>(x);
}

void apply_epilogue(const Epilogue& ep, float* c, int64_t ldc, int64_t rows, int64_t j0, int64_t cols) {
  const bool gelu = ep.activation == Activation::kGeluErf || ep.activation == Activation::kGeluTanh;
  const MathKernels* mk = gelu ? &math_kernels() : nullptr;
  for (int64_t i = 0; i < rows; i++) {
    float* ci = c + i * ldc + j0;
    if (gelu) {
      if (ep.bias) {
        for (int64_t j = 0; j < cols; j++) ci[j] = ci[j] + (ep.bias_len == 1 ? ep.bias[0] : ep.bias[j0 + j]);
      }
      mk->gelu(ci, ci, cols, ep.activation == Activation::kGeluTanh ? 1 : 0);
      continue;
    }
    for (int64_t j = 0; j < cols; j++) {
      // Round the sum to float first, as the JS add kernel stores it in a Float32Array.
      float v = ci[j];
      if (ep.bias) v = static_cast<float>(v + (ep.bias_len == 1 ? ep.bias[0] : ep.bias[j0 + j]));
      ci[j] = activate(v, ep, j0 + j);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One large GEMM on all threads (own kernels), BLIS style: for each K block the B panel is packed
// once into a buffer every thread reads, then (row block x column chunk) tasks are handed out
// dynamically, each packing its own A block. Dynamic tasks keep every core busy when another
// process takes one of them for a while, which a static split into one piece per thread cannot.

struct ParallelGemm {
  const KernelSet* ks;
  bool ta, tb;
  int64_t m, n, k;
  float alpha, beta;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  const Epilogue* epilogue;
  // Current block.
  int64_t jc, nc, pc, kc;
  float beta_eff;
  bool last_k;
  float* bpack;
  int64_t panels, pack_tasks;
  int64_t ic_blocks, chunk, chunks;
  std::atomic<bool> failed{false};
};

void parallel_pack_b(void* p, int64_t t) {
  ParallelGemm& g = *static_cast<ParallelGemm*>(p);
  const int64_t NR = g.ks->nr;
  const int64_t q0 = g.panels * t / g.pack_tasks, q1 = g.panels * (t + 1) / g.pack_tasks;
  if (q0 >= q1) return;
  const int64_t j0 = q0 * NR, cols = std::min(q1 * NR, g.nc) - j0;
  const float* src = g.tb ? g.b + (g.jc + j0) * g.ldb + g.pc : g.b + g.pc * g.ldb + g.jc + j0;
  g.ks->pack_b(g.kc, cols, src, g.ldb, g.tb, g.bpack + q0 * NR * g.kc);
}

void parallel_compute(void* p, int64_t t) {
  ParallelGemm& g = *static_cast<ParallelGemm*>(p);
  const KernelSet& ks = *g.ks;
  const int64_t MR = ks.mr, NR = ks.nr, MC = ks.mc;
  const int64_t ib = t / g.chunks, cb = t % g.chunks;
  const int64_t ic = ib * MC, mc = std::min(MC, g.m - ic);
  const int64_t j0 = cb * g.chunk, w = std::min(g.chunk, g.nc - j0);
  if (mc <= 0 || w <= 0) return;
  const size_t a_size = static_cast<size_t>((mc + MR - 1) / MR * MR * g.kc);
  float* apack = workspace.get(a_size + static_cast<size_t>(MR * NR) + 16);
  if (!apack) {
    g.failed.store(true);
    return;
  }
  float* tile = apack + (a_size + 15) / 16 * 16;
  ks.pack_a(mc, g.kc, g.ta ? g.a + g.pc * g.lda + ic : g.a + ic * g.lda + g.pc, g.lda, g.ta, apack);
  for (int64_t jr = j0; jr < j0 + w; jr += NR) {
    const int64_t nr = std::min(NR, g.nc - jr);
    const float* bp = g.bpack + jr * g.kc;
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int64_t mr = std::min(MR, mc - ir);
      const float* ap = apack + ir * g.kc;
      float* cp = g.c + (ic + ir) * g.ldc + g.jc + jr;
      if (mr == MR && nr == NR) {
        ks.ukernel(g.kc, ap, bp, cp, g.ldc, g.alpha, g.beta_eff);
      } else {
        ks.ukernel(g.kc, ap, bp, tile, NR, g.alpha, 0.0f);
        for (int64_t i = 0; i < mr; i++) {
          float* ci = cp + i * g.ldc;
          const float* ti = tile + i * NR;
          if (g.beta_eff == 0.0f) {
            for (int64_t j = 0; j < nr; j++) ci[j] = ti[j];
          } else {
            for (int64_t j = 0; j < nr; j++) ci[j] = ti[j] + g.beta_eff * ci[j];
          }
        }
      }
    }
  }
  // The block is final after the last K block: apply the epilogue while it is in cache.
  if (g.last_k && g.epilogue && g.epilogue->active())
    apply_epilogue(*g.epilogue, g.c + ic * g.ldc, g.ldc, mc, g.jc + j0, w);
}

bool own_gemm_parallel(const KernelSet& ks, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                       const Epilogue& epilogue, int threads) {
  ThreadPool& pool = ThreadPool::instance();
  ParallelGemm g;
  g.ks = &ks;
  g.ta = ta;
  g.tb = tb;
  g.m = m;
  g.n = n;
  g.k = k;
  g.alpha = alpha;
  g.beta = beta;
  g.a = a;
  g.lda = lda;
  g.b = b;
  g.ldb = ldb;
  g.c = c;
  g.ldc = ldc;
  g.epilogue = &epilogue;
  const int64_t NR = ks.nr, KC = ks.kc, NC = ks.nc;
  const int64_t nc_max = std::min(NC, (n + NR - 1) / NR * NR);
  g.bpack = workspace_b.get(static_cast<size_t>(nc_max * std::min(KC, k)) + 16);
  if (!g.bpack) return false;
  g.ic_blocks = (m + ks.mc - 1) / ks.mc;
  for (g.jc = 0; g.jc < n; g.jc += NC) {
    g.nc = std::min(NC, n - g.jc);
    g.panels = (g.nc + NR - 1) / NR;
    // Column chunks: enough tasks for ~4 per thread, chunks at least 4 register tiles wide.
    const int64_t want_chunks = std::max<int64_t>(1, (4 * threads + g.ic_blocks - 1) / g.ic_blocks);
    const int64_t max_chunks = std::max<int64_t>(1, g.panels / 4);
    g.chunks = std::min(want_chunks, max_chunks);
    g.chunk = (g.panels + g.chunks - 1) / g.chunks * NR;
    g.chunks = (g.nc + g.chunk - 1) / g.chunk;
    for (g.pc = 0; g.pc < k; g.pc += KC) {
      g.kc = std::min(KC, k - g.pc);
      g.beta_eff = g.pc == 0 ? beta : 1.0f;
      g.last_k = g.pc + KC >= k;
      g.pack_tasks = std::min<int64_t>(g.panels, threads);
      pool.run(g.pack_tasks, parallel_pack_b, &g);
      pool.run(g.ic_blocks * g.chunks, parallel_compute, &g);
      if (g.failed.load()) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Work split

struct Split {
  int64_t tm = 1, tn = 1;        // tiles per matrix along m and n
  int64_t mstep = 0, nstep = 0;  // rows / columns per tile
};

struct Job {
  const GemmCall* call;
  const GemmPath* path;
  Split split;
  int64_t lda, ldb;
  std::atomic<bool> failed{false};
};

void run_task(void* ctx, int64_t t) {
  Job& job = *static_cast<Job*>(ctx);
  const GemmCall& g = *job.call;
  const int64_t per_matrix = job.split.tm * job.split.tn;
  const int64_t bi = t / per_matrix;
  const int64_t r = t % per_matrix;
  const int64_t i0 = (r / job.split.tn) * job.split.mstep;
  const int64_t j0 = (r % job.split.tn) * job.split.nstep;
  if (i0 >= g.m || j0 >= g.n) return;
  const int64_t rows = std::min(job.split.mstep, g.m - i0);
  const int64_t cols = std::min(job.split.nstep, g.n - j0);
  const float* a = g.a + (g.a_offsets.empty() ? 0 : g.a_offsets[bi]);
  const float* b = g.b + (g.b_offsets.empty() ? 0 : g.b_offsets[bi]);
  float* c = g.c + bi * g.m * g.n + i0 * g.n + j0;
  const int64_t ldc = g.n;
  // Sub-matrix origins: rows i0.. of op(A), columns j0.. of op(B).
  a += g.trans_a ? i0 : i0 * job.lda;
  b += g.trans_b ? j0 * job.ldb : j0;
  if (g.k == 0) {
    for (int64_t i = 0; i < rows; i++) {
      float* ci = c + i * ldc;
      for (int64_t j = 0; j < cols; j++) ci[j] = g.beta == 0.0f ? 0.0f : g.beta * ci[j];
    }
  } else if (job.path->blas) {
    job.path->blas->sgemm(101, g.trans_a ? 112 : 111, g.trans_b ? 112 : 111, static_cast<int>(rows),
                          static_cast<int>(cols), static_cast<int>(g.k), g.alpha, a, static_cast<int>(job.lda), b,
                          static_cast<int>(job.ldb), g.beta, c, static_cast<int>(ldc));
  } else if (!own_gemm(*job.path->own, g.trans_a, g.trans_b, rows, cols, g.k, g.alpha, a, job.lda, b, job.ldb,
                       g.beta, c, ldc)) {
    job.failed.store(true);
    return;
  }
  if (g.epilogue.active()) apply_epilogue(g.epilogue, c - j0, ldc, rows, j0, cols);
}

// Splits each matrix into tm x tn tiles so that the tasks keep `threads` busy. Tiles are aligned to
// the register tile; among splits into the same number of tiles, the one that packs the least
// (A is packed once per column tile, B once per row tile) wins.
Split choose_split(int64_t batch, int64_t m, int64_t n, int64_t k, int threads, int64_t mr, int64_t nr) {
  Split s;
  s.mstep = m;
  s.nstep = n;
  const double flops = 2.0 * static_cast<double>(batch) * m * n * std::max<int64_t>(k, 1);
  if (threads <= 1 || flops < 262144.0) return s;
  const int64_t max_tm = std::max<int64_t>(1, (m + mr - 1) / mr);
  const int64_t max_tn = std::max<int64_t>(1, (n + nr - 1) / nr);
  // Each task should carry at least ~64 kFLOP, or threading costs more than it gains.
  const int64_t max_tiles = std::max<int64_t>(1, static_cast<int64_t>(flops / 65536.0 / batch));
  double best_eff = -1;
  for (int64_t tiles = 1; tiles <= 4 * threads && tiles <= max_tiles; tiles++) {
    int64_t best_tm = 0, best_tn = 0;
    double best_cost = std::numeric_limits<double>::infinity();
    for (int64_t tm = 1; tm <= tiles; tm++) {
      if (tiles % tm) continue;
      const int64_t tn = tiles / tm;
      if (tm > max_tm || tn > max_tn) continue;
      const double cost = static_cast<double>(tn) * m + static_cast<double>(tm) * n;
      if (cost < best_cost) {
        best_cost = cost;
        best_tm = tm;
        best_tn = tn;
      }
    }
    if (!best_tm) continue;
    const int64_t tasks = batch * tiles;
    const int64_t rounds = (tasks + threads - 1) / threads;
    const double eff = static_cast<double>(tasks) / static_cast<double>(rounds * threads);
    if (eff > best_eff + 1e-9) {
      best_eff = eff;
      s.tm = best_tm;
      s.tn = best_tn;
    }
    if (eff >= 0.9) break;
  }
  s.mstep = (m + s.tm - 1) / s.tm;
  s.mstep = (s.mstep + mr - 1) / mr * mr;
  s.nstep = (n + s.tn - 1) / s.tn;
  s.nstep = (s.nstep + nr - 1) / nr * nr;
  s.tm = (m + s.mstep - 1) / s.mstep;
  s.tn = (n + s.nstep - 1) / s.nstep;
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

bool parse_activation(const std::string& name, Activation* out) {
  static const struct {
    const char* name;
    Activation act;
  } table[] = {{"linear", Activation::kLinear}, {"relu", Activation::kRelu},
               {"relu6", Activation::kRelu6},   {"elu", Activation::kElu},
               {"sigmoid", Activation::kSigmoid}, {"leakyrelu", Activation::kLeakyRelu},
               {"prelu", Activation::kPrelu},     {"gelu", Activation::kGeluErf},
               {"gelu_new", Activation::kGeluTanh}};
  for (const auto& e : table) {
    if (name == e.name) {
      *out = e.act;
      return true;
    }
  }
  return false;
}

std::string broadcast_offsets(const std::vector<int64_t>& a_batch, const std::vector<int64_t>& b_batch,
                              std::vector<int64_t>* out_batch, std::vector<int64_t>* a_index,
                              std::vector<int64_t>* b_index) {
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  std::vector<int64_t> ad(rank, 1), bd(rank, 1), od(rank, 1);
  std::copy(a_batch.begin(), a_batch.end(), ad.begin() + (rank - a_batch.size()));
  std::copy(b_batch.begin(), b_batch.end(), bd.begin() + (rank - b_batch.size()));
  int64_t count = 1;
  for (size_t d = 0; d < rank; d++) {
    if (ad[d] < 0 || bd[d] < 0) return "negative batch dimension";
    if (ad[d] != bd[d] && ad[d] != 1 && bd[d] != 1) {
      return "batch dimensions " + std::to_string(ad[d]) + " and " + std::to_string(bd[d]) +
             " cannot be broadcast";
    }
    od[d] = ad[d] == 1 ? bd[d] : ad[d];
    count *= od[d];
  }
  *out_batch = od;
  a_index->assign(static_cast<size_t>(count), 0);
  b_index->assign(static_cast<size_t>(count), 0);
  // Row-major strides of A's and B's batch dims, zero where broadcast.
  std::vector<int64_t> as(rank, 0), bs(rank, 0);
  int64_t sa = 1, sb = 1;
  for (size_t d = rank; d-- > 0;) {
    as[d] = ad[d] == 1 ? 0 : sa;
    bs[d] = bd[d] == 1 ? 0 : sb;
    sa *= ad[d];
    sb *= bd[d];
  }
  std::vector<int64_t> idx(rank, 0);
  for (int64_t t = 0; t < count; t++) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; d++) {
      ia += idx[d] * as[d];
      ib += idx[d] * bs[d];
    }
    (*a_index)[static_cast<size_t>(t)] = ia;
    (*b_index)[static_cast<size_t>(t)] = ib;
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < od[d]) break;
      idx[d] = 0;
    }
  }
  return "";
}

std::string gemm_run(const GemmCall& g) {
  const int64_t batch = g.batch;
  if (g.m <= 0 || g.n <= 0 || batch <= 0) return "";
  if ((!g.a_offsets.empty() && static_cast<int64_t>(g.a_offsets.size()) != batch) ||
      (!g.b_offsets.empty() && static_cast<int64_t>(g.b_offsets.size()) != batch))
    return "internal error: batch offsets do not match the batch size";
  const GemmPath path = path_snapshot();
  Job job;
  job.call = &g;
  job.path = &path;
  job.lda = g.trans_a ? g.m : g.k;
  job.ldb = g.trans_b ? g.k : g.n;
  GemmPath effective = path;
  if (path.blas) {
    const int64_t lim = std::numeric_limits<int>::max();
    if (g.m > lim || g.n > lim || g.k > lim) {
      // 32-bit BLAS interface: fall back to the own kernels for gigantic matrices.
      effective.blas = nullptr;
      effective.own = best_own_kernel();
    }
  }
  job.path = &effective;
  int threads = ThreadPool::instance().threads();
  int64_t mr = 16, nr = 16;
  if (effective.own) {
    mr = effective.own->mr;
    nr = effective.own->nr;
  } else if (effective.blas->threads_internally) {
    threads = 1;
  }
  // A few large matrices on the own kernels: each one on all threads, with a shared packed B
  // panel and dynamic tasks (see own_gemm_parallel). Many small ones: one task per matrix or tile.
  const double item_flops = 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  if (effective.own && threads > 1 && g.k > 0 && batch < 2 * threads && item_flops >= 4.0e6 &&
      g.m >= 2 * effective.own->mr) {
    for (int64_t bi = 0; bi < batch; bi++) {
      const float* a = g.a + (g.a_offsets.empty() ? 0 : g.a_offsets[bi]);
      const float* b = g.b + (g.b_offsets.empty() ? 0 : g.b_offsets[bi]);
      float* c = g.c + bi * g.m * g.n;
      if (!own_gemm_parallel(*effective.own, g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, a, job.lda, b, job.ldb,
                             g.beta, c, g.n, g.epilogue, threads))
        return "out of memory for the GEMM packing buffers";
    }
    return "";
  }
  job.split = choose_split(batch, g.m, g.n, g.k, threads, mr, nr);
  const int64_t tasks = batch * job.split.tm * job.split.tn;
  if (threads <= 1) {
    for (int64_t t = 0; t < tasks; t++) run_task(&job, t);
  } else {
    ThreadPool::instance().run(tasks, run_task, &job);
  }
  if (job.failed.load()) return "out of memory for the GEMM packing buffers";
  return "";
}

std::string select_gemm(const std::string& mode) {
  GemmPath next;
  std::string why;
  if (mode == "auto" || mode.empty()) {
    const BlasLibrary* blas = load_blas(&why);
    if (blas) {
      next.blas = blas;
      next.name = blas->name;
    } else {
      next.own = best_own_kernel();
      next.name = next.own->name;
    }
  } else if (mode == "blas") {
    const BlasLibrary* blas = load_blas(&why);
    if (!blas) return "no usable BLAS: " + why;
    next.blas = blas;
    next.name = blas->name;
  } else if (mode == "openblas" || mode == "blis" || mode == "accelerate") {
    // A BLAS by name: only the one that load_blas() found can be used.
    const BlasLibrary* blas = load_blas(&why);
    if (!blas) return "no usable BLAS: " + why;
    if (blas->name != mode) return mode + " is not the BLAS found here (" + blas->name + " at " + blas->path + ")";
    next.blas = blas;
    next.name = blas->name;
  } else if (mode == "own") {
    next.own = best_own_kernel();
    next.name = next.own->name;
  } else {
    next.own = own_kernel_named(mode, &why);
    if (!next.own) return why;
    next.name = next.own->name;
  }
  std::lock_guard<std::mutex> lock(path_mu);
  current_path = next;
  return "";
}

std::string active_gemm() { return path_snapshot().name; }

std::vector<std::string> available_own_kernels() {
  std::vector<std::string> out;
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && kernels_avx512()) out.push_back("own-avx512");
  if (f.avx2_fma && kernels_avx2()) out.push_back("own-avx2");
  if (f.neon && kernels_neon()) out.push_back("own-neon");
  out.push_back("own-scalar");
  return out;
}

BlasStatus blas_status() {
  BlasStatus s;
  std::string why;
  const BlasLibrary* lib = load_blas(&why);
  if (lib) {
    s.found = true;
    s.name = lib->name;
    s.path = lib->path;
    s.detail = lib->detail;
  } else {
    s.why = why;
  }
  return s;
}

void set_threads(int n) { ThreadPool::instance().set_threads(n); }
int threads() { return ThreadPool::instance().threads(); }

}  // namespace ft
