#include "thread_pool.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#include <immintrin.h>
#define FT_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define FT_PAUSE() __asm__ __volatile__("yield")
#else
#define FT_PAUSE() ((void)0)
#endif

namespace ft {

namespace {
// Roughly 0.1-0.3 ms of spinning before a worker sleeps.
constexpr int kSpinIterations = 4000;
}  // namespace

ThreadPool& ThreadPool::instance() {
  // Never destroyed: worker threads must not be joined from static destructors at process exit.
  static ThreadPool* pool = new ThreadPool();
  return *pool;
}

void ThreadPool::set_threads(int n) {
  if (n < 1) n = 1;
  std::lock_guard<std::mutex> run_lock(run_mu_);
  if (static_cast<int>(workers_.size()) == n - 1) {
    threads_.store(n);
    return;
  }
  stop_workers();
  start_workers(n - 1);
  threads_.store(n);
}

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = false;
}

void ThreadPool::start_workers(int count) {
  const uint64_t seen = generation_.load();
  for (int i = 0; i < count; i++) workers_.emplace_back([this, seen] { worker_loop(seen); });
}

void ThreadPool::work_on_current_job() {
  for (;;) {
    const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
    if (t >= ntasks_) break;
    fn_(ctx_, t);
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == ntasks_) {
      std::lock_guard<std::mutex> lock(mu_);
      idle_cv_.notify_all();
    }
  }
}

void ThreadPool::worker_loop(uint64_t seen) {
  for (;;) {
    for (int i = 0; i < kSpinIterations && generation_.load(std::memory_order_acquire) == seen; i++) FT_PAUSE();
    std::unique_lock<std::mutex> lock(mu_);
    wake_cv_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
    if (stop_) return;
    seen = generation_.load();
    busy_++;
    lock.unlock();
    work_on_current_job();
    lock.lock();
    if (--busy_ == 0) idle_cv_.notify_all();
  }
}

void ThreadPool::run(int64_t ntasks, TaskFn fn, void* ctx) {
  if (ntasks <= 0) return;
  std::unique_lock<std::mutex> run_lock(run_mu_, std::try_to_lock);
  if (ntasks == 1 || !run_lock.owns_lock() || workers_.empty()) {
    for (int64_t t = 0; t < ntasks; t++) fn(ctx, t);
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Workers still inside the previous job (late arrivals finding no task) must leave before the
    // job fields change under them.
    idle_cv_.wait(lock, [&] { return busy_ == 0; });
    fn_ = fn;
    ctx_ = ctx;
    ntasks_ = ntasks;
    next_.store(0);
    done_.store(0);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  work_on_current_job();
  for (int i = 0; i < kSpinIterations && done_.load(std::memory_order_acquire) != ntasks; i++) FT_PAUSE();
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return done_.load() == ntasks; });
}

}  // namespace ft
