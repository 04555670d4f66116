//===- Threads.h - how many threads the runtime may use ---------*- C++ -*-===//
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>

namespace ganc::rt {

/// While alive, limits the runtime's parallelism to `threads` (0: all cores).
class ThreadLimit {
public:
  explicit ThreadLimit(int threads);
  ~ThreadLimit();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The number of threads the runtime would use now.
int activeThreads();

/// Runs body(begin, end) over [0, n) in chunks of at most `grain` iterations, as compiled
/// kernels' loops run: on the team of the region open on this thread (see
/// ParallelRegion), else on TBB's threads, with denormals flushed everywhere (FloatMode.h).
/// For the runtime's own loops between kernels (the batch copy), so that they share the
/// step's team instead of waking TBB's workers. `body` is called through a plain function
/// pointer, so a loop inside the step loop allocates nothing.
void parallelFor(int64_t n, int64_t grain, void (*body)(void *ctx, int64_t begin, int64_t end),
                 void *ctx);
template <class Body> void parallelFor(int64_t n, int64_t grain, Body &&body) {
  using B = std::remove_reference_t<Body>;
  parallelFor(
      n, grain, [](void *ctx, int64_t begin, int64_t end) { (*static_cast<B *>(ctx))(begin, end); },
      const_cast<void *>(static_cast<const void *>(&body)));
}

/// While alive, the parallel loops of compiled kernels called on this thread are shared
/// with a team of helpers running as tasks on TBB's workers, which wait for the next loop
/// spinning instead of asleep: an iteration of the tutorial's GAN runs some twenty
/// parallel loops of 10-150 us, and each tbb::parallel_for spent 2-6 us starting and
/// joining. Executable::run opens one around each step. On one thread, each loop is one
/// call of its kernel over all its iterations, with no task to split and schedule (one
/// thread's tutorial iteration 5% faster than through tbb::parallel_for). Does nothing
/// inside another region of the thread, or with more threads than cores.
class ParallelRegion {
public:
  ParallelRegion();
  ~ParallelRegion();
  ParallelRegion(const ParallelRegion &) = delete;
  ParallelRegion &operator=(const ParallelRegion &) = delete;

private:
  bool opened_ = false; ///< a team of helpers
  bool serial_ = false; ///< a region of one thread
};

} // namespace ganc::rt
