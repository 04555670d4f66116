//===- Threads.h - how many threads the runtime may use ---------*- C++ -*-===//
#pragma once

#include <memory>

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

} // namespace ganc::rt
