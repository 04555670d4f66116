//===- Parallel.cpp - the TBB side of compiled kernels --------------------===//
#include "ganc_rt.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

extern "C" void ganc_rt_parallel_for(ganc_rt_kernel_fn kernel, void *ctx, int64_t n,
                                     int64_t grain) {
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  // Small kernels run inline: a task switch costs more than they do.
  if (n <= grain) {
    kernel(ctx, 0, n);
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<int64_t>(0, n, static_cast<size_t>(grain)),
      [&](const tbb::blocked_range<int64_t> &r) { kernel(ctx, r.begin(), r.end()); },
      tbb::simple_partitioner());
}

#include "Threads.h"

#include <tbb/global_control.h>

namespace ganc::rt {

struct ThreadLimit::Impl {
  std::unique_ptr<tbb::global_control> control;
};

ThreadLimit::ThreadLimit(int threads) : impl_(std::make_unique<Impl>()) {
  if (threads > 0)
    impl_->control = std::make_unique<tbb::global_control>(
        tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
}
ThreadLimit::~ThreadLimit() = default;

int activeThreads() {
  return static_cast<int>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

} // namespace ganc::rt
