// Batched, broadcasting SGEMM with a fused epilogue (bias + activation), run on the platform BLAS
// or on the own kernels, spread over the thread pool. Row-major throughout:
//   C[b] = act(alpha * op(A[b]) op(B[b]) + beta * C[b] + bias)
// op(A) is m x k (A stored k x m when trans_a), op(B) is k x n (B stored n x k when trans_b).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ft {

// kGeluErf / kGeluTanh: the engine's GELU forms (transformers' gelu and gelu_new), applied with the
// vectorised math kernels while the block is in cache, bit-identical to the separate GELU op.
enum class Activation { kLinear, kRelu, kRelu6, kElu, kSigmoid, kLeakyRelu, kPrelu, kGeluErf, kGeluTanh };

// Parses "linear", "relu", ...; false for an unknown name.
bool parse_activation(const std::string& name, Activation* out);

struct Epilogue {
  const float* bias = nullptr;  // length 1 (broadcast) or n (per column); nullptr: none
  int64_t bias_len = 0;
  Activation activation = Activation::kLinear;
  float leaky_alpha = 0.2f;
  const float* prelu = nullptr;  // length 1 or n, for kPrelu
  int64_t prelu_len = 0;
  bool active() const { return bias != nullptr || activation != Activation::kLinear; }
};

struct GemmCall {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f, beta = 0.0f;
  const float* a = nullptr;
  const float* b = nullptr;
  float* c = nullptr;
  // Number of output matrices (0 is allowed), and for each the element offsets of its A and B
  // matrices. Empty offset vectors mean offsets 0 for every matrix.
  // Broadcasting is resolved by whoever builds the call (see broadcast_offsets).
  int64_t batch = 1;
  std::vector<int64_t> a_offsets, b_offsets;
  Epilogue epilogue;
};

// Resolves numpy-style broadcasting of two batch shapes (aligned on the right, size-1 dims
// broadcast). Fills the output batch shape and the matrix offsets of A and B for each output
// matrix (in units of whole matrices, multiply by the matrix size). Returns an error message, or
// "" on success.
std::string broadcast_offsets(const std::vector<int64_t>& a_batch, const std::vector<int64_t>& b_batch,
                              std::vector<int64_t>* out_batch, std::vector<int64_t>* a_index,
                              std::vector<int64_t>* b_index);

// Runs the call on the active GEMM path. The arrays must be valid for the sizes given (the
// addon checks the lengths). Returns "" or an error message.
std::string gemm_run(const GemmCall& call);

// Chooses the GEMM path: "auto" (BLAS when found, else the best own kernel), "blas", "own"
// (best own kernel for this CPU), one own kernel ("own-avx512", "own-avx2", "own-neon",
// "own-scalar") or the BLAS by name ("openblas", "blis", "accelerate": only the one found).
// Returns "" or why the path is unavailable (the previous path stays active).
std::string select_gemm(const std::string& mode);

// The active path: "openblas", "blis", "accelerate", "own-avx512", "own-avx2", "own-neon" or
// "own-scalar".
std::string active_gemm();

// Own kernels this build and CPU can run, best first.
std::vector<std::string> available_own_kernels();

// BLAS details: the library name/path/detail when found, or why not (in `why`).
struct BlasStatus {
  bool found = false;
  std::string name, path, detail, why;
};
BlasStatus blas_status();

// Thread pool size (including the caller).
void set_threads(int n);
int threads();

}  // namespace ft
