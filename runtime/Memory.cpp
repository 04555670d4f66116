//===- Memory.cpp - memory for the runtime's arrays -----------------------===//
#include "Memory.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

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

/// A block aligned to `align`, advised as huge pages when that is at least one.
void *alignedBlock(size_t align, size_t size) {
  void *p = std::aligned_alloc(align, size);
  if (!p)
    throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align >= kHugePage)
    madvise(p, size, MADV_HUGEPAGE); // advice only: without huge pages, small ones serve
#endif
  return p;
}

/// The start of a pool chunk; arrays follow it, from the next cache line.
struct alignas(kLine) ChunkHeader {
  size_t used; ///< bytes handed out, the header included
  size_t live; ///< arrays not yet freed
};

std::mutex poolMutex;
ChunkHeader *openChunk = nullptr; ///< where new arrays are carved (guarded by poolMutex)

ChunkHeader *chunkOf(void *p) {
  return reinterpret_cast<ChunkHeader *>(reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{kChunk} - 1));
}

} // namespace

void *allocateArray(size_t bytes) {
  const size_t size = roundedSize(bytes);
  void *p;
  if (!pooled(bytes)) {
    p = alignedBlock(size >= kHugePage ? kHugePage : kLine,
                     size >= kHugePage ? (size + kHugePage - 1) / kHugePage * kHugePage : size);
  } else {
    std::lock_guard<std::mutex> lock(poolMutex);
    if (!openChunk || openChunk->used + size > kChunk) {
      if (openChunk && openChunk->live == 0)
        std::free(openChunk);
      openChunk = new (alignedBlock(kChunk, kChunk)) ChunkHeader{sizeof(ChunkHeader), 0};
    }
    p = reinterpret_cast<char *>(openChunk) + openChunk->used;
    openChunk->used += size;
    openChunk->live++;
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
  std::lock_guard<std::mutex> lock(poolMutex);
  ChunkHeader *c = chunkOf(p);
  if (--c->live > 0)
    return;
  if (c == openChunk)
    c->used = sizeof(ChunkHeader); // empty: carve from its start again
  else
    std::free(c);
}

} // namespace ganc::rt
