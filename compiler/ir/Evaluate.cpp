//===- Evaluate.cpp - reference evaluation in double precision ------------===//
#include "ir/Evaluate.h"

#include "ir/OpInfo.h"
#include "support/Error.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <unordered_map>

namespace ganc::ir {
namespace {

/// KernelBuilder that computes immediately, in double.
class RefBuilder final : public KernelBuilder {
public:
  RefBuilder(std::vector<const std::vector<double> *> in, std::vector<double> &out,
             int64_t scratch = 0)
      : in_(std::move(in)), out_(out), scratch_(static_cast<size_t>(scratch)) {}

  Idx index(int64_t c) override { return {nullptr, c}; }
  Idx add(Idx a, Idx b) override { return {nullptr, a.num + b.num}; }
  Idx sub(Idx a, Idx b) override { return {nullptr, a.num - b.num}; }
  Idx mul(Idx a, Idx b) override { return {nullptr, a.num * b.num}; }
  void loop(int64_t extent, const std::function<void(Idx)> &body) override {
    for (int64_t i = 0; i < extent; ++i)
      body({nullptr, i});
  }
  Val loopReduce(int64_t extent, Val init, const std::function<Val(Idx, Val)> &body) override {
    for (int64_t i = 0; i < extent; ++i)
      init = body({nullptr, i}, init);
    return init;
  }
  Val load(unsigned operand, Idx flat) override {
    const std::vector<double> &v = *in_.at(operand);
    return v.size() == 1 ? f(v[0]) : f(v.at(flat.num));
  }
  std::vector<Val>
  loopCarry(int64_t extent, std::vector<Val> init,
            const std::function<std::vector<Val>(Idx, const std::vector<Val> &)> &body) override {
    for (int64_t i = 0; i < extent; ++i)
      init = body({nullptr, i}, init);
    return init;
  }
  Val loadResult(Idx flat) override { return f(out_.at(flat.num)); }
  // One lane: a vector is a scalar.
  int lanes() override { return 1; }
  Val loadVector(unsigned operand, Idx flat) override { return load(operand, flat); }
  Val loadPartial(unsigned operand, Idx flat, int64_t count) override {
    if (count < 1)
      internalError("evaluate", "a partial vector load of " + std::to_string(count) + " lanes");
    return load(operand, flat);
  }
  Val loadStrided(unsigned operand, Idx flat, int64_t, int64_t count) override { return loadPartial(operand, flat, count); }
  Val sumLanes(Val v) override { return v; }
  void storeVector(Idx flat, Val v) override { store(flat, v); }
  void storePartial(Idx flat, int64_t count, Val v) override {
    if (count < 1)
      internalError("evaluate", "a partial vector store of " + std::to_string(count) + " lanes");
    store(flat, v);
  }
  void storeStrided(Idx flat, int64_t, Val v) override { store(flat, v); }
  void storeScratch(Idx flat, Val v) override { scratch_.at(flat.num) = v.num; }
  void storeScratchVector(Idx flat, Val v) override { storeScratch(flat, v); }
  void storeScratchPartial(Idx flat, int64_t count, Val v) override {
    if (count < 1)
      internalError("evaluate", "a partial vector store of " + std::to_string(count) + " lanes");
    storeScratch(flat, v);
  }
  Val loadScratch(Idx flat) override { return f(scratch_.at(flat.num)); }
  Val loadScratchVector(Idx flat) override { return loadScratch(flat); }
  Val splat(Val s) override { return s; }
  Val fma(Val a, Val b, Val c) override { return f(a.num * b.num + c.num); }
  void store(Idx flat, Val v) override { out_.at(flat.num) = v.num; }
  Val constant(double c) override { return f(c); }
  Val add(Val a, Val b) override { return f(a.num + b.num); }
  Val sub(Val a, Val b) override { return f(a.num - b.num); }
  Val mul(Val a, Val b) override { return f(a.num * b.num); }
  Val div(Val a, Val b) override { return f(a.num / b.num); }
  Val neg(Val a) override { return f(-a.num); }
  Val exp(Val a) override { return f(std::exp(a.num)); }
  Val log(Val a) override { return f(std::log(a.num)); }
  Val sqrt(Val a) override { return f(std::sqrt(a.num)); }
  Val abs(Val a) override { return f(std::fabs(a.num)); }
  Val max(Val a, Val b) override { return f(a.num > b.num ? a.num : b.num); }
  Val selectPositive(Val c, Val a, Val b) override { return c.num > 0 ? a : b; }

private:
  static Val f(double d) { return {nullptr, d}; }
  std::vector<const std::vector<double> *> in_;
  std::vector<double> &out_;
  std::vector<double> scratch_;
};

} // namespace

double evaluateScalar(OpKind op, const std::vector<double> &args) {
  std::vector<double> none;
  RefBuilder rb({}, none);
  std::vector<KernelBuilder::Val> in;
  for (double a : args)
    in.push_back({nullptr, a});
  return opInfo(op).scalar(rb, in).num;
}

namespace {
/// Evaluates the live nodes in order, calling `after(node, values)` on each result; stops
/// early when it returns true. With `asFloat`, each result is rounded to float.
void evaluateEach(const Graph &g, const LeafValues &leaves, bool asFloat,
                  const std::function<bool(const Node &, const std::vector<double> &)> &after,
                  std::unordered_map<uint32_t, std::vector<double>> &values) {
  for (Node *n : g.live()) {
    const OpInfo &info = opInfo(n->op);
    std::vector<double> &out = values[n->id];
    if (n->op == OpKind::Const) {
      out.assign(n->numel(), n->attrs.num);
    } else if (info.isLeaf()) {
      auto it = leaves.find(n->attrs.name);
      if (it == leaves.end() || static_cast<int64_t>(it->second.size()) != n->numel())
        internalError("evaluate", "no value of " + formatType(n->shape) + " for '" + n->attrs.name + "'");
      out = it->second;
    } else {
      std::vector<const std::vector<double> *> in;
      for (Node *o : n->operands)
        in.push_back(&values.at(o->id));
      out.assign(n->numel(), 0.0);
      RefBuilder rb(in, out, info.scratch ? info.scratch(*n) : 0);
      if (info.isElementwise())
        lowerElementwise(rb, *n);
      else
        info.lower(rb, *n);
    }
    if (asFloat)
      for (double &v : out)
        v = static_cast<float>(v);
    if (after(*n, out))
      return;
  }
}
} // namespace

std::vector<std::vector<double>> evaluate(const Graph &g, const LeafValues &leaves) {
  std::unordered_map<uint32_t, std::vector<double>> values;
  evaluateEach(g, leaves, false, [](const Node &, const std::vector<double> &) { return false; }, values);
  std::vector<std::vector<double>> result;
  for (auto &[name, n] : g.outputs())
    result.push_back(values.at(n->id));
  return result;
}

const Node *firstNonFinite(const Graph &g, const LeafValues &leaves, double seconds, bool &timedOut) {
  std::unordered_map<uint32_t, std::vector<double>> values;
  const Node *bad = nullptr;
  const auto start = std::chrono::steady_clock::now();
  timedOut = false;
  evaluateEach(g, leaves, true, [&](const Node &n, const std::vector<double> &v) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) {
      timedOut = true;
      return true;
    }
    for (double x : v)
      if (!std::isfinite(x)) {
        bad = &n;
        return true;
      }
    return false;
  }, values);
  return bad;
}

} // namespace ganc::ir
