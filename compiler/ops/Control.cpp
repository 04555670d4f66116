//===- Control.cpp - leaves and stop_gradient -----------------------------===//
//
// Leaves carry their shape in attrs.ints and their name in attrs.name. `input` is data,
// noise or a per-step scalar filled by the runtime; `param` is a trained tensor; `const`
// is a splat of attrs.num, which kernels read as an immediate (it never has a buffer).
//
//===----------------------------------------------------------------------===//
#include "ops/Common.h"

namespace ganc::ir {
using namespace ganc::ops;
namespace {

std::optional<Shape> leafShape(const std::vector<const Node *> &, const Attrs &a,
                               std::string &) {
  return a.ints;
}
OpInfo leaf(const char *m) { return OpInfo{m, 0, kLeaf, leafShape, nullptr, nullptr, nullptr, 0}; }

} // namespace

// Leaves have no operands, so no rule propagates a gradient through them; autodiff
// collects the gradient arriving at a `param` or `input` it was asked about.
const OpInfo &opInfo_Input() { static const OpInfo info = leaf("input"); return info; }
const OpInfo &opInfo_Param() { static const OpInfo info = leaf("param"); return info; }
const OpInfo &opInfo_Const() {
  static const OpInfo info =
      withRange(leaf("const"), [](const Node &n, const std::vector<Interval> &) { return Interval::closed(n.attrs.num, n.attrs.num); });
  return info;
}

// stop_gradient(x) = x;  no gradient flows through it
const OpInfo &opInfo_StopGradient() {
  static const OpInfo info = withRange(OpInfo{
      "stop_gradient", 1, kView,
      [](const std::vector<const Node *> &in, const Attrs &, std::string &) -> std::optional<Shape> {
        return in[0]->shape;
      },
      nullptr, nullptr,
      [](KernelBuilder &k, const Node &n) {
        k.loop(n.numel(), [&](Idx i) { k.store(i, k.load(0, i)); });
      },
      0},
      sameRange);
  return info;
}

} // namespace ganc::ir
