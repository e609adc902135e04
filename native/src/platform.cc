#include "platform.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define FT_X86 1
#if defined(_MSC_VER)
#include <intrin.h>
#include <immintrin.h>
#else
#include <cpuid.h>
#endif
#endif

#if defined(__linux__)
#include <sched.h>
#include <unistd.h>
#endif

#if defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>
#endif

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#endif

namespace ft {

namespace {

#if FT_X86
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
#if defined(_MSC_VER)
  int v[4];
  __cpuidex(v, static_cast<int>(leaf), static_cast<int>(sub));
  for (int i = 0; i < 4; i++) r[i] = static_cast<unsigned>(v[i]);
#else
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

unsigned long long xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}

#if defined(__APPLE__)
bool sysctl_flag(const char* name) {
  int v = 0;
  size_t len = sizeof(v);
  return sysctlbyname(name, &v, &len, nullptr, 0) == 0 && v != 0;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  if (max_leaf < 7) return f;
  cpuid(1, 0, r);
  const bool fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
  if (!osxsave || !avx) return f;
  const unsigned long long xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;
  cpuid(7, 0, r);
  const bool avx2 = (r[1] >> 5) & 1, avx512f = (r[1] >> 16) & 1;
  f.avx2_fma = ymm_state && avx2 && fma;
#if defined(__APPLE__)
  // macOS enables the AVX-512 register state lazily, on first use, so XCR0 cannot be trusted.
  f.avx512f = f.avx2_fma && sysctl_flag("hw.optional.avx512f");
#else
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;
  f.avx512f = f.avx2_fma && zmm_state && avx512f;
#endif
  return f;
}
#else
CpuFeatures detect() {
  CpuFeatures f;
#if defined(__aarch64__) || defined(_M_ARM64)
  f.neon = true;
#endif
  return f;
}
#endif

#if defined(__linux__)
// Reads one integer from a sysfs file; -1 when absent.
long read_long(const std::string& path) {
  std::ifstream in(path);
  long v = -1;
  if (!(in >> v)) return -1;
  return v;
}

// CPU quota of the cgroup (v2 cpu.max, or v1 cfs quota/period), rounded up; 0 when unlimited.
int cgroup_cpu_limit() {
  std::ifstream v2("/sys/fs/cgroup/cpu.max");
  std::string quota;
  long period = 0;
  if (v2 >> quota >> period) {
    if (quota == "max" || period <= 0) return 0;
    const double q = std::atof(quota.c_str());
    return q > 0 ? static_cast<int>(std::ceil(q / static_cast<double>(period))) : 0;
  }
  const long q1 = read_long("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  const long p1 = read_long("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  if (q1 > 0 && p1 > 0) return static_cast<int>((q1 + p1 - 1) / p1);
  return 0;
}
#endif

std::pair<int, std::string> detect_threads() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int logical = CPU_COUNT(&set);
    std::set<std::pair<long, long>> cores;
    bool topology = true;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
      if (!CPU_ISSET(cpu, &set)) continue;
      const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
      const long core = read_long(base + "core_id");
      const long pkg = read_long(base + "physical_package_id");
      if (core < 0) {
        topology = false;
        break;
      }
      cores.insert({pkg, core});
    }
    int n = topology && !cores.empty() ? static_cast<int>(cores.size()) : logical;
    std::ostringstream why;
    why << n << (topology ? " physical cores" : " logical CPUs") << " in the affinity mask of " << logical
        << " CPUs";
    const int quota = cgroup_cpu_limit();
    if (quota > 0 && quota < n) {
      n = quota;
      why << ", limited to " << quota << " by the cgroup CPU quota";
    }
    return {std::max(1, n), why.str()};
  }
#elif defined(__APPLE__)
  int n = 0;
  size_t len = sizeof(n);
  // Performance cores only on Apple Silicon: efficiency cores slow a statically split GEMM down.
  if (sysctlbyname("hw.perflevel0.physicalcpu", &n, &len, nullptr, 0) == 0 && n > 0)
    return {n, std::to_string(n) + " performance cores (hw.perflevel0.physicalcpu)"};
  len = sizeof(n);
  if (sysctlbyname("hw.physicalcpu", &n, &len, nullptr, 0) == 0 && n > 0)
    return {n, std::to_string(n) + " physical cores (hw.physicalcpu)"};
#elif defined(_WIN32)
  DWORD len = 0;
  GetLogicalProcessorInformationEx(RelationProcessorCore, nullptr, &len);
  if (len > 0) {
    std::string buf(len, '\0');
    auto* info = reinterpret_cast<SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX*>(&buf[0]);
    if (GetLogicalProcessorInformationEx(RelationProcessorCore, info, &len)) {
      int n = 0;
      for (DWORD off = 0; off < len;) {
        auto* p = reinterpret_cast<SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX*>(&buf[off]);
        n++;
        off += p->Size;
      }
      if (n > 0) return {n, std::to_string(n) + " physical cores"};
    }
  }
#endif
  const unsigned hc = std::thread::hardware_concurrency();
  const int n = hc > 0 ? static_cast<int>(hc) : 1;
  return {n, std::to_string(n) + " logical CPUs (hardware_concurrency)"};
}

const std::pair<int, std::string>& thread_info() {
  static const std::pair<int, std::string> info = detect_threads();
  return info;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

int default_thread_count() { return thread_info().first; }

std::string thread_count_source() { return thread_info().second; }

}  // namespace ft
