#include "blas_loader.h"

#include <cstdlib>
#include <mutex>

#if defined(_WIN32)
// No run-time BLAS lookup on Windows yet: the own kernels are used.
#else
#include <dlfcn.h>
#include <limits.h>
#if defined(__linux__)
#include <link.h>
#endif
#endif

namespace ft {

namespace {

#if !defined(_WIN32)
std::string loaded_path(void* handle, const char* fallback) {
#if defined(__linux__)
  struct link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && map->l_name[0]) {
    char resolved[PATH_MAX];
    if (realpath(map->l_name, resolved)) return resolved;
    return map->l_name;
  }
#else
  (void)handle;
#endif
  return fallback;
}

template <typename F>
F symbol(void* handle, const char* name) {
  return reinterpret_cast<F>(dlsym(handle, name));
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// Tries one file. Returns true and fills `lib` when it is a BLAS we trust to be fast.
bool try_library(const char* file, BlasLibrary* lib, std::string* why) {
  void* h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* err = dlerror();
    *why += std::string(file) + ": not found" + (err && contains(err, "No such file") ? "" : std::string(" (") + (err ? err : "?") + ")") + "; ";
    return false;
  }
  auto sgemm = symbol<CblasSgemm>(h, "cblas_sgemm");
  if (!sgemm) {
    *why += std::string(file) + ": has no cblas_sgemm; ";
    dlclose(h);
    return false;
  }
  const std::string path = loaded_path(h, file);
  // dlsym on a handle also searches the library's dependencies, so libblas.so.3 from Debian's
  // OpenBLAS (a thin wrapper over libopenblas.so.0) still reveals openblas_set_num_threads.
  auto openblas_set = symbol<void (*)(int)>(h, "openblas_set_num_threads");
  auto openblas_config = symbol<const char* (*)()>(h, "openblas_get_config");
  auto openblas_core = symbol<const char* (*)()>(h, "openblas_get_corename");
  auto blis_set = symbol<void (*)(long)>(h, "bli_thread_set_num_threads");
  auto blis_version = symbol<const char* (*)()>(h, "bli_info_get_version_str");
  if (openblas_set) {
    // Our pool splits every GEMM; OpenBLAS runs each piece on the calling thread. Its own
    // threads would oversubscribe the cores and spin after every call.
    openblas_set(1);
    lib->name = "openblas";
    if (openblas_config) lib->detail = openblas_config();
    if (openblas_core) lib->detail += std::string(" core=") + openblas_core();
  } else if (blis_set) {
    blis_set(1);
    lib->name = "blis";
    if (blis_version) lib->detail = std::string("BLIS ") + blis_version();
  } else {
    *why += std::string(file) + " (" + path +
            "): neither OpenBLAS nor BLIS (a reference BLAS is slower than the own kernels); ";
    dlclose(h);
    return false;
  }
  lib->path = path;
  lib->sgemm = sgemm;
  lib->threads_internally = false;
  // The handle stays open for the life of the process.
  return true;
}
#endif

const BlasLibrary* load_once(std::string* why) {
  static BlasLibrary lib;
#if defined(__APPLE__)
  const char* file = "/System/Library/Frameworks/Accelerate.framework/Accelerate";
  void* h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (h) {
    auto sgemm = symbol<CblasSgemm>(h, "cblas_sgemm");
    if (sgemm) {
      lib.name = "accelerate";
      lib.path = file;
      lib.detail = "Apple Accelerate";
      lib.sgemm = sgemm;
      lib.threads_internally = true;
      return &lib;
    }
    *why = "Accelerate has no cblas_sgemm";
    return nullptr;
  }
  const char* err = dlerror();
  *why = std::string("Accelerate could not be loaded: ") + (err ? err : "?");
  return nullptr;
#elif defined(_WIN32)
  *why = "no run-time BLAS lookup on Windows";
  return nullptr;
#else
  static const char* const candidates[] = {"libopenblas.so.0", "libopenblas.so", "libblis.so.4", "libblis.so",
                                           "libblas.so.3"};
  for (const char* file : candidates) {
    if (try_library(file, &lib, why)) {
      why->clear();
      return &lib;
    }
  }
  if (why->size() >= 2) why->resize(why->size() - 2);
  return nullptr;
#endif
}

}  // namespace

const BlasLibrary* load_blas(std::string* why) {
  static std::once_flag once;
  static const BlasLibrary* result = nullptr;
  static std::string reason;
  std::call_once(once, [] { result = load_once(&reason); });
  if (!result && why) *why = reason;
  return result;
}

}  // namespace ft
