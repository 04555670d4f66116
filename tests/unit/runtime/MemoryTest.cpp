//===- MemoryTest.cpp - the runtime's array memory ------------------------===//
//
// allocateArray hands out zeroed, aligned arrays that never overlap, whatever mix of
// sizes is alive, and takes them back in any order.
//
//===----------------------------------------------------------------------===//
#include "Memory.h"
#include "Tensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

using namespace ganc::rt;

namespace {

struct Array {
  uint8_t *p;
  size_t bytes;
  uint8_t mark;
};

uintptr_t address(const void *p) { return reinterpret_cast<uintptr_t>(p); }

} // namespace

TEST(Memory, ArraysAreZeroedAlignedAndApartInAnyMix) {
  // Sizes from empty to a few MB: pooled ones, their limit, and blocks of their own.
  const std::vector<size_t> sizes = {
      0, 1, 4, 63, 64, 65, 4096, 100000, 401408, size_t{2} << 20, (size_t{2} << 20) + 4, 3000000};
  std::mt19937 rng(5);
  std::vector<Array> live;
  uint8_t mark = 0;
  for (int round = 0; round < 400; ++round) {
    if (!live.empty() && rng() % 3 == 0) {
      // Free one at random, after checking nobody wrote over it.
      size_t i = rng() % live.size();
      const Array &a = live[i];
      EXPECT_TRUE(std::all_of(a.p, a.p + a.bytes, [&](uint8_t v) { return v == a.mark; }))
          << a.bytes;
      freeArray(a.p, a.bytes);
      live.erase(live.begin() + static_cast<long>(i));
      continue;
    }
    const size_t bytes = sizes[rng() % sizes.size()];
    auto *p = static_cast<uint8_t *>(allocateArray(bytes));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(address(p) % 64, 0u) << bytes;
    if (bytes > (size_t{2} << 20)) {
      EXPECT_EQ(address(p) % (size_t{2} << 20), 0u) << bytes;
    }
    EXPECT_TRUE(std::all_of(p, p + bytes, [](uint8_t v) { return v == 0; })) << bytes;
    for (const Array &a : live)
      EXPECT_TRUE(address(p) + bytes <= address(a.p) || address(a.p) + a.bytes <= address(p))
          << bytes << " overlaps " << a.bytes;
    mark = static_cast<uint8_t>(mark % 255 + 1);
    std::fill(p, p + bytes, mark);
    live.push_back({p, bytes, mark});
  }
  for (const Array &a : live) {
    EXPECT_TRUE(std::all_of(a.p, a.p + a.bytes, [&](uint8_t v) { return v == a.mark; })) << a.bytes;
    freeArray(a.p, a.bytes);
  }
}

TEST(Memory, BuffersMoveAndSwapTheirArrays) {
  Buffer a(1000), b(10);
  a.data()[999] = 3;
  float *pa = a.data();
  std::swap(a, b);
  EXPECT_EQ(b.data(), pa);
  EXPECT_EQ(b.size(), 1000);
  EXPECT_EQ(b.data()[999], 3.f);
  EXPECT_EQ(a.size(), 10);
  Buffer c(std::move(b));
  EXPECT_EQ(c.data(), pa);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(b.size(), 0);
}
