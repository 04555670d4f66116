//===- Parallel.cpp - the TBB side of compiled kernels --------------------===//
#include "ganc_rt.h"

#include "FloatMode.h"
#include "Profile.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unordered_map>

namespace ganc::rt {
namespace {

struct KernelStats {
  const KernelInfo *info;
  int64_t calls = 0;
  double seconds = 0;
};

/// The profile being recorded, or null. Compiled steps run one at a time, from one
/// thread, so the table needs no lock.
struct Profile {
  std::vector<KernelInfo> kernels;
  std::unordered_map<const void *, KernelStats> stats;
};
Profile *activeProfile = nullptr;

void runKernel(ganc_rt_kernel_fn kernel, void *ctx, int64_t n, int64_t grain);

} // namespace

void startProfile(const std::vector<StepFunction> &fns) {
  delete activeProfile;
  activeProfile = nullptr;
  auto *p = new Profile;
  for (const StepFunction &f : fns)
    p->kernels.insert(p->kernels.end(), f.kernels.begin(), f.kernels.end());
  for (const KernelInfo &k : p->kernels)
    p->stats[k.address] = {&k};
  activeProfile = p;
}

void stopProfile(std::ostream &os, int limit) {
  Profile *p = activeProfile;
  activeProfile = nullptr;
  if (!p)
    return;
  std::vector<KernelStats> rows;
  double total = 0;
  for (auto &[addr, s] : p->stats)
    if (s.calls > 0) {
      rows.push_back(s);
      total += s.seconds;
    }
  std::sort(rows.begin(), rows.end(), [](const KernelStats &a, const KernelStats &b) {
    return a.seconds != b.seconds ? a.seconds > b.seconds : a.info->name < b.info->name;
  });
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %-16s %9s %10s %7s %9s\n", "kernel", "source", "calls",
                "total ms", "share", "GFLOP/s");
  os << line;
  int shown = 0;
  for (const KernelStats &s : rows) {
    if (shown++ == limit)
      break;
    double gflops = s.seconds > 0 ? s.info->flops * static_cast<double>(s.calls) / s.seconds / 1e9 : 0;
    std::string name = s.info->name.substr(0, s.info->name.find_last_of('.'));
    std::snprintf(line, sizeof line, "%-28s %-16s %9lld %10.2f %6.1f%% %9.2f\n", name.c_str(),
                  s.info->loc.c_str(), static_cast<long long>(s.calls), s.seconds * 1e3,
                  total > 0 ? 100 * s.seconds / total : 0, gflops);
    os << line;
  }
  std::snprintf(line, sizeof line, "%-28s %-16s %9s %10.2f %6.1f%%\n", "total", "", "", total * 1e3, 100.0);
  os << line;
  delete p;
}

} // namespace ganc::rt

extern "C" void ganc_rt_parallel_for(ganc_rt_kernel_fn kernel, void *ctx, int64_t n,
                                     int64_t grain) {
  using namespace ganc::rt;
  if (!activeProfile) {
    runKernel(kernel, ctx, n, grain);
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  runKernel(kernel, ctx, n, grain);
  auto it = activeProfile->stats.find(reinterpret_cast<const void *>(kernel));
  if (it == activeProfile->stats.end())
    return;
  it->second.calls++;
  it->second.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

namespace ganc::rt {
namespace {

void runKernel(ganc_rt_kernel_fn kernel, void *ctx, int64_t n, int64_t grain) {
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
      [&](const tbb::blocked_range<int64_t> &r) {
        FlushDenormals mode; // the chunk may run on a TBB worker: see FloatMode.h
        kernel(ctx, r.begin(), r.end());
      },
      tbb::simple_partitioner());
}

} // namespace
} // namespace ganc::rt

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
