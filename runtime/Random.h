//===- Random.h - counter-based random numbers (Philox4x32-10) --*- C++ -*-===//
//
// Every random number is a pure function of (seed, stream, element index): Philox4x32-10
// (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11). Noise, parameter
// initialization and data shuffling therefore do not depend on the number of threads or
// on the order in which anything runs.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace ganc::rt {

/// Philox4x32-10 on a 128-bit counter with a 64-bit key.
std::array<uint32_t, 4> philox(std::array<uint32_t, 4> counter, uint64_t key);

/// A 64-bit stream id from a purpose name and up to three numbers (step, phase, ...).
uint64_t streamId(const std::string &purpose, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0);
/// The part of streamId that depends on the purpose, so a loop can hash it once:
/// streamId(purpose, a, b, c) == streamId(purposeKey(purpose), a, b, c).
uint64_t purposeKey(const std::string &purpose);
uint64_t streamId(uint64_t purposeKey, uint64_t a, uint64_t b = 0, uint64_t c = 0);

/// Uniform float in [0, 1) for element `i` of `stream`.
float uniformAt(uint64_t seed, uint64_t stream, uint64_t i);

/// Fills out[0, n) with uniform [lo, hi) values, in parallel.
void fillUniform(float *out, int64_t n, uint64_t seed, uint64_t stream, float lo, float hi);
/// Fills out[0, n) with normal(mean, std) values (Box-Muller), in parallel.
void fillNormal(float *out, int64_t n, uint64_t seed, uint64_t stream, float mean, float std);
/// Fills a rows x cols matrix (row-major) with a random semi-orthogonal matrix times
/// `gain`: orthonormal rows when rows <= cols, orthonormal columns otherwise (Saxe et al.
/// 2014; PyTorch's orthogonal_ up to the draws). Gram-Schmidt on normal draws.
void fillOrthogonal(float *out, int64_t rows, int64_t cols, double gain, uint64_t seed, uint64_t stream);
/// Fills `rows` one-hot rows of `classes` values, each class drawn uniformly.
void fillOneHot(float *out, int64_t rows, int64_t classes, uint64_t seed, uint64_t stream);

} // namespace ganc::rt
