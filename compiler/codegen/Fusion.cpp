//===- Fusion.cpp - which nodes share a kernel ----------------------------===//
#include "codegen/Fusion.h"

#include "ir/OpInfo.h"
#include "support/Error.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <tuple>

namespace ganc::codegen {

using namespace ir;

namespace {

class Planner {
public:
  explicit Planner(const Graph &g) : g_(g) {}

  FusionPlan run() {
    std::vector<Node *> live = g_.live(); // id order, which is topological
    for (size_t i = 0; i < live.size(); ++i)
      pos_[live[i]->id] = static_cast<int64_t>(i);
    for (auto &[name, n] : g_.outputs())
      outputs_.insert(n->id);
    for (Node *n : live)
      for (Node *o : n->operands)
        users_[o->id].push_back(n);

    classify(live);
    for (Node *n : live) {
      const OpInfo &info = opInfo(n->op);
      if (info.isLeaf() || isAlias(n) || picked_.count(n->id))
        continue;
      if (!info.isElementwise()) {
        if (!joinSum(n))
          newUnit(n);
      } else if (!join(n)) {
        newUnit(n);
        for (size_t v : fitting(privateUnits(n), unitOf(n)))
          merge(v, unitOf(n));
      }
    }
    finish();
    return std::move(plan_);
  }

private:
  /// One way elementwise code reads a tensor in place: at point i of a loop over
  /// `extents`, element sum_a i_a strides[a] of it.
  struct Access {
    Shape extents;
    std::vector<int64_t> strides;
    bool operator<(const Access &o) const { return std::tie(extents, strides) < std::tie(o.extents, o.strides); }
  };

  /// Element-picking ops read in place: one is, when everything that consumes it
  /// (through views and other picking ops) is elementwise and the index maps compose.
  /// Decided from the last node back, so each node sees how its users read it. Views
  /// alias their operand's buffer in any case.
  void classify(const std::vector<Node *> &live) {
    for (auto it = live.rbegin(); it != live.rend(); ++it) {
      const Node *n = *it;
      if (opInfo(n->op).isLeaf())
        continue;
      bool inPlace = !outputs_.count(n->id);
      std::set<Access> reads;
      for (const Node *u : users_[n->id]) {
        if (opInfo(u->op).isElementwise()) {
          reads.insert({u->shape, n->shape.empty() ? std::vector<int64_t>(u->shape.size(), 0) : rowMajorStrides(u->shape)});
        } else if (isAlias(u)) {
          reads.insert(reads_[u->id].begin(), reads_[u->id].end()); // the same flat elements
          inPlace = inPlace && inPlace_.count(u->id);
        } else if (picked_.count(u->id)) {
          reads.insert(operandReads_[u->id].begin(), operandReads_[u->id].end());
        } else {
          inPlace = false;
        }
      }
      if (inPlace)
        inPlace_.insert(n->id);
      if (inPlace && opInfo(n->op).operandStrides && !n->operands[0]->is(OpKind::Const)) {
        std::set<Access> through;
        bool composes = true;
        for (const Access &a : reads) {
          std::optional<std::vector<int64_t>> st = compose(a.strides, a.extents, n);
          composes = composes && st;
          if (st)
            through.insert({a.extents, *st});
        }
        if (composes) {
          picked_.insert(n->id);
          operandReads_[n->id] = std::move(through);
        }
      }
      reads_[n->id] = std::move(reads);
    }
    for (const Node *n : live)
      if (isAlias(n)) {
        const Node *o = n->operands[0];
        auto it = plan_.viewOf.find(o->id);
        plan_.viewOf[n->id] = it == plan_.viewOf.end() ? o : it->second;
      }
  }

  /// A view that names its operand's buffer (an output view gets a buffer of its own).
  bool isAlias(const Node *n) const {
    return opInfo(n->op).isView() && !outputs_.count(n->id) && !n->operands[0]->is(OpKind::Const);
  }

  /// `strides` into the result of picking op p, as strides into p's operand: each axis
  /// of the loop must step along one axis of p's result, without running past it.
  static std::optional<std::vector<int64_t>> compose(const std::vector<int64_t> &strides, const Shape &extents,
                                                     const Node *p) {
    const std::vector<int64_t> rm = rowMajorStrides(p->shape), into = opInfo(p->op).operandStrides(*p);
    std::vector<int64_t> out(strides.size(), 0);
    for (size_t a = 0; a < strides.size(); ++a) {
      if (strides[a] == 0 || extents[a] == 1)
        continue;
      size_t b = 0;
      while (b < rm.size() && !(p->shape[b] > 1 && rm[b] == strides[a] && p->shape[b] >= extents[a]))
        ++b;
      if (b == rm.size())
        return std::nullopt;
      out[a] = into[b];
    }
    return out;
  }

  /// Where a read of `n` at `strides` over a loop of `extents` lands: through views and
  /// picking ops, the buffer (a leaf, a constant or a computed node) and its strides.
  std::pair<const Node *, std::vector<int64_t>> resolve(const Node *n, const Shape &extents,
                                                        std::vector<int64_t> strides) const {
    while (true) {
      if (isAlias(n)) {
        n = n->operands[0];
      } else if (picked_.count(n->id)) {
        strides = *compose(strides, extents, n);
        n = n->operands[0];
      } else {
        return {n, strides};
      }
    }
  }
  /// The buffer `n`'s elements come from, read by a node of shape `shape`.
  const Node *bufferOf(const Node *n, const Shape &shape) const {
    return resolve(n, shape, n->shape.empty() ? std::vector<int64_t>(shape.size(), 0) : rowMajorStrides(shape)).first;
  }

  /// The buffers a computing node reads (through views and picking ops); constants
  /// read none.
  std::vector<const Node *> buffersRead(const Node *n) const {
    std::vector<const Node *> out;
    for (const Node *o : n->operands) {
      const Node *b = bufferOf(o, opInfo(n->op).isElementwise() ? n->shape : o->shape);
      if (!b->is(OpKind::Const))
        out.push_back(b);
    }
    return out;
  }

  size_t unitOf(const Node *n) const {
    auto it = unitOf_.find(n->id);
    return it == unitOf_.end() ? kNoUnit : it->second;
  }

  void newUnit(const Node *n) {
    Unit u;
    const bool elementwise = opInfo(n->op).isElementwise();
    u.anchor = elementwise ? nullptr : n;
    u.shape = n->shape;
    if (elementwise)
      u.members.push_back(n);
    plan_.units.push_back(std::move(u));
    deps_.emplace_back();
    size_t id = plan_.units.size() - 1;
    unitOf_[n->id] = id;
    addDeps(id, n);
  }

  void addDeps(size_t unit, const Node *n) {
    for (const Node *b : buffersRead(n)) {
      size_t v = unitOf(b);
      if (v != kNoUnit && v != unit)
        deps_[unit].insert(v);
    }
  }

  /// Whether `n` is one of unit u's elementwise members (not its anchor or a sum).
  bool isMember(const Node *n, size_t u) const {
    const std::vector<const Node *> &m = plan_.units[u].members;
    return unitOf(n) == u && std::find(m.begin(), m.end(), n) != m.end();
  }

  /// Whether unit `from` needs unit `target` to run first, directly or not.
  bool dependsOn(size_t from, size_t target) {
    ++stamp_;
    seen_.resize(plan_.units.size(), 0);
    std::vector<size_t> stack{from};
    while (!stack.empty()) {
      size_t u = stack.back();
      stack.pop_back();
      if (u == target)
        return true;
      if (seen_[u] == stamp_)
        continue;
      seen_[u] = stamp_;
      stack.insert(stack.end(), deps_[u].begin(), deps_[u].end());
    }
    return false;
  }

  /// Puts the elementwise node `n` into the unit of one of its operands, if one has its
  /// shape, can take it (an elementwise loop, or the stores of a kStoresOnce op) and
  /// stays acyclic; with it go the units only `n` reads.
  bool join(const Node *n) {
    std::vector<size_t> candidates;
    for (const Node *o : n->operands) {
      size_t u = unitOf(o);
      if (u == kNoUnit || o->shape != n->shape || plan_.units[u].shape != n->shape)
        continue; // (a sum's unit loops over its operand's shape)
      const Unit &unit = plan_.units[u];
      if (unit.anchor && !opInfo(unit.anchor->op).storesOnce())
        continue;
      candidates.push_back(u);
    }
    // Epilogues first (the anchor's result then need not reach memory), the most
    // recent unit first among equals.
    std::sort(candidates.begin(), candidates.end(), [&](size_t a, size_t b) {
      bool ea = plan_.units[a].anchor != nullptr, eb = plan_.units[b].anchor != nullptr;
      return ea != eb ? ea : a > b;
    });
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    // A value with a row sum stays out of the open epilogues of contiguous stores: in a
    // loop of its own the sum runs as the value is computed, while an epilogue stores it
    // for a kernel to sum (batch norm's backward after the first layer's input gradient
    // stored five tensors so, three of them only to be summed).
    const bool summed = std::any_of(users_[n->id].begin(), users_[n->id].end(),
                                    [&](const Node *user) { return isRowSum(*user); });
    for (size_t u : candidates) {
      const Node *anchor = plan_.units[u].anchor;
      const bool strided = anchor && !opInfo(anchor->op).contiguousStores(*anchor);
      if ((strided && !cheapEpilogue(n, u)) || (anchor && !strided && summed))
        continue;
      std::vector<size_t> absorbed = strided ? std::vector<size_t>{} : privateUnits(n);
      absorbed.erase(std::remove(absorbed.begin(), absorbed.end(), u), absorbed.end());
      absorbed = fitting(absorbed, u);
      if ((anchor && epilogueCost(n, u, absorbed) > kEpilogueCost) || !canJoin(n, u, absorbed))
        continue;
      for (size_t v : absorbed)
        merge(v, u);
      plan_.units[u].members.push_back(n);
      unitOf_[n->id] = u;
      addDeps(u, n);
      return true;
    }
    return false;
  }

  /// The most work per element (OpInfo::costPerElement) an anchor's epilogue takes in.
  /// A register tile repeats its epilogue for each of its vectors, so the code grows
  /// with both; past this, the rest of a long elementwise chain is a loop of its own
  /// (100 fused `h = tanh(h) * h` took 23 s in LLVM). The examples' largest epilogues
  /// cost 30.
  static constexpr double kEpilogueCost = 64;
  /// The epilogue's work per element once `n` and the units `absorbed` join unit u.
  double epilogueCost(const Node *n, size_t u, const std::vector<size_t> &absorbed) const {
    double cost = opInfo(n->op).costPerElement;
    auto add = [&](const Unit &unit) {
      for (const Node *m : unit.members)
        cost += opInfo(m->op).costPerElement;
    };
    add(plan_.units[u]);
    for (size_t v : absorbed)
      add(plan_.units[v]);
    return cost;
  }

  /// Whether `n` can extend the epilogue of unit u, whose anchor stores vectors with
  /// their lanes apart, without a gather or scatter beyond the anchor's own store: the
  /// unit so far is a chain of single-use nodes ending at `n`, and `n` reads nothing
  /// else of its shape, only constants, rank-0 values and broadcasts along one axis.
  bool cheapEpilogue(const Node *n, size_t u) {
    auto single = [&](const Node *m) { return !outputs_.count(m->id) && users_[m->id].size() == 1; };
    const Unit &unit = plan_.units[u];
    if (!single(unit.anchor) || !std::all_of(unit.members.begin(), unit.members.end(), single))
      return false;
    for (const Node *o : n->operands) {
      if (o->is(OpKind::Const) || o->shape.empty() || (unitOf(o) == u && !picked_.count(o->id)))
        continue;
      std::vector<int64_t> st = resolve(o, n->shape, rowMajorStrides(n->shape)).second;
      if (std::count_if(st.begin(), st.end(), [](int64_t x) { return x != 0; }) > 1)
        return false;
    }
    return true;
  }

  /// Puts `n`, a reduce_sum over the trailing axes [b, rank) of a member of an elementwise
  /// loop, into that loop. Rows are summed whole inside one iteration of the outer axes
  /// [0, b), which threads split, so the sums do not depend on the thread count.
  /// A reduce_sum over leading axes [0, e) of a member of a kernel's epilogue (all axes: a
  /// gradient's squares, for its norm; the batch: a bias's gradient) joins that kernel:
  /// each iteration of its outermost loops sums what its stores compute into partial sums
  /// of its own, added in order after the last loop, so the sum does not depend on the
  /// thread count either.
  bool joinSum(const Node *n) {
    if (joinTotal(n))
      return true;
    if (!isRowSum(*n))
      return false;
    const Node *o = n->operands[0];
    const size_t u = unitOf(o);
    const int64_t begin = n->attrs.ints[0];
    if (u == kNoUnit || plan_.units[u].anchor || picked_.count(o->id))
      return false;
    const std::vector<const Node *> &sums = plan_.units[u].sums;
    if (!isMember(o, u))
      return false; // a sum of the unit's: read only when the loop is done
    if (!sums.empty() && sums[0]->attrs.ints[0] != begin)
      return false; // one row length per loop
    plan_.units[u].sums.push_back(n);
    unitOf_[n->id] = u;
    return true;
  }

  /// joinSum's sum over leading axes of an epilogue's member.
  bool joinTotal(const Node *n) {
    if (!n->is(OpKind::ReduceSum) || n->attrs.ints[0] != 0 || n->operands[0]->shape.empty())
      return false;
    const Node *o = n->operands[0];
    const size_t u = unitOf(o);
    if (u == kNoUnit || !plan_.units[u].anchor || picked_.count(o->id) || !isMember(o, u))
      return false;
    // Over leading axes only (a bias gradient's sum over the batch), each stored vector
    // adds into the partial sums of its row: it must run along the last axis. And each
    // outermost iteration keeps a row of partial sums: only for a matrix, whose kernels'
    // outermost loops are bands of rows or strips of columns (16 and 10 for the DCGAN's
    // 128x6272 dense layer), not for an image batch, whose loops may number thousands
    // (3,584 for the DCGAN's first convolution, each with 12,544 partial sums).
    const Node *anchor = plan_.units[u].anchor;
    if (n->attrs.ints[1] != static_cast<int64_t>(o->shape.size()) &&
        (o->shape.size() != 2 || !opInfo(anchor->op).contiguousStores(*anchor)))
      return false;
    plan_.units[u].sums.push_back(n);
    unitOf_[n->id] = u;
    return true;
  }

  /// Elementwise units of `n`'s operands (of its shape) whose values only `n` reads:
  /// `n`'s unit takes them in, so they need no buffers of their own.
  std::vector<size_t> privateUnits(const Node *n) {
    std::vector<size_t> out;
    for (const Node *o : n->operands) {
      size_t v = unitOf(o);
      if (v == kNoUnit || o->shape != n->shape || plan_.units[v].shape != n->shape ||
          plan_.units[v].anchor || std::find(out.begin(), out.end(), v) != out.end())
        continue;
      bool onlyN = true;
      for (const Node *m : plan_.units[v].members) {
        onlyN = onlyN && !outputs_.count(m->id);
        for (const Node *user : users_[m->id])
          onlyN = onlyN &&
                  (user == n || unitOf(user) == v || (unitOf(user) == kNoUnit && isRowSum(*user)));
      }
      // (A row sum of m not placed yet follows m into n's unit: the reduce-add rewrite
      // makes such sums late in the graph.) Nor may n read what needs v done: v's sums,
      // or anything computed from them.
      for (const Node *other : n->operands) {
        if (other->is(OpKind::Const) || (isMember(other, v) && !picked_.count(other->id)))
          continue;
        const size_t w = unitOf(bufferOf(other, n->shape));
        onlyN = onlyN && (w == kNoUnit || (w != v && !dependsOn(w, v)));
      }
      if (onlyN)
        out.push_back(v);
    }
    return out;
  }

  /// Those of the units `absorbed` unit u can take in with their sums: sums only go into
  /// a loop without an anchor, and one loop has one row length.
  std::vector<size_t> fitting(const std::vector<size_t> &absorbed, size_t u) const {
    const Unit &into = plan_.units[u];
    std::optional<int64_t> begin;
    if (!into.sums.empty())
      begin = into.sums[0]->attrs.ints[0];
    std::vector<size_t> out;
    for (size_t v : absorbed) {
      const std::vector<const Node *> &sums = plan_.units[v].sums;
      if (!sums.empty()) {
        if (into.anchor || (begin && *begin != sums[0]->attrs.ints[0]))
          continue;
        begin = sums[0]->attrs.ints[0];
      }
      out.push_back(v);
    }
    return out;
  }

  /// Orders nodes as the graph does.
  auto inGraphOrder() const {
    return [this](const Node *a, const Node *b) { return pos_.at(a->id) < pos_.at(b->id); };
  }

  /// Moves unit v's members (and sums) into unit u; v is left empty.
  void merge(size_t v, size_t u) {
    Unit &from = plan_.units[v], &to = plan_.units[u];
    for (const Node *m : from.members)
      unitOf_[m->id] = u;
    to.members.insert(to.members.end(), from.members.begin(), from.members.end());
    std::sort(to.members.begin(), to.members.end(), inGraphOrder());
    from.members.clear();
    for (const Node *r : from.sums)
      unitOf_[r->id] = u;
    to.sums.insert(to.sums.end(), from.sums.begin(), from.sums.end());
    std::sort(to.sums.begin(), to.sums.end(), inGraphOrder());
    from.sums.clear();
    for (size_t d : deps_[v])
      if (d != u)
        deps_[u].insert(d);
    deps_[v].clear();
  }

  /// Whether `n` can join unit `u`, which first takes in the units `absorbed`.
  bool canJoin(const Node *n, size_t u, const std::vector<size_t> &absorbed) {
    for (size_t v : absorbed)
      for (size_t d : deps_[v])
        if (d == u || dependsOn(d, u))
          return false;
    auto inU = [&](size_t v) {
      return v == u || std::find(absorbed.begin(), absorbed.end(), v) != absorbed.end();
    };
    for (const Node *o : n->operands) {
      if (o->is(OpKind::Const) || (inU(unitOf(o)) && !picked_.count(o->id)))
        continue; // a value the unit computes itself
      const Node *b = bufferOf(o, n->shape);
      if (b->is(OpKind::Const))
        continue;
      size_t v = unitOf(b);
      if (inU(v) || (v != kNoUnit && dependsOn(v, u)))
        return false; // read as a finished buffer, which the unit would still be writing
    }
    return true;
  }

  /// The buffers the units' anchors (kernels) read: stored whatever else happens.
  std::set<uint32_t> anchorReads() const {
    std::set<uint32_t> out;
    for (const Unit &u : plan_.units)
      if (u.anchor)
        for (const Node *b : buffersRead(u.anchor))
          out.insert(b->id);
    return out;
  }

  /// Operands, inputs and stored values of every unit; then the units in dependency order.
  void finish() {
    dropEmptyUnits();
    kernelReads_ = anchorReads();
    // Loops, and epilogues whose anchor stores contiguous vectors (what the recomputed
    // values need then costs a vector load, not a gather).
    for (size_t id = 0; id < plan_.units.size(); ++id) {
      const Node *a = plan_.units[id].anchor;
      if (!a || opInfo(a->op).contiguousStores(*a))
        rematerialize(id);
    }
    for (size_t id = 0; id < plan_.units.size(); ++id) {
      Unit &u = plan_.units[id];
      const std::set<const Node *> mine(u.members.begin(), u.members.end());
      std::map<std::pair<uint32_t, std::vector<int64_t>>, size_t> inputIndex;
      for (const Node *m : u.members) {
        std::vector<FusedOperand> ops;
        for (const Node *o : m->operands) {
          if (o->is(OpKind::Const)) {
            ops.push_back({FusedOperand::Kind::Const, 0, o->attrs.num});
            continue;
          }
          if ((o == u.anchor || mine.count(o)) && !picked_.count(o->id)) {
            if (o == u.anchor) {
              ops.push_back({FusedOperand::Kind::Anchor});
              continue;
            }
            size_t k = std::find(u.members.begin(), u.members.end(), o) - u.members.begin();
            ops.push_back({FusedOperand::Kind::Member, k});
            continue;
          }
          // A buffer: of the same shape, rank 0, or read through views and picking ops.
          auto [b, strides] = resolve(o, u.shape, o->shape.empty() ? std::vector<int64_t>(u.shape.size(), 0)
                                                                    : rowMajorStrides(u.shape));
          if (b->is(OpKind::Const)) {
            ops.push_back({FusedOperand::Kind::Const, 0, b->attrs.num});
            continue;
          }
          auto [it, fresh] = inputIndex.emplace(std::make_pair(b->id, strides), u.inputs.size());
          if (fresh)
            u.inputs.push_back({b, strides});
          ops.push_back({FusedOperand::Kind::Input, it->second});
        }
        u.operands.push_back(std::move(ops));
      }
    }
    // Stored: outputs, and values read outside their unit (as a buffer), by the unit
    // that owns them (not one that recomputes them). A unit left storing nothing (every
    // value it computed is recomputed where it is read) is dropped, and with it its
    // reads, until none is left.
    for (bool dropped = true; dropped;) {
      std::set<uint32_t> stored = anchorReads();
      stored.insert(outputs_.begin(), outputs_.end());
      for (const Unit &u : plan_.units) {
        for (size_t j = 0; j < u.members.size(); ++j)
          for (size_t k = 0; k < u.operands[j].size(); ++k)
            if (u.operands[j][k].kind == FusedOperand::Kind::Input)
              stored.insert(u.inputs[u.operands[j][k].index].buffer->id);
      }
      for (size_t id = 0; id < plan_.units.size(); ++id) {
        Unit &u = plan_.units[id];
        std::vector<const Node *> all;
        if (u.anchor)
          all.push_back(u.anchor);
        all.insert(all.end(), u.members.begin(), u.members.end());
        all.insert(all.end(), u.sums.begin(), u.sums.end());
        std::sort(all.begin(), all.end(), inGraphOrder());
        u.stored.clear();
        for (const Node *n : all)
          if (stored.count(n->id) && unitOf(n) == id)
            u.stored.push_back(n);
      }
      dropped = dropUnits([](const Unit &u) { return u.stored.empty(); });
    }
    order();
  }

  /// The buffer a loop over `u` reads for `o` element by element in its own layout, or
  /// null (a broadcast, a rank-0 value, another shape).
  const Node *readInPlace(const Node *o, const Unit &u) const {
    const std::vector<int64_t> rm = rowMajorStrides(u.shape);
    auto [b, strides] = resolve(o, u.shape, rm);
    return strides == rm && b->shape == u.shape && !b->is(OpKind::Const) ? b : nullptr;
  }

  /// A value a loop (or a contiguous epilogue) reads from another unit's buffer, but can
  /// compute from what it reads anyway with a few cheap elementwise ops (a ReLU's or
  /// LeakyReLU's step mask, from the pre-activation its backward loop also reads, or from
  /// the normalized value and the batch-norm parameters; the tutorial's sigmoid
  /// derivative y (1 - y), from y, which D's first layer reads), is computed in the loop
  /// instead: the nodes join it
  /// as members (they stay members of their own unit too), so the loop reads one tensor
  /// less and the other unit need not store it. Broadcasts and rank-0 values the nodes
  /// read are cheap; tensors of the loop's shape must be read by the loop already, or,
  /// for two values or more computed from one further tensor (or one value, from a
  /// tensor a kernel reads, stored anyway), be that tensor: a
  /// LeakyReLU in a convolution's epilogue stores its two masks, and the backward loop
  /// reads the activation instead (a tensor a kernel reads, stored anyway, is taken as
  /// the further one before any deeper tensor it could be computed from).
  void rematerialize(size_t id) {
    Unit &u = plan_.units[id];
    for (bool changed = true; changed;) {
      changed = false;
      const std::set<const Node *> mine(u.members.begin(), u.members.end());
      std::set<const Node *> reads;
      for (const Node *m : mine)
        for (const Node *o : m->operands)
          if (!mine.count(o) && !o->is(OpKind::Const))
            if (const Node *b = readInPlace(o, u))
              reads.insert(b);
      auto recompute = [&](const std::vector<const Node *> &closure) {
        u.members.insert(u.members.end(), closure.begin(), closure.end());
        std::sort(u.members.begin(), u.members.end(), inGraphOrder());
        // The buffers they read may come from units this one did not read before; those
        // run before the units that computed the values, so the order stays acyclic.
        for (const Node *n : closure)
          addDeps(id, n);
        changed = true;
      };
      std::map<const Node *, std::vector<const Node *>> byExtra; // values needing one more tensor
      for (const Node *b : reads) {
        const Node *extra = nullptr;
        std::vector<const Node *> closure = closureOf(b, u, mine, reads, &extra);
        if (!closure.empty() && !extra) {
          recompute(closure);
          break;
        }
        if (!closure.empty())
          byExtra[extra].push_back(b);
      }
      if (changed)
        continue;
      // Two values from one further tensor: a read less. One value from a tensor a
      // kernel reads (stored anyway): as many reads, and the value need not be stored
      // for this loop (batch norm's centered x - mean, which the loop summing its
      // squares stored for the normalization to read, is computed again there from x).
      for (auto &[extra, values] : byExtra) {
        if (values.size() < 2 && !kernelReads_.count(extra->id))
          continue;
        std::set<const Node *> more(reads);
        more.insert(extra);
        for (const Node *b : values)
          recompute(closureOf(b, u, mine, more, nullptr));
        break;
      }
    }
  }

  /// The nodes computing `b` in a loop over `u` from its members, the tensors `reads`
  /// and broadcasts, with at most six cheap ops; empty if there are none such. With
  /// `extra`, one more tensor of u's shape may be read: it is set to that tensor.
  std::vector<const Node *> closureOf(const Node *b, const Unit &u,
                                      const std::set<const Node *> &mine,
                                      const std::set<const Node *> &reads,
                                      const Node **extra) const {
    constexpr size_t kMostNodes = 6;
    std::vector<const Node *> closure;
    std::function<bool(const Node *)> take = [&](const Node *n) {
      if (mine.count(n) || std::find(closure.begin(), closure.end(), n) != closure.end())
        return true;
      if (!cheap(n) || n->shape != u.shape || outputs_.count(n->id) || picked_.count(n->id) ||
          closure.size() == kMostNodes)
        return false;
      closure.push_back(n);
      for (const Node *o : n->operands) {
        if (o->is(OpKind::Const) || o->shape.empty())
          continue;
        const Node *in = readInPlace(o, u);
        if (!in) {
          const std::vector<int64_t> st = resolve(o, u.shape, rowMajorStrides(u.shape)).second;
          if (std::find(st.begin(), st.end(), 0) == st.end())
            return false; // read at u's shape but not in place: a transpose, say
          continue;       // a broadcast: a few values read again and again
        }
        if ((reads.count(in) && in != b) || (extra && *extra == in))
          continue;
        // A tensor a kernel reads is stored anyway: reading it beats recomputing it from
        // one that might then be stored only for this loop (a LeakyReLU's output, which
        // the next layer reads, rather than its pre-activation).
        if (extra && !*extra && in != b && kernelReads_.count(in->id) && storable(in)) {
          *extra = in;
          continue;
        }
        const size_t before = closure.size();
        if (in == o && take(o))
          continue;
        closure.resize(before);
        if (!extra || *extra || in == b || !storable(in))
          return false;
        *extra = in;
      }
      return true;
    };
    if (b->is(OpKind::Const) || !take(b))
      closure.clear();
    return closure;
  }
  /// Whether a loop may read `n` as a buffer that would not be stored otherwise: a leaf,
  /// a value of an elementwise loop, or one a kernel with contiguous stores computes (a
  /// strided kernel stores its epilogue's values with scatters).
  bool storable(const Node *n) const {
    const size_t v = unitOf(n);
    if (v == kNoUnit)
      return opInfo(n->op).isLeaf();
    const Node *anchor = plan_.units[v].anchor;
    return !anchor || anchor == n || opInfo(anchor->op).contiguousStores(*anchor);
  }
  /// Ops a loop recomputes rather than read: elementwise ones as cheap as an add (no
  /// division or polynomial; OpInfo::costPerElement).
  static bool cheap(const Node *n) {
    const OpInfo &info = opInfo(n->op);
    return info.isElementwise() && info.costPerElement <= 1;
  }

  /// Removes the units merge() emptied, renumbering the rest.
  void dropEmptyUnits() {
    dropUnits([](const Unit &u) { return !u.anchor && u.members.empty(); });
  }
  /// Removes the units `drop` picks, renumbering the rest (a dropped unit's nodes belong
  /// to none, and nothing depends on it any more); whether any was dropped.
  bool dropUnits(const std::function<bool(const Unit &)> &drop) {
    std::vector<size_t> renumber(plan_.units.size(), kNoUnit);
    std::vector<Unit> kept;
    std::vector<std::set<size_t>> keptDeps;
    for (size_t u = 0; u < plan_.units.size(); ++u)
      if (!drop(plan_.units[u])) {
        renumber[u] = kept.size();
        kept.push_back(std::move(plan_.units[u]));
        keptDeps.push_back(std::move(deps_[u]));
      }
    if (kept.size() == plan_.units.size()) {
      plan_.units = std::move(kept);
      deps_ = std::move(keptDeps);
      return false;
    }
    for (std::set<size_t> &ds : keptDeps) {
      std::set<size_t> r;
      for (size_t d : ds)
        if (renumber.at(d) != kNoUnit)
          r.insert(renumber[d]);
      ds = std::move(r);
    }
    for (auto &[id, u] : unitOf_)
      u = u == kNoUnit ? kNoUnit : renumber.at(u);
    plan_.units = std::move(kept);
    deps_ = std::move(keptDeps);
    return true;
  }

  /// Kahn's algorithm over the units, the earliest-starting ready unit first, so the
  /// kernels keep the graph's order where they can.
  void order() {
    const size_t n = plan_.units.size();
    std::vector<int64_t> first(n);
    std::vector<size_t> pending(n, 0);
    std::vector<std::vector<size_t>> readers(n);
    for (size_t u = 0; u < n; ++u) {
      const Unit &unit = plan_.units[u];
      first[u] = pos_.at((unit.anchor ? unit.anchor : unit.members[0])->id);
      pending[u] = deps_[u].size();
      for (size_t d : deps_[u])
        readers[d].push_back(u);
    }
    using Entry = std::pair<int64_t, size_t>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> ready;
    for (size_t u = 0; u < n; ++u)
      if (!pending[u])
        ready.push({first[u], u});
    std::vector<Unit> sorted;
    while (!ready.empty()) {
      size_t u = ready.top().second;
      ready.pop();
      sorted.push_back(std::move(plan_.units[u]));
      for (size_t r : readers[u])
        if (--pending[r] == 0)
          ready.push({first[r], r});
    }
    if (sorted.size() != n)
      internalError("codegen", "fused kernels depend on each other in a cycle");
    plan_.units = std::move(sorted);
  }

  static constexpr size_t kNoUnit = static_cast<size_t>(-1);
  const Graph &g_;
  FusionPlan plan_;
  std::unordered_map<uint32_t, int64_t> pos_;
  std::set<uint32_t> outputs_;
  std::unordered_map<uint32_t, std::vector<Node *>> users_;
  std::set<uint32_t> picked_; ///< element-picking ops read in place
  std::set<uint32_t> kernelReads_; ///< buffers the units' anchors read
  std::set<uint32_t> inPlace_; ///< nodes every consumer reads in place
  std::map<uint32_t, std::set<Access>> reads_;        ///< how consumers read each node
  std::map<uint32_t, std::set<Access>> operandReads_; ///< the same, composed into a picked op's operand
  std::unordered_map<uint32_t, size_t> unitOf_;
  std::vector<std::set<size_t>> deps_; ///< units each unit reads
  std::vector<uint64_t> seen_;
  uint64_t stamp_ = 0;
};

} // namespace

FusionPlan planFusion(const Graph &g) { return Planner(g).run(); }

} // namespace ganc::codegen
