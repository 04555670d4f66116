//===- Memory.h - memory for the runtime's arrays ---------------*- C++ -*-===//
//
// Tensors, arenas and data sets live in memory backed by transparent huge pages where the
// system offers them (Linux's THP in "madvise" mode is enough): a training step touches
// a few to a few hundred MB spread over dozens of arrays, and with 4 KB pages its TLB
// misses cost most under virtualization, where each one walks two page tables. Arrays of
// up to 2 MB are carved from 8 MB pooled chunks (aligned to their size and advised as
// huge pages; an array goes to the first chunk with room), so the small tensors of a step
// share a few huge pages; larger arrays get blocks of their own, huge-page aligned, whose
// whole huge pages are advised. A chunk is returned when the last array in it is freed
// (one empty chunk is kept). The sanitizer build allocates every array on its own, so
// AddressSanitizer still sees each one's bounds.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>

namespace ganc::rt {

/// Allocates `bytes` of zeros, 64-byte aligned (throws std::bad_alloc).
void *allocateArray(size_t bytes);
/// Frees what allocateArray(bytes) returned (null does nothing).
void freeArray(void *p, size_t bytes);

/// A standard allocator over allocateArray, for containers of large arrays.
template <class T> struct ArrayAllocator {
  using value_type = T;
  ArrayAllocator() = default;
  template <class U> ArrayAllocator(const ArrayAllocator<U> &) {}
  T *allocate(size_t n) { return static_cast<T *>(allocateArray(n * sizeof(T))); }
  void deallocate(T *p, size_t n) { freeArray(p, n * sizeof(T)); }
  template <class U> bool operator==(const ArrayAllocator<U> &) const { return true; }
  template <class U> bool operator!=(const ArrayAllocator<U> &) const { return false; }
};

} // namespace ganc::rt
