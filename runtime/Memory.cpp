//===- Memory.cpp - memory for the runtime's arrays -----------------------===//
#include "Memory.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ganc::rt {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kChunk = size_t{8} << 20; ///< a pool chunk, aligned to its size
constexpr size_t kPooledMax = kHugePage;   ///< larger arrays get blocks of their own
constexpr size_t kLine = 64;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPool = false; // each array its own block, so its bounds are checked
#else
constexpr bool kPool = true;
#endif

/// Rounds `bytes` up to whole cache lines (one line for an empty array).
size_t roundedSize(size_t bytes) {
  return bytes == 0 ? kLine : (bytes + kLine - 1) / kLine * kLine;
}

bool pooled(size_t bytes) { return kPool && roundedSize(bytes) <= kPooledMax; }

/// A block of `size` bytes aligned to `align`. Aligned to a huge page, its whole huge
/// pages are advised as such; a partial one at its end stays on small pages, which keeps
/// the memory a block holds close to its size.
void *alignedBlock(size_t align, size_t size) {
  void *p = nullptr;
  if (posix_memalign(&p, align, size) != 0)
    throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align >= kHugePage && size >= kHugePage)
    madvise(p, size / kHugePage * kHugePage, MADV_HUGEPAGE); // advice only
#endif
  return p;
}

/// The start of a pool chunk; arrays follow it, from the next cache line.
struct alignas(kLine) ChunkHeader {
  size_t used; ///< bytes handed out, the header included
  size_t live; ///< arrays not yet freed
};

/// The pool: its chunks, guarded by its mutex. Never destroyed, so arrays freed during
/// static destruction, whatever the order, still find it.
struct Pool {
  std::mutex mutex;
  std::vector<ChunkHeader *> chunks;
};
Pool &pool() {
  static auto *p = new Pool;
  return *p;
}

ChunkHeader *chunkOf(void *p) {
  return reinterpret_cast<ChunkHeader *>(reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{kChunk} - 1));
}

} // namespace

void *allocateArray(size_t bytes) {
  const size_t size = roundedSize(bytes);
  void *p;
  if (!pooled(bytes)) {
    p = alignedBlock(size >= kHugePage ? kHugePage : kLine, size);
  } else {
    // The first chunk with room: a chunk's tail serves later, smaller arrays.
    Pool &pl = pool();
    std::lock_guard<std::mutex> lock(pl.mutex);
    std::vector<ChunkHeader *> &chunks = pl.chunks;
    ChunkHeader *c = nullptr;
    for (ChunkHeader *k : chunks)
      if (k->used + size <= kChunk) {
        c = k;
        break;
      }
    if (!c) {
      c = new (alignedBlock(kChunk, kChunk)) ChunkHeader{sizeof(ChunkHeader), 0};
      chunks.push_back(c);
    }
    p = reinterpret_cast<char *>(c) + c->used;
    c->used += size;
    c->live++;
  }
  std::memset(p, 0, size);
  return p;
}

void freeArray(void *p, size_t bytes) {
  if (!p)
    return;
  if (!pooled(bytes)) {
    std::free(p);
    return;
  }
  Pool &pl = pool();
  std::lock_guard<std::mutex> lock(pl.mutex);
  ChunkHeader *c = chunkOf(p);
  if (--c->live > 0)
    return;
  c->used = sizeof(ChunkHeader); // empty: carved from its start again, or returned
  std::vector<ChunkHeader *> &chunks = pl.chunks;
  if (chunks.size() > 1) {
    chunks.erase(std::find(chunks.begin(), chunks.end(), c));
    std::free(c);
  }
}

} // namespace ganc::rt
