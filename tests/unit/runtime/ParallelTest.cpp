//===- ParallelTest.cpp - the parallel loops compiled kernels call ----------===//
//
// ganc_rt_parallel_for runs every iteration of [0, n) exactly once: through
// tbb::parallel_for in chunks of at most `grain`; in the team of a ParallelRegion in calls
// of whole chunks (a call starts at a multiple of grain), also for loops too large for the
// team's tickets, and with the helpers taking part on two threads; inside a region of one
// thread, in one call. rt::parallelFor, the runtime's own loops, runs the same way.
//
//===----------------------------------------------------------------------===//
#include "Threads.h"
#include "ganc_rt.h"

#include <gtest/gtest.h>
#include <tbb/info.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

using namespace ganc;

namespace {

/// What a loop's chunks did: how often each iteration ran, the largest chunk, and
/// whether a chunk ran on a thread other than the caller's.
struct Record {
  explicit Record(int64_t n) : runs(new std::atomic<int>[static_cast<size_t>(n)]), n(n) {
    for (int64_t i = 0; i < n; ++i)
      runs[i] = 0;
  }
  std::unique_ptr<std::atomic<int>[]> runs;
  int64_t n;
  std::atomic<int64_t> largest{0};
  std::atomic<int64_t> grain{0}; ///< when set, every call must start at a multiple
  std::atomic<bool> misaligned{false};
  std::atomic<bool> elsewhere{false};
  std::thread::id caller = std::this_thread::get_id();
  double spinMicros = 0;
};

void kernel(void *ctx, int64_t begin, int64_t end) {
  Record &r = *static_cast<Record *>(ctx);
  for (int64_t i = begin; i < end; ++i)
    r.runs[i].fetch_add(1, std::memory_order_relaxed);
  if (r.grain > 0 && begin % r.grain != 0)
    r.misaligned = true;
  int64_t size = end - begin, seen = r.largest.load();
  while (size > seen && !r.largest.compare_exchange_weak(seen, size)) {
  }
  if (std::this_thread::get_id() != r.caller)
    r.elsewhere = true;
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::duration<double, std::micro>(r.spinMicros);
  while (Clock::now() < until) {
  }
}

/// The iterations of r that did not run exactly once.
int64_t notOnce(const Record &r) {
  int64_t wrong = 0;
  for (int64_t i = 0; i < r.n; ++i)
    wrong += r.runs[i].load() != 1;
  return wrong;
}

/// Whether some chunk ran on another thread than the caller's in loops of 32 chunks of 50
/// us that `run` runs (in a region of two threads: within two seconds one does, however
/// loaded the machine), each of which ran every iteration once.
bool helperTakesPart(const std::function<void(Record &)> &run) {
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)) {
    Record r(32);
    r.spinMicros = 50;
    run(r);
    EXPECT_EQ(notOnce(r), 0);
    if (r.elsewhere)
      return true;
  }
  return false;
}

/// Runs the loop and checks that every iteration ran once: in chunks of at most grain
/// outside a region, in calls of whole chunks inside one.
void expectEachOnce(int64_t n, int64_t grain, bool inRegion) {
  Record r(n);
  r.grain = std::max<int64_t>(grain, 1);
  ganc_rt_parallel_for(kernel, &r, n, grain);
  EXPECT_EQ(notOnce(r), 0) << "n " << n << ", grain " << grain;
  if (inRegion && tbb::info::default_concurrency() >= 2) // else TBB runs the loop
    EXPECT_FALSE(r.misaligned.load()) << "n " << n << ", grain " << grain;
  else
    EXPECT_LE(r.largest.load(), std::max<int64_t>(grain, 1)) << "n " << n << ", grain " << grain;
}

/// Loops as (n, grain); the last has more chunks than a team's ticket holds.
const std::vector<std::pair<int64_t, int64_t>> kLoops = {
    {1, 1},      {7, 100},  {16, 1},    {98, 2}, {100, 7},
    {128, 5462}, {1000, 3}, {4097, 64}, {33, 0}, {(int64_t{1} << 20) + 5, 1}};

TEST(Parallel, EveryIterationRunsOnceOutsideARegion) {
  rt::ThreadLimit limit(2);
  for (auto [n, grain] : kLoops)
    expectEachOnce(n, grain, false);
}

TEST(Parallel, EveryIterationRunsOnceInARegion) {
  rt::ThreadLimit limit(2);
  rt::ParallelRegion region;
  // Many loops one after another, as a step runs them: each loop's tickets must not let
  // a chunk of the previous one run again or be lost.
  for (int round = 0; round < 200; ++round)
    for (auto [n, grain] : kLoops)
      if (n < 100000 || round == 0)
        expectEachOnce(n, grain, true);
}

TEST(Parallel, NestedAndOneThreadRegionsRunEveryIteration) {
  {
    // One thread: each loop is one call over all its iterations, also in a nested region.
    rt::ThreadLimit limit(1);
    rt::ParallelRegion region;
    for (int nested = 0; nested < 2; ++nested) {
      std::optional<rt::ParallelRegion> inner;
      if (nested)
        inner.emplace();
      Record r(1000);
      ganc_rt_parallel_for(kernel, &r, 1000, 3);
      EXPECT_EQ(notOnce(r), 0);
      EXPECT_EQ(r.largest.load(), 1000);
      EXPECT_FALSE(r.elsewhere);
    }
    Record r(1000); // after the inner region closed, still one call
    ganc_rt_parallel_for(kernel, &r, 1000, 3);
    EXPECT_EQ(r.largest.load(), 1000);
  }
  {
    // Outside a region, one thread still runs chunks of at most grain.
    rt::ThreadLimit limit(1);
    expectEachOnce(1000, 3, false);
  }
  rt::ThreadLimit limit(2);
  rt::ParallelRegion outer;
  {
    rt::ParallelRegion inner;
    expectEachOnce(1000, 3, true);
  }
  expectEachOnce(1000, 3, true); // the outer region's team still runs loops after the inner one
}

TEST(Parallel, RuntimeLoopsRunEveryIterationOnceAndShareTheTeam) {
  rt::ThreadLimit limit(2);
  auto run = [](Record &r, int64_t grain) {
    rt::parallelFor(r.n, grain, [&](int64_t begin, int64_t end) { kernel(&r, begin, end); });
  };
  for (auto [n, grain] : kLoops) {
    Record r(n);
    run(r, grain);
    EXPECT_EQ(notOnce(r), 0) << "n " << n << ", grain " << grain;
    EXPECT_LE(r.largest.load(), std::max<int64_t>(grain, 1)) << "n " << n << ", grain " << grain;
  }
  if (tbb::info::default_concurrency() < 2)
    return;
  rt::ParallelRegion region;
  EXPECT_TRUE(helperTakesPart([&](Record &r) { run(r, 1); }))
      << "no chunk ran on the region's helper";
}

TEST(Parallel, HelpersTakeChunksInARegion) {
  if (tbb::info::default_concurrency() < 2)
    GTEST_SKIP() << "one core: a region of one thread has no helpers";
  rt::ThreadLimit limit(2);
  rt::ParallelRegion region;
  EXPECT_TRUE(helperTakesPart([](Record &r) { ganc_rt_parallel_for(kernel, &r, 32, 1); }));
}

} // namespace
