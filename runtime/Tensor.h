//===- Tensor.h - named f32 tensors the runtime owns -----------*- C++ -*-===//
//
// A Store holds every tensor that lives across steps (parameters, optimizer state, data
// and noise batches, per-step scalars) by the name the compiled programs use for it.
// Buffers are 64-byte aligned so vector loads never straddle cache lines.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "StepFunction.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace ganc::rt {

int64_t numElements(const Shape &s);

/// A 64-byte-aligned array of floats, zero-filled when made (see Memory.h for where it
/// lives).
class Buffer {
public:
  Buffer() = default;
  explicit Buffer(int64_t n);
  ~Buffer();
  Buffer(Buffer &&o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
  Buffer &operator=(Buffer &&o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  float *data() { return data_; }
  const float *data() const { return data_; }
  int64_t size() const { return size_; }

private:
  float *data_ = nullptr;
  int64_t size_ = 0;
};

struct Tensor {
  Shape shape;
  Buffer buf;
  float *data() { return buf.data(); }
  const float *data() const { return buf.data(); }
  int64_t numel() const { return buf.size(); }
};

class Store {
public:
  /// The tensor `name`, created zero-filled with `shape` if absent. A different shape
  /// for an existing name is an internal error.
  Tensor &get(const std::string &name, const Shape &shape);
  Tensor *find(const std::string &name);
  const std::map<std::string, Tensor> &all() const { return tensors_; }

private:
  std::map<std::string, Tensor> tensors_;
};

/// A StepFunction bound to a Store: leaf slots point at store tensors, outputs at buffers
/// of its own, temporaries into one arena laid out by codegen's memory plan. Binding
/// happens once; run() does no lookups and no allocation.
class Executable {
public:
  /// With `arena` (at least fn.arenaBytes), the temporaries live there instead of in an
  /// arena of the program's own: they live only while run() runs, so programs that never
  /// run at the same time (a trainer's D and G steps) can share one.
  Executable(const StepFunction &fn, Store &store, Buffer *arena = nullptr);
  Executable(const Executable &) = delete; // arena_ may point into the object
  Executable &operator=(const Executable &) = delete;
  void run();
  /// Makes the outputs named like store tensors (updated parameters and state) the
  /// store's: each output buffer trades places with its tensor's, so no data is copied,
  /// and the old values' buffer takes the next run's output.
  void commit();
  /// An output of the last run (after commit(), where the store now holds it).
  const float *output(const std::string &name) const;
  const StepFunction &function() const { return fn_; }
  /// Fills every buffer the program writes (temporaries, scratch memory, outputs) with
  /// `v`: a test's way to make a kernel that reads memory before writing it show, where
  /// the zeros they start with would hide it.
  void fillWritten(float v);

private:
  struct Commit {
    size_t slot, owned; ///< the output's slot and its buffer in owned_
    Tensor *tensor;
    const float **output; ///< its entry in outputs_
  };
  StepFunction fn_;
  std::vector<float *> slots_;
  std::vector<Buffer> owned_;
  Buffer ownArena_;
  Buffer *arena_; ///< ownArena_, or one shared with other programs
  /// Leaf slots and their tensors, whose buffers commits (of this or another program
  /// on the same store) trade: re-read before every run.
  std::vector<std::pair<size_t, Tensor *>> leaves_;
  std::vector<Commit> commits_;
  std::map<std::string, const float *> outputs_;
};

} // namespace ganc::rt
