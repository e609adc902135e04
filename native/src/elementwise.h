// Memory-bound kernels for the 'native' backend: broadcasting binary ops, unary math, reductions,
// softmax, transpose and row gather, multithreaded on the GEMM thread pool. float32 data; results
// match the tfjs cpu kernels (which compute in double and round to float32) to the last bit for
// + - * / sqrt and within an ulp or two for the transcendental functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ft {

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMax, kMin, kSquaredDiff, kPow, kGreater, kGreaterEqual, kLess, kLessEqual, kEqual, kNotEqual };
enum class UnaryOp { kNeg, kExp, kLog, kSqrt, kRsqrt, kSquare, kAbs, kErf, kTanh, kReciprocal, kRelu, kSigmoid, kExpm1, kLog1p, kSign, kRelu6, kElu, kStep };
enum class ReduceOp { kSum, kMean, kMax, kMin };

bool parse_binary_op(const std::string& name, BinaryOp* op);
bool parse_unary_op(const std::string& name, UnaryOp* op);
bool parse_reduce_op(const std::string& name, ReduceOp* op);
// Comparisons write 0/1 bytes (tfjs 'bool'); the others write float32.
bool binary_op_is_comparison(BinaryOp op);

// out = a (op) b with numpy broadcasting; out_shape is the broadcast shape (validated by the
// caller). out is float* or uint8_t* (comparisons).
void binary(BinaryOp op, const float* a, const std::vector<int64_t>& a_shape, const float* b,
            const std::vector<int64_t>& b_shape, void* out, const std::vector<int64_t>& out_shape);

// out[i] = op(x[i]); alpha is the parameter of ops that take one (step: the value for x <= 0).
void unary(UnaryOp op, const float* x, float* out, int64_t n, float alpha);

// x viewed as [outer, r, inner]; out[o, i] = reduce over r. Sums accumulate in double.
void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t r, int64_t inner);

// Row-wise softmax of x [rows, cols].
void softmax(const float* x, float* out, int64_t rows, int64_t cols);

// out = transpose(x, perm) for 4-byte elements (float32, int32).
void transpose32(const uint32_t* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& perm, uint32_t* out);

// out[i, :] = x[indices[i], :] for rows of row_size 4-byte elements. Returns the first index out
// of [0, rows) (and writes nothing), or -1 when all are valid.
int64_t gather_rows32(const uint32_t* x, int64_t rows, int64_t row_size, const int32_t* indices, int64_t count,
                      uint32_t* out);

}  // namespace ft
