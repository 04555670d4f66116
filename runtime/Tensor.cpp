//===- Tensor.cpp - named f32 tensors the runtime owns --------------------===//
#include "Tensor.h"

#include "FloatMode.h"
#include "Memory.h"
#include "Threads.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

namespace ganc::rt {

int64_t numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

Buffer::Buffer(int64_t n)
    : data_(static_cast<float *>(allocateArray(static_cast<size_t>(n) * sizeof(float)))), size_(n) {
}

Buffer::~Buffer() { freeArray(data_, static_cast<size_t>(size_) * sizeof(float)); }

Tensor &Store::get(const std::string &name, const Shape &shape) {
  auto it = tensors_.find(name);
  if (it != tensors_.end()) {
    if (it->second.shape != shape)
      throw std::logic_error("internal error: tensor '" + name + "' has two shapes");
    return it->second;
  }
  Tensor t;
  t.shape = shape;
  t.buf = Buffer(numElements(shape));
  return tensors_.emplace(name, std::move(t)).first->second;
}

Tensor *Store::find(const std::string &name) {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

Executable::Executable(const StepFunction &fn, Store &store, Buffer *arena)
    : fn_(fn), ownArena_(arena ? 0 : (fn.arenaBytes + 3) / 4), arena_(arena ? arena : &ownArena_) {
  if (arena_->size() * 4 < fn.arenaBytes)
    throw std::invalid_argument("the arena given to '" + fn.name + "' is smaller than its plan");
  for (const Slot &s : fn.slots) {
    if (s.kind == Slot::Kind::Leaf) {
      Tensor &t = store.get(s.name, s.shape);
      leaves_.push_back({slots_.size(), &t});
      slots_.push_back(t.data());
      continue;
    }
    if (s.kind == Slot::Kind::Temp && s.arenaOffset >= 0) {
      slots_.push_back(arena_->data() + s.arenaOffset / 4);
      continue;
    }
    owned_.emplace_back(numElements(s.shape));
    float *p = owned_.back().data();
    slots_.push_back(p);
    if (s.kind != Slot::Kind::Output)
      continue;
    const float *&out = outputs_[s.name];
    out = p;
    if (Tensor *t = store.find(s.name))
      commits_.push_back({slots_.size() - 1, owned_.size() - 1, t, &out});
  }
}

void Executable::run() {
  for (auto &[slot, t] : leaves_)
    slots_[slot] = t->data();
  FlushDenormals mode;
  ParallelRegion region;
  fn_.entry(slots_.data());
  for (Commit &c : commits_)
    *c.output = slots_[c.slot];
}

void Executable::fillWritten(float v) {
  std::fill(arena_->data(), arena_->data() + arena_->size(), v);
  for (Buffer &b : owned_)
    std::fill(b.data(), b.data() + b.size(), v);
}

void Executable::commit() {
  for (Commit &c : commits_) {
    std::swap(owned_[c.owned], c.tensor->buf);
    slots_[c.slot] = owned_[c.owned].data();
    *c.output = c.tensor->data();
  }
}

const float *Executable::output(const std::string &name) const {
  auto it = outputs_.find(name);
  return it == outputs_.end() ? nullptr : it->second;
}

} // namespace ganc::rt
