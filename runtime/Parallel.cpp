//===- Parallel.cpp - the TBB side of compiled kernels --------------------===//
#include "ganc_rt.h"

#include "FloatMode.h"
#include "Profile.h"

#include "Threads.h"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <unordered_map>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GANC_CPU_PAUSE() _mm_pause()
#else
#define GANC_CPU_PAUSE() std::this_thread::yield()
#endif

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

/// The team of a parallel region (ParallelRegion in Threads.h): the thread that opened it
/// (the leader, member 0, which runs the step and posts each kernel's loop) and helper
/// tasks on TBB's workers (members 1, 2, ...), which spin between loops. A loop's chunks
/// of grain iterations are dealt out in contiguous blocks, one a member, the same block
/// to the same member in every loop, as static partitioning would: consecutive kernels
/// split their rows alike, so what a core wrote it mostly reads back itself (dealing the
/// chunks round-robin instead made the tutorial's iteration 4% slower). Each member runs
/// its block's chunks in order, claiming half of what is left of it at a time and running
/// those chunks as one call of the kernel (the tutorial's iteration 1-4% faster than a
/// call a chunk), and then takes chunks left in the others' blocks one by one, so a
/// member that is late, slow or not started yet (a worker still waking up) holds nobody
/// up for long: the leader never waits for a helper, only for chunks that were claimed.
///
/// A block's ticket packs the loop's generation with the block's next and end chunks, so a
/// claim is one compare-and-swap that also checks that the loop is still the one its
/// claimer read; the loop's kernel, context and sizes are read only after a successful
/// claim, and the leader rewrites them only after every chunk of the loop has finished.
class Team {
public:
  /// Chunks a loop may have (larger loops go to tbb::parallel_for).
  static constexpr uint64_t kMaxChunks = (uint64_t{1} << 20) - 1;

  Team() : blocks_(static_cast<size_t>(std::max(1, tbb::info::default_concurrency()))) {}

  /// Starts helpers for a region of `threads` threads, the caller included (at most one a
  /// core).
  void open(int threads) {
    members_ = std::min(threads, static_cast<int>(blocks_.size()));
    closing_.store(false, std::memory_order_relaxed);
    for (int i = 1; i < members_; ++i)
      helpers_.run([this, i] { help(i); });
    active_ = true;
  }
  /// Stops the helpers and waits for them to leave (a helper not started yet runs here and
  /// leaves at once).
  void close() {
    closing_.store(true, std::memory_order_release);
    helpers_.wait();
    active_ = false;
  }
  bool active() const { return active_; }

  /// Runs the loop with the helpers; false when it has too many chunks for the tickets.
  bool run(ganc_rt_kernel_fn kernel, void *ctx, int64_t n, int64_t grain) {
    const uint64_t chunks = static_cast<uint64_t>((n + grain - 1) / grain);
    if (chunks > kMaxChunks)
      return false;
    kernel_ = kernel, ctx_ = ctx, n_ = n, grain_ = grain;
    finished_.store(0, std::memory_order_relaxed);
    generation_ = (generation_ + 1) & kMask24;
    const uint64_t P = static_cast<uint64_t>(members_);
    for (uint64_t i = 0; i < P; ++i)
      blocks_[i].ticket.store(generation_ << 40 | (i * chunks / P) << 20 | (i + 1) * chunks / P,
                              std::memory_order_release);
    work(0);
    while (finished_.load(std::memory_order_acquire) < chunks)
      GANC_CPU_PAUSE();
    return true;
  }

private:
  static constexpr uint64_t kMask20 = kMaxChunks, kMask24 = (uint64_t{1} << 24) - 1;
  static constexpr uint64_t kNextOne = uint64_t{1} << 20;
  static bool open(uint64_t ticket) { return (ticket >> 20 & kMask20) < (ticket & kMask20); }

  /// Claims and runs chunks of the open loop until none is left: member `me`'s own block
  /// first, then the others'.
  void work(int me) {
    for (int j = 0; j < members_; ++j) {
      std::atomic<uint64_t> &ticket = blocks_[static_cast<size_t>((me + j) % members_)].ticket;
      uint64_t t = ticket.load(std::memory_order_acquire);
      while (open(t)) {
        // Half of what is left of its own block (one call runs several chunks), one
        // chunk at a time of another's.
        const uint64_t take = j == 0 ? ((t & kMask20) - (t >> 20 & kMask20) + 1) / 2 : 1;
        if (!ticket.compare_exchange_weak(t, t + take * kNextOne, std::memory_order_acquire,
                                          std::memory_order_acquire))
          continue;
        const int64_t begin = static_cast<int64_t>(t >> 20 & kMask20) * grain_;
        kernel_(ctx_, begin, std::min(n_, begin + static_cast<int64_t>(take) * grain_));
        finished_.fetch_add(take, std::memory_order_release);
        t = ticket.load(std::memory_order_acquire);
      }
    }
  }

  /// Helper `me`: runs chunks of each loop the leader posts until the region closes. It
  /// spins on the tickets (a loop starts within a fraction of a microsecond of its post,
  /// where waking a sleeping TBB worker takes tens), and yields its core between looks
  /// once it has waited long, so a busy machine is not kept from the leader.
  void help(int me) {
    FlushDenormals mode;         // see FloatMode.h
    constexpr int kSpins = 4096; // of a pause each: some 50-150 us
    int idle = 0;
    while (!closing_.load(std::memory_order_acquire)) {
      bool any = false;
      for (int j = 0; j < members_ && !any; ++j)
        any = open(blocks_[static_cast<size_t>(j)].ticket.load(std::memory_order_acquire));
      if (any) {
        work(me);
        idle = 0;
      } else if (idle < kSpins) { // counted up to kSpins only: a region may idle for hours
        ++idle;
        GANC_CPU_PAUSE();
      } else {
        std::this_thread::yield();
      }
    }
  }

  struct alignas(64) Block {
    std::atomic<uint64_t> ticket{0}; ///< generation << 40 | next chunk << 20 | end chunk
  };
  std::vector<Block> blocks_;
  alignas(64) std::atomic<uint64_t> finished_{0};  ///< chunks of the open loop finished
  alignas(64) ganc_rt_kernel_fn kernel_ = nullptr; ///< the open loop, written by the leader
  void *ctx_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  uint64_t generation_ = 0;
  int members_ = 1;
  std::atomic<bool> closing_{false};
  bool active_ = false;
  tbb::task_group helpers_;
};

/// The team of the region open on this thread, if any.
thread_local Team team;
/// Whether a region of one thread is open on this thread.
thread_local bool serialRegion = false;

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
  if (team.active() && team.run(kernel, ctx, n, grain))
    return;
  if (serialRegion) {
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

ParallelRegion::ParallelRegion() {
  if (team.active() || serialRegion)
    return; // inside another region of this thread: it runs the loops
  // More threads than cores would leave spinning helpers waiting for a core: TBB's own
  // scheduling serves better there.
  const int threads = activeThreads();
  if (threads < 2) {
    serialRegion = serial_ = true;
    return;
  }
  if (threads > tbb::info::default_concurrency())
    return;
  team.open(threads);
  opened_ = true;
}

ParallelRegion::~ParallelRegion() {
  if (serial_)
    serialRegion = false;
  if (opened_)
    team.close();
}

void parallelFor(int64_t n, int64_t grain, void (*body)(void *, int64_t, int64_t), void *ctx) {
  FlushDenormals mode; // as the team's helpers and the TBB path's chunks run
  runKernel(body, ctx, n, grain);
}

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
