//===- Profile.h - where a compiled step spends its time --------*- C++ -*-===//
//
// `ganc train --profile` times every kernel call made through ganc_rt_parallel_for and
// prints a table: kernel, the .gan line it came from, calls, total time, share and
// GFLOP/s. Off by default; when off, a kernel call pays one predictable branch.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "StepFunction.h"

#include <ostream>
#include <vector>

namespace ganc::rt {

/// Starts timing the kernels of `fns` (clearing earlier counts).
void startProfile(const std::vector<StepFunction> &fns);
/// Stops timing and prints the table, slowest kernel first.
void stopProfile(std::ostream &os, int limit = 25);

} // namespace ganc::rt
