// Finds the platform BLAS at run time (dlopen), so that one binary works with or without it.
#pragma once

#include <string>
#include <vector>

namespace ft {

// cblas_sgemm with the CBLAS enum values written out (CblasRowMajor = 101, CblasNoTrans = 111,
// CblasTrans = 112); every CBLAS uses these values.
using CblasSgemm = void (*)(int order, int transa, int transb, int m, int n, int k, float alpha, const float* a,
                            int lda, const float* b, int ldb, float beta, float* c, int ldc);

struct BlasLibrary {
  std::string name;    // "openblas", "blis" or "accelerate"
  std::string path;    // the file that was loaded
  std::string detail;  // version/config string when the library reports one
  CblasSgemm sgemm = nullptr;
  // True when the library threads internally and cannot be told to stay single-threaded
  // (Accelerate): the driver then calls it once per matrix from the calling thread.
  bool threads_internally = false;
};

// Loads the first usable BLAS; returns nullptr and fills `why` (every candidate and why it was
// refused) when none is. The result is cached: later calls return the same answer.
const BlasLibrary* load_blas(std::string* why);

}  // namespace ft
