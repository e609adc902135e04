// A persistent pool of worker threads for the GEMM driver. The calling thread takes part in every
// job, so a pool of size n starts n - 1 workers. Workers spin briefly after a job (training issues
// many GEMMs back to back) and then sleep on a condition variable, so an idle pool costs no CPU.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace ft {

class ThreadPool {
 public:
  using TaskFn = void (*)(void* ctx, int64_t task);

  static ThreadPool& instance();

  // Total threads including the caller; at least 1. Joins or starts workers as needed.
  void set_threads(int n);
  int threads() const { return threads_.load(std::memory_order_relaxed); }

  // Runs fn(ctx, t) for every t in [0, ntasks), spread over the pool, and returns when all are
  // done. Tasks must not throw. A call made while another thread is running a job (Node worker
  // threads share the pool) runs its tasks serially on its own thread rather than waiting.
  void run(int64_t ntasks, TaskFn fn, void* ctx);

 private:
  ThreadPool() = default;
  void worker_loop(uint64_t seen);
  void stop_workers();
  void start_workers(int count);
  void work_on_current_job();

  std::atomic<int> threads_{1};
  std::mutex run_mu_;  // one job at a time
  std::mutex mu_;      // guards the job fields, busy_ and generation changes
  std::condition_variable wake_cv_;
  std::condition_variable idle_cv_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
  int busy_ = 0;                      // workers inside the current job
  std::atomic<uint64_t> generation_{0};
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t ntasks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> done_{0};
};

}  // namespace ft

namespace ft {

// Splits [0, n) into contiguous ranges of at least `grain` items and runs fn(begin, end) on the
// pool (serially when the work is small).
template <typename F>
void parallel_ranges(int64_t n, int64_t grain, const F& fn) {
  if (n <= 0) return;
  ThreadPool& pool = ThreadPool::instance();
  const int64_t threads = pool.threads();
  if (threads <= 1 || n <= grain) {
    fn(int64_t{0}, n);
    return;
  }
  // A few ranges per thread, so that a thread slowed by another process does not hold up the rest.
  int64_t ranges = std::min<int64_t>(threads * 4, (n + grain - 1) / grain);
  if (ranges < 1) ranges = 1;
  struct Ctx {
    const F* fn;
    int64_t n, ranges;
  } ctx{&fn, n, ranges};
  pool.run(
      ranges,
      [](void* p, int64_t t) {
        const Ctx& c = *static_cast<const Ctx*>(p);
        const int64_t begin = c.n * t / c.ranges;
        const int64_t end = c.n * (t + 1) / c.ranges;
        if (begin < end) (*c.fn)(begin, end);
      },
      &ctx);
}

}  // namespace ft
