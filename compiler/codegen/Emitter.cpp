//===- Emitter.cpp - graph IR to an LLVM module ---------------------------===//
//
// Every live computing node is lowered by its op's own lowering (OpInfo::scalar or
// OpInfo::lower) written through LlvmKernelBuilder; each outermost loop of it becomes a
// kernel function
//   void <graph>.<n>.<op>(float **buffers, i64 begin, i64 end)
// running [begin, end) of that loop on the buffers of its call's table. The graph's
// entry function calls each kernel through ganc_rt_parallel_for with a grain chosen from
// the work per iteration that the builder counted while emitting. Constants are
// immediates, never buffers. Each kernel records its .gan source location in the
// "ganc.loc" attribute and, when the source is known, in DWARF debug info (a subprogram
// and instruction locations).
//
//===----------------------------------------------------------------------===//
#include "codegen/Emitter.h"
#include "codegen/Fusion.h"

using ganc::rt::KernelInfo;

#include "ir/OpInfo.h"
#include "support/Error.h"

#include <llvm/Analysis/ValueTracking.h>
#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/IntrinsicsX86.h>
#include <llvm/IR/MDBuilder.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace ganc::codegen {

using namespace ir;
using llvm::Value;
using Val = KernelBuilder::Val;
using Idx = KernelBuilder::Idx;

namespace {

/// Work per kernel chunk below which splitting across threads does not pay.
constexpr double kMinWorkPerChunk = 32768;

/// What the kernels of one node read and write, and where their calls go.
struct KernelSite {
  std::string baseName; ///< "<graph>.<n>.<op>"; a node's second loop adds ".1", ...
  std::string loc;      ///< .gan source line, or empty
  /// The same as DWARF: the .gan file, line and column (no file: no debug info).
  llvm::DIFile *file = nullptr;
  unsigned line = 0, col = 0;
  std::string body;     ///< what it computes, for `emit --stage=kernels`
  std::string fused;    ///< the .gan lines of fused nodes other than `loc`
  std::vector<std::optional<size_t>> operandSlots; ///< none for a constant operand
  std::vector<double> operandConsts;
  std::vector<size_t> outSlots; ///< the node's result first; a fused kernel stores several
  std::optional<size_t> scratchSlot; ///< OpInfo::scratch memory
  /// Sums over leading axes of what the kernels' stores compute (addToTotal): each one's
  /// size (1 for a sum of all elements), and the slot of their partial sums.
  std::vector<int64_t> totals;
  std::optional<size_t> totalsSlot;

  /// The slots of the buffers the kernels use, each once, in the order of their table:
  /// operands, outputs, scratch, totals.
  std::vector<size_t> tableSlots() const {
    std::vector<size_t> t;
    auto add = [&](size_t s) {
      if (std::find(t.begin(), t.end(), s) == t.end())
        t.push_back(s);
    };
    for (const auto &s : operandSlots)
      if (s)
        add(*s);
    for (size_t s : outSlots)
      add(s);
    if (scratchSlot)
      add(*scratchSlot);
    if (totalsSlot)
      add(*totalsSlot);
    return t;
  }
};

/// Emits the loop nests of one node. Each outermost loop becomes a kernel function
///   void name(float **buffers, i64 begin, i64 end)
/// (buffers: the site's KernelSite::tableSlots) and `onKernel` emits its call from the
/// graph's entry function.
class LlvmKernelBuilder final : public KernelBuilder {
public:
  using OnKernel = std::function<void(KernelInfo, llvm::Function *, int64_t extent, double work)>;

  /// `dib` (may be null): where the kernels' debug info goes.
  LlvmKernelBuilder(llvm::Module &m, llvm::FunctionType *kernelTy, KernelSite site, int lanes,
                    OnKernel onKernel, llvm::DIBuilder *dib)
      : m_(m), ctx_(m.getContext()), b_(m.getContext()), kernelTy_(kernelTy),
        site_(std::move(site)), lanes_(lanes), onKernel_(std::move(onKernel)), dib_(dib) {
    llvm::FastMathFlags fmf;
    fmf.setAllowContract(true);
    fmf.setAllowReassoc(true);
    fmf.setNoSignedZeros(true);
    b_.setFastMathFlags(fmf);
  }

  using KernelBuilder::add;
  using KernelBuilder::mul;
  Idx index(int64_t c) override { return idx(b_.getInt64(c)); }
  Idx add(Idx a, Idx c) override { return idx(b_.CreateAdd(iv(a), iv(c), "", true, true)); }
  Idx sub(Idx a, Idx c) override { return idx(b_.CreateSub(iv(a), iv(c), "", true, true)); }
  Idx mul(Idx a, Idx c) override { return idx(b_.CreateMul(iv(a), iv(c), "", true, true)); }

  void loop(int64_t extent, const std::function<void(Idx)> &body) override {
    loopImpl(extent, {}, [&](Value *i, const std::vector<Value *> &) {
      body(idx(i));
      return std::vector<Value *>{};
    });
  }
  void rollNextLoop() override { rolled_ = true; }
  Val loopReduce(int64_t extent, Val init, const std::function<Val(Idx, Val)> &body) override {
    return val(loopImpl(extent, {fv(init)}, [&](Value *i, const std::vector<Value *> &acc) {
                 return std::vector<Value *>{fv(body(idx(i), val(acc[0])))};
               })[0]);
  }
  std::vector<Val>
  loopCarry(int64_t extent, std::vector<Val> init,
            const std::function<std::vector<Val>(Idx, const std::vector<Val> &)> &body) override {
    std::vector<Value *> in;
    for (Val v : init)
      in.push_back(fv(v));
    std::vector<Value *> out = loopImpl(extent, in, [&](Value *i, const std::vector<Value *> &acc) {
      std::vector<Val> a;
      for (Value *v : acc)
        a.push_back(val(v));
      std::vector<Value *> next;
      for (Val v : body(idx(i), a))
        next.push_back(fv(v));
      return next;
    });
    std::vector<Val> r;
    for (Value *v : out)
      r.push_back(val(v));
    return r;
  }

  Val load(unsigned k, Idx flat) override {
    work_ += multiplier_;
    Value *p = operand(k);
    if (auto *c = llvm::dyn_cast<llvm::Constant>(p))
      return val(c); // a constant operand is an immediate
    return val(b_.CreateLoad(b_.getFloatTy(), gep(p, flat)));
  }
  Val loadResult(Idx flat) override {
    if (epilogue_)
      internalError("codegen", "'" + site_.baseName + "' reads back a result it promised to store once");
    return val(b_.CreateLoad(b_.getFloatTy(), gep(result(), flat)));
  }
  void store(Idx flat, Val v) override {
    if (epilogue_)
      return epilogue_(flat, v, 0);
    storeAt(0, flat, v, 0);
  }
  int lanes() override { return lanes_; }
  Val loadVector(unsigned k, Idx flat) override {
    work_ += multiplier_ * lanes_;
    Value *p = operand(k);
    if (auto *c = llvm::dyn_cast<llvm::Constant>(p))
      return val(constantLanes(c));
    return val(loadLanes(gep(p, flat)));
  }
  Val loadPartial(unsigned k, Idx flat, int64_t count) override {
    checkLanes(count);
    activeLanes_ = static_cast<int>(count);
    Val v = loadVector(k, flat);
    activeLanes_ = lanes_;
    return v;
  }
  Val loadStrided(unsigned k, Idx flat, int64_t step, int64_t count) override {
    checkLanes(count);
    if (step == 1)
      return loadPartial(k, flat, count);
    Value *p = operand(k);
    if (step > 4 || llvm::isa<llvm::Constant>(p)) {
      activeLanes_ = static_cast<int>(count);
      Val v = gather(k, flat, step);
      activeLanes_ = lanes_;
      return v;
    }
    // A short stride: the span as one wide masked load, its lanes picked by a shuffle
    // (two loads and a two-source permute with AVX-512 for step 2), not a gather.
    work_ += multiplier_ * count;
    const int64_t span = (count - 1) * step + 1, wide = step * lanes_;
    auto *wideTy = llvm::FixedVectorType::get(b_.getFloatTy(), static_cast<unsigned>(wide));
    std::vector<llvm::Constant *> on;
    for (int64_t i = 0; i < wide; ++i)
      on.push_back(b_.getInt1(i < span));
    Value *all = b_.CreateMaskedLoad(wideTy, gep(p, flat), llvm::Align(4), llvm::ConstantVector::get(on),
                                     llvm::Constant::getNullValue(wideTy));
    std::vector<int> pick;
    for (int i = 0; i < lanes_; ++i)
      pick.push_back(static_cast<int>(i * step));
    return val(b_.CreateShuffleVector(all, pick));
  }
  Val sumLanes(Val v) override {
    Value *x = fv(v);
    if (!x->getType()->isVectorTy())
      return v;
    // Reassociation (the builder's fast-math flags) lets the backend add lanes as a tree.
    return flop(b_.CreateFAddReduce(llvm::ConstantFP::get(b_.getFloatTy(), -0.0), x));
  }
  void storeVector(Idx flat, Val v) override { storeStrided(flat, 1, v); }
  void prefetch(unsigned k, Idx flat) override {
    Value *p = operand(k);
    if (llvm::isa<llvm::Constant>(p))
      return;
    // Not inbounds: the address may lie past the buffer, which a prefetch never faults on.
    Value *at = b_.CreateGEP(b_.getFloatTy(), p, iv(flat));
    // llvm.prefetch(address, read, locality 3 (into L1: prefetcht0), data)
    b_.CreateIntrinsic(llvm::Intrinsic::prefetch, {at->getType()},
                       {at, b_.getInt32(0), b_.getInt32(3), b_.getInt32(1)});
  }
  void storePartial(Idx flat, int64_t count, Val v) override {
    checkLanes(count);
    // While the store (and its epilogue) runs, vector loads and stores touch the first
    // `count` lanes only.
    activeLanes_ = static_cast<int>(count);
    storeVector(flat, v);
    activeLanes_ = lanes_;
  }
  void storeStrided(Idx flat, int64_t stride, Val v) override {
    if (epilogue_)
      return epilogue_(flat, v, stride);
    storeAt(0, flat, v, stride);
  }

  // Beyond KernelBuilder: what fused kernels need.

  /// Runs `e(flat, value, laneStride)` instead of each store of the node's result
  /// (laneStride 0: a scalar; else a vector whose lanes lie laneStride apart).
  using Epilogue = std::function<void(Idx flat, Val v, int64_t laneStride)>;
  void setEpilogue(Epilogue e) { epilogue_ = std::move(e); }
  /// Stores v at `flat` of output slot `out`: a scalar (laneStride 0), or lanes
  /// laneStride apart. A scalar stored as a vector fills every lane.
  void storeAt(size_t out, Idx flat, Val v, int64_t laneStride) {
    requireKernel();
    Value *p = gep(results_.at(out), flat), *x = fv(v);
    if (laneStride == 0) {
      work_ += multiplier_;
      b_.CreateStore(x, p);
      return;
    }
    work_ += multiplier_ * activeLanes_;
    if (!x->getType()->isVectorTy())
      x = b_.CreateVectorSplat(lanes_, x);
    if (laneStride == 1)
      return storeLanes(x, p);
    const bool partial = activeLanes_ < lanes_;
    // llvm.masked.scatter: one instruction per vector with AVX-512, lane by lane elsewhere.
    b_.CreateMaskedScatter(x, b_.CreateInBoundsGEP(b_.getFloatTy(), p, laneOffsets(laneStride)), llvm::Align(4),
                           partial ? laneMask() : nullptr);
  }
  /// Elements flat, flat + step, ... of operand k as a vector.
  Val gather(unsigned k, Idx flat, int64_t step) {
    work_ += multiplier_ * lanes_;
    Value *p = operand(k);
    if (auto *c = llvm::dyn_cast<llvm::Constant>(p))
      return val(constantLanes(c));
    Value *ptrs = b_.CreateInBoundsGEP(b_.getFloatTy(), gep(p, flat), laneOffsets(step));
    if (activeLanes_ < lanes_)
      return val(b_.CreateMaskedGather(vecTy(), ptrs, llvm::Align(4), laneMask(), zeros()));
    return val(b_.CreateMaskedGather(vecTy(), ptrs, llvm::Align(4)));
  }
  /// Attributes the instructions emitted next to `line:col` of `file`: a fused node's
  /// own .gan line inside the kernel of another. A null file returns to the kernel's.
  void setLine(llvm::DIFile *file, unsigned line, unsigned col) {
    llvm::DISubprogram *sp = fn_ ? fn_->getSubprogram() : nullptr;
    if (!dib_ || !sp)
      return;
    if (!file)
      return b_.SetCurrentDebugLocation(llvm::DILocation::get(ctx_, site_.line, site_.col, sp));
    llvm::DIScope *scope = file == site_.file ? static_cast<llvm::DIScope *>(sp)
                                              : dib_->createLexicalBlockFile(sp, file);
    b_.SetCurrentDebugLocation(llvm::DILocation::get(ctx_, line, col, scope));
  }
  /// Adds `v`, stored at `flat` (a scalar, or a vector along the result's last axis), to
  /// sum t of the site's totals. Each iteration of an outermost loop sums into a block of
  /// its own in the totals slot, zeroed as the iteration starts, so the sums do not depend
  /// on which thread runs it: for a sum of all elements, a vector whose lanes are partial
  /// sums; for a sum over leading axes of R elements, R partial sums, the value at `flat`
  /// going to flat mod R (a vector along the last axis stays inside one row).
  void addToTotal(int t, Val v, Idx flat, int64_t laneStride) {
    const int64_t R = site_.totals[static_cast<size_t>(t)];
    if (R > 1 && laneStride > 1)
      internalError("codegen", "'" + site_.baseName +
                                   "' sums over leading axes what it stores with lanes apart");
    Value *x = fv(v), *p = totalAt(t);
    const bool vector = x->getType()->isVectorTy();
    work_ += multiplier_ * 2 * (vector ? activeLanes_ : 1);
    if (R == 1) {
      x = vector ? fv(zeroInactiveLanes(v)) : b_.CreateInsertElement(zeros(), x, uint64_t{0});
      b_.CreateAlignedStore(b_.CreateFAdd(b_.CreateAlignedLoad(vecTy(), p, llvm::Align(4)), x), p,
                            llvm::Align(4));
      return;
    }
    p = gep(p, rem(flat, R));
    if (!vector)
      return (void)b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(b_.getFloatTy(), p), x), p);
    storeLanes(b_.CreateFAdd(loadLanes(p), x), p);
  }
  /// After the lowering's last loop: one more kernel adding each sum's partial sums in
  /// the order of the iterations that made them, into output slot outs[t].
  void finishTotals(const std::vector<size_t> &outs) {
    summing_ = false;
    const int64_t parts = partBase_;
    loop(1, [&](Idx) {
      for (size_t t = 0; t < site_.totals.size(); ++t) {
        const int64_t R = site_.totals[t];
        // Partial sums [at, at + lanes) of every iteration, added in order.
        auto across = [&](Idx at) {
          return loopReduce(parts, val(zeros()), [&](Idx q, Val acc) {
            return val(b_.CreateFAdd(fv(acc), loadLanes(gep(partialsOf(iv(q), t), at))));
          });
        };
        if (R == 1) {
          storeAt(outs.at(t), index(0), sumLanes(across(index(0))), 0);
          continue;
        }
        // A loop over the whole vectors, not one copy of `across` per vector: a sum of
        // 20,000 columns would otherwise be 1,250 loops that LLVM takes seconds over.
        const int64_t whole = R / lanes_, tail = R % lanes_;
        loop(whole, [&](Idx j) {
          Idx at = mul(j, lanes_);
          storeAt(outs.at(t), at, across(at), 1);
        });
        if (tail) {
          activeLanes_ = static_cast<int>(tail);
          storeAt(outs.at(t), index(whole * lanes_), across(index(whole * lanes_)), 1);
          activeLanes_ = lanes_;
        }
      }
    });
  }
  /// Floats of the totals slot: a block per iteration of an outermost loop.
  int64_t totalsFloats() const { return partBase_ * totalsBlock(); }
  /// Vector loads and stores touch the first `count` lanes only, until set back to lanes().
  void setActiveLanes(int64_t count) {
    checkLanes(count);
    activeLanes_ = static_cast<int>(count);
  }
  /// `v` as a vector whose lanes beyond the active ones are 0.
  Val zeroInactiveLanes(Val v) {
    Value *x = fv(v);
    if (!x->getType()->isVectorTy())
      x = b_.CreateVectorSplat(lanes_, x);
    return activeLanes_ == lanes_ ? val(x) : val(b_.CreateSelect(laneMask(), x, zeros()));
  }
  Idx div(Idx a, int64_t c) { return c == 1 ? a : idx(b_.CreateUDiv(iv(a), b_.getInt64(c))); }
  Idx rem(Idx a, int64_t c) { return idx(b_.CreateURem(iv(a), b_.getInt64(c))); }
  Val splat(Val s) override { return val(b_.CreateVectorSplat(lanes_, fv(s))); }
  void storeScratch(Idx flat, Val v) override {
    work_ += multiplier_;
    b_.CreateStore(fv(v), gep(scratch(), flat));
  }
  void storeScratchVector(Idx flat, Val v) override {
    work_ += multiplier_ * lanes_;
    Value *x = fv(v);
    if (!x->getType()->isVectorTy())
      x = b_.CreateVectorSplat(lanes_, x);
    b_.CreateAlignedStore(x, gep(scratch(), flat), llvm::Align(4));
  }
  void storeScratchPartial(Idx flat, int64_t count, Val v) override {
    checkLanes(count);
    work_ += multiplier_ * count;
    Value *x = fv(v);
    if (!x->getType()->isVectorTy())
      x = b_.CreateVectorSplat(lanes_, x);
    activeLanes_ = static_cast<int>(count);
    storeLanes(x, gep(scratch(), flat));
    activeLanes_ = lanes_;
  }
  Val loadScratch(Idx flat) override {
    work_ += multiplier_;
    return val(b_.CreateLoad(b_.getFloatTy(), gep(scratch(), flat)));
  }
  Val loadScratchVector(Idx flat) override {
    work_ += multiplier_ * lanes_;
    return val(b_.CreateAlignedLoad(vecTy(), gep(scratch(), flat), llvm::Align(4)));
  }
  Val fma(Val a, Val c, Val d) override {
    auto [x, y, z] = same(a, c, d);
    Value *r = b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {x->getType()}, {x, y, z});
    flop(r); // the multiply
    return flop(r); // and the add
  }

  Val constant(double c) override { return val(llvm::ConstantFP::get(b_.getFloatTy(), c)); }
  Val add(Val a, Val c) override { return binary(llvm::Instruction::FAdd, a, c); }
  Val sub(Val a, Val c) override { return binary(llvm::Instruction::FSub, a, c); }
  Val mul(Val a, Val c) override { return binary(llvm::Instruction::FMul, a, c); }
  Val div(Val a, Val c) override { return binary(llvm::Instruction::FDiv, a, c); }
  Val neg(Val a) override { return val(b_.CreateFNeg(fv(a))); }
  Val exp(Val a) override { return flop(emitExp(fv(a))); }
  Val log(Val a) override { return flop(emitLog(fv(a))); }
  Val sqrt(Val a) override { return flop(fv(intrinsic(llvm::Intrinsic::sqrt, a))); }
  Val abs(Val a) override { return intrinsic(llvm::Intrinsic::fabs, a); }
  Val max(Val a, Val c) override {
    auto [x, y, unused] = same(a, c, a);
    return val(b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, x, y));
  }
  Val selectPositive(Val c, Val a, Val d) override {
    auto [x, y, z] = same(c, a, d);
    Value *cond = b_.CreateFCmpOGT(x, llvm::Constant::getNullValue(x->getType()));
    return val(b_.CreateSelect(cond, y, z));
  }

private:
  /// Scalars among vectors become vectors with the scalar in every lane.
  std::tuple<Value *, Value *, Value *> same(Val a, Val c, Val d) {
    Value *x = fv(a), *y = fv(c), *z = fv(d);
    if (x->getType()->isVectorTy() || y->getType()->isVectorTy() || z->getType()->isVectorTy()) {
      auto widen = [&](Value *v) { return v->getType()->isVectorTy() ? v : b_.CreateVectorSplat(lanes_, v); };
      x = widen(x), y = widen(y), z = widen(z);
    }
    return {x, y, z};
  }
  Val binary(llvm::Instruction::BinaryOps op, Val a, Val c) {
    auto [x, y, unused] = same(a, c, a);
    return flop(b_.CreateBinOp(op, x, y));
  }
  /// 0, step, 2 step, ...: 32-bit where they fit, so that a gather or scatter takes one
  /// base register and 32-bit offsets (one vgatherdps of 16 lanes instead of two
  /// vgatherqps of 8 with AVX-512).
  llvm::Constant *laneOffsets(int64_t step) {
    const bool narrow = (lanes_ - 1) * step <= INT32_MAX;
    std::vector<llvm::Constant *> offsets;
    for (int i = 0; i < lanes_; ++i)
      offsets.push_back(narrow ? b_.getInt32(static_cast<int32_t>(i * step)) : b_.getInt64(i * step));
    return llvm::ConstantVector::get(offsets);
  }
  void checkLanes(int64_t count) {
    if (count < 1 || count > lanes_)
      internalError("codegen", "'" + site_.baseName + "' accesses " + std::to_string(count) + " lanes of a vector");
  }
  /// Lanes below activeLanes_ on (a partial load or store), the rest off.
  llvm::Constant *laneMask() {
    std::vector<llvm::Constant *> on;
    for (int i = 0; i < lanes_; ++i)
      on.push_back(b_.getInt1(i < activeLanes_));
    return llvm::ConstantVector::get(on);
  }
  llvm::Constant *zeros() { return llvm::Constant::getNullValue(vecTy()); }
  /// A partial access of 2, 4 or 8 lanes goes through a narrower vector (one plain
  /// 8-, 16- or 32-byte load or store) instead of a masked one of the full width.
  bool narrowAccess() const {
    return activeLanes_ < lanes_ && activeLanes_ > 1 && (activeLanes_ & (activeLanes_ - 1)) == 0;
  }
  /// The active lanes at p as a vector, zeros in the others.
  Value *loadLanes(Value *p) {
    if (activeLanes_ == lanes_)
      return b_.CreateAlignedLoad(vecTy(), p, llvm::Align(4));
    if (!narrowAccess())
      return b_.CreateMaskedLoad(vecTy(), p, llvm::Align(4), laneMask(), zeros());
    auto *narrowTy =
        llvm::FixedVectorType::get(b_.getFloatTy(), static_cast<unsigned>(activeLanes_));
    std::vector<int> widen; // the loaded lanes, then lane 0 of a zero vector
    for (int i = 0; i < lanes_; ++i)
      widen.push_back(i < activeLanes_ ? i : activeLanes_);
    return b_.CreateShuffleVector(b_.CreateAlignedLoad(narrowTy, p, llvm::Align(4)),
                                  llvm::Constant::getNullValue(narrowTy), widen);
  }
  /// The active lanes of vector x at p; nothing past them is touched.
  void storeLanes(Value *x, Value *p) {
    if (activeLanes_ == lanes_) {
      b_.CreateAlignedStore(x, p, llvm::Align(4));
    } else if (narrowAccess()) {
      std::vector<int> low;
      for (int i = 0; i < activeLanes_; ++i)
        low.push_back(i);
      b_.CreateAlignedStore(b_.CreateShuffleVector(x, low), p, llvm::Align(4));
    } else {
      b_.CreateMaskedStore(x, p, llvm::Align(4), laneMask());
    }
  }
  /// A constant operand read as a vector: c in the active lanes, 0 in the others.
  llvm::Constant *constantLanes(llvm::Constant *c) {
    std::vector<llvm::Constant *> lanes;
    for (int i = 0; i < lanes_; ++i)
      lanes.push_back(i < activeLanes_ ? c : llvm::ConstantFP::get(b_.getFloatTy(), 0.0));
    return llvm::ConstantVector::get(lanes);
  }
  static Idx idx(Value *v) { return {v, 0}; }
  static Val val(Value *v) { return {v, 0}; }
  static Value *iv(Idx i) { return static_cast<Value *>(i.ptr); }
  static Value *fv(Val v) { return static_cast<Value *>(v.ptr); }
  llvm::Type *vecTy() { return llvm::FixedVectorType::get(b_.getFloatTy(), lanes_); }
  Value *gep(Value *p, Idx i) { return b_.CreateInBoundsGEP(b_.getFloatTy(), p, iv(i)); }
  /// Counts the floating-point operations of `v` per execution of the current loop body.
  Val flop(Value *v) {
    auto *vt = llvm::dyn_cast<llvm::FixedVectorType>(v->getType());
    flops_ += multiplier_ * (vt ? vt->getNumElements() : 1);
    return val(v);
  }
  Val intrinsic(llvm::Intrinsic::ID id, Val a) { return val(b_.CreateUnaryIntrinsic(id, fv(a))); }

  // exp and log as straight-line arithmetic (Cephes' expf and logf, about 1 ulp), so loops
  // calling them vectorize; the C library's expf/logf would stay scalar calls. Written
  // without fast-math flags: reassociating the range reduction would lose its precision.
  Value *fconst(llvm::Type *t, double v) { return llvm::ConstantFP::get(t, v); }
  Value *iconst(llvm::Type *t, int64_t v) { return llvm::ConstantInt::get(t, v, true); }
  llvm::Type *intTypeFor(llvm::Type *f) {
    if (auto *vt = llvm::dyn_cast<llvm::FixedVectorType>(f))
      return llvm::FixedVectorType::get(b_.getInt32Ty(), vt->getNumElements());
    return b_.getInt32Ty();
  }
  Value *fmuladd(Value *a, Value *c, Value *d) {
    return b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {a->getType()}, {a, c, d});
  }
  Value *polynomial(Value *x, std::initializer_list<double> coeffs) {
    llvm::Type *t = x->getType();
    auto it = coeffs.begin();
    Value *p = fconst(t, *it++);
    for (; it != coeffs.end(); ++it)
      p = fmuladd(p, x, fconst(t, *it));
    return p;
  }

  Value *emitExp(Value *x) {
    llvm::IRBuilderBase::FastMathFlagGuard guard(b_);
    b_.clearFastMathFlags();
    llvm::Type *t = x->getType(), *it = intTypeFor(t);
    // Clamped to [-104, 89], where the result has already rounded to 0 (e^-104 < 2^-150)
    // or overflows to inf (the last step below does either), so no select is needed for
    // the range. Each clamp is a compare and select with x second, which keeps a NaN
    // (one vmaxps, one vminps: x86's min and max return their second operand then).
    Value *xc = b_.CreateSelect(b_.CreateFCmpOLT(x, fconst(t, -104.0)), fconst(t, -104.0), x);
    xc = b_.CreateSelect(b_.CreateFCmpOGT(xc, fconst(t, 89.0)), fconst(t, 89.0), xc);
    // x = n ln2 + r, |r| <= ln2 / 2, with ln2 split in two for an exact n ln2.
    Value *n = b_.CreateUnaryIntrinsic(llvm::Intrinsic::rint, b_.CreateFMul(xc, fconst(t, 1.44269504088896341)));
    Value *r = fmuladd(n, fconst(t, -0.693359375), xc);
    r = fmuladd(n, fconst(t, 2.12194440e-4), r);
    Value *p = polynomial(r, {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2,
                              1.6666665459E-1, 5.0000001201E-1});
    Value *y = b_.CreateFAdd(fmuladd(p, b_.CreateFMul(r, r), r), fconst(t, 1.0));
    // y 2^n, rounded once (to a subnormal, 0 or inf at the ends of the range). AVX-512's
    // vscalefps does it in one instruction, from n as a float.
    auto *vt = llvm::dyn_cast<llvm::FixedVectorType>(t);
    if (lanes_ == 16 && vt && vt->getNumElements() == 16)
      return b_.CreateIntrinsic(
          llvm::Intrinsic::x86_avx512_mask_scalef_ps_512, {},
          {y, n, llvm::PoisonValue::get(t), b_.getInt16(0xffff), b_.getInt32(4)});
    // Elsewhere as two factors 2^(n/2) 2^(n - n/2), each a normal float for n in
    // [-150, 128] (the first product is exact).
    Value *ni = b_.CreateFPToSI(n, it);
    Value *n1 = b_.CreateAShr(ni, iconst(it, 1));
    Value *n2 = b_.CreateSub(ni, n1);
    auto pow2 = [&](Value *e) {
      return b_.CreateBitCast(b_.CreateShl(b_.CreateAdd(e, iconst(it, 127)), iconst(it, 23)), t);
    };
    Value *res = b_.CreateFMul(b_.CreateFMul(y, pow2(n1)), pow2(n2));
    // A NaN's n converts to poison: the select keeps it out of the result.
    return b_.CreateSelect(b_.CreateFCmpUNO(x, x), x, res);
  }

  Value *emitLog(Value *x) {
    llvm::IRBuilderBase::FastMathFlagGuard guard(b_);
    b_.clearFastMathFlags();
    llvm::Type *t = x->getType(), *it = intTypeFor(t);
    // Subnormals: scale into the normal range first.
    Value *tiny = b_.CreateFCmpOLT(x, fconst(t, 1.17549435e-38));
    Value *xs = b_.CreateSelect(tiny, b_.CreateFMul(x, fconst(t, 8388608.0)), x);
    // x = m 2^e with m in [sqrt(1/2), sqrt(2)).
    Value *bits = b_.CreateBitCast(xs, it);
    Value *e = b_.CreateSub(b_.CreateAnd(b_.CreateLShr(bits, iconst(it, 23)), iconst(it, 0xff)), iconst(it, 126));
    e = b_.CreateAdd(e, b_.CreateSelect(tiny, iconst(it, -23), iconst(it, 0)));
    Value *m = b_.CreateBitCast(b_.CreateOr(b_.CreateAnd(bits, iconst(it, 0x007fffff)), iconst(it, 0x3f000000)), t);
    Value *small = b_.CreateFCmpOLT(m, fconst(t, 0.707106781186547524));
    e = b_.CreateSub(e, b_.CreateZExt(small, it));
    m = b_.CreateSelect(small, b_.CreateFSub(b_.CreateFAdd(m, m), fconst(t, 1.0)), b_.CreateFSub(m, fconst(t, 1.0)));
    Value *z = b_.CreateFMul(m, m);
    Value *p = polynomial(m, {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                              1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                              3.3333331174E-1});
    Value *y = b_.CreateFMul(b_.CreateFMul(p, m), z);
    Value *fe = b_.CreateSIToFP(e, t);
    y = fmuladd(fe, fconst(t, -2.12194440e-4), y);
    y = fmuladd(z, fconst(t, -0.5), y);
    Value *res = fmuladd(fe, fconst(t, 0.693359375), b_.CreateFAdd(m, y));
    res = b_.CreateSelect(b_.CreateFCmpOEQ(x, fconst(t, 0.0)), fconst(t, -INFINITY), res);
    res = b_.CreateSelect(b_.CreateFCmpOEQ(x, fconst(t, INFINITY)), x, res);
    // Negative numbers and NaN give NaN.
    return b_.CreateSelect(b_.CreateFCmpULT(x, fconst(t, 0.0)), fconst(t, NAN), res);
  }

  Value *operand(unsigned k) {
    requireKernel();
    return operands_.at(k);
  }
  Value *result() {
    requireKernel();
    return results_.at(0);
  }
  Value *scratch() {
    requireKernel();
    if (!scratch_)
      internalError("codegen", "'" + site_.baseName + "' uses scratch memory its op did not ask for");
    return scratch_;
  }
  void requireKernel() const {
    if (!fn_)
      internalError("codegen", "'" + site_.baseName + "' accesses memory outside a loop");
  }

  /// Tells LLVM that the kernel's buffers do not overlap: every access gets the alias
  /// scope of the slot pointer it is based on and is declared not to alias the others'.
  /// The pointers are loaded from the buffer table, so without this LLVM must assume any
  /// store may change what any load reads: it guarded each elementwise loop with several
  /// inputs and outputs by run-time overlap checks, with a scalar copy of the loop.
  /// Memory planning guarantees it: a kernel's outputs and scratch are live while its
  /// operands are, so the arena never places them on each other, and outputs never
  /// alias leaves. (A buffer read twice has one entry in the table, one pointer.)
  void markDistinctBuffers() {
    std::vector<Value *> bases;
    for (Value *v : operands_)
      if (v->getType()->isPointerTy())
        bases.push_back(v);
    bases.insert(bases.end(), results_.begin(), results_.end());
    if (scratch_)
      bases.push_back(scratch_);
    if (totals_) // so that a tile's additions to its sums stay in registers between stores
      bases.push_back(totals_);
    if (bases.size() < 2)
      return;
    llvm::MDBuilder md(ctx_);
    llvm::MDNode *domain = md.createAnonymousAliasScopeDomain(fn_->getName());
    std::map<const Value *, size_t> scopeOf;
    std::vector<llvm::Metadata *> scopes;
    for (Value *v : bases)
      if (scopeOf.emplace(v, scopes.size()).second)
        scopes.push_back(md.createAnonymousAliasScope(domain));
    auto pointerOf = [](llvm::Instruction &inst) -> Value * {
      if (auto *l = llvm::dyn_cast<llvm::LoadInst>(&inst))
        return l->getPointerOperand();
      if (auto *st = llvm::dyn_cast<llvm::StoreInst>(&inst))
        return st->getPointerOperand();
      if (auto *ii = llvm::dyn_cast<llvm::IntrinsicInst>(&inst))
        switch (ii->getIntrinsicID()) {
        case llvm::Intrinsic::masked_load:
        case llvm::Intrinsic::masked_gather:
          return ii->getArgOperand(0);
        case llvm::Intrinsic::masked_store:
        case llvm::Intrinsic::masked_scatter:
          return ii->getArgOperand(1);
        default:
          break;
        }
      return nullptr;
    };
    for (llvm::BasicBlock &bb : *fn_)
      for (llvm::Instruction &inst : bb) {
        Value *ptr = pointerOf(inst);
        if (!ptr)
          continue;
        auto it = scopeOf.find(llvm::getUnderlyingObject(ptr, 0));
        if (it == scopeOf.end())
          continue;
        std::vector<llvm::Metadata *> others;
        for (size_t i = 0; i < scopes.size(); ++i)
          if (i != it->second)
            others.push_back(scopes[i]);
        inst.setMetadata(llvm::LLVMContext::MD_alias_scope, llvm::MDNode::get(ctx_, {scopes[it->second]}));
        inst.setMetadata(llvm::LLVMContext::MD_noalias, llvm::MDNode::get(ctx_, others));
      }
  }

  /// Starts the kernel function of an outermost loop: loads the buffer pointers.
  void beginKernel() {
    std::string name = site_.baseName + (kernels_ ? "." + std::to_string(kernels_) : "");
    fn_ = llvm::Function::Create(kernelTy_, llvm::Function::ExternalLinkage, name, m_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    if (!site_.loc.empty())
      fn_->addFnAttr("ganc.loc", site_.loc);
    if (dib_ && site_.file) {
      // A DWARF subprogram at the .gan line, every instruction at it: `asm` shows .loc
      // lines and profilers and debuggers map the code back to the model.
      llvm::DISubprogram *sp = dib_->createFunction(
          site_.file, name, /*LinkageName=*/"", site_.file, site_.line, dib_->createSubroutineType(dib_->getOrCreateTypeArray({})),
          site_.line, llvm::DINode::FlagArtificial,
          llvm::DISubprogram::SPFlagDefinition | llvm::DISubprogram::SPFlagOptimized);
      fn_->setSubprogram(sp);
      b_.SetCurrentDebugLocation(llvm::DILocation::get(ctx_, site_.line, site_.col, sp));
    }
    // Our explicit vectors are the host's full width: keep the backend from splitting them.
    fn_->addFnAttr("min-legal-vector-width", std::to_string(lanes_ * 32));
    llvm::Argument *table = fn_->getArg(0);
    table->addAttr(llvm::Attribute::NoAlias);
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_);
    const std::vector<size_t> slots = site_.tableSlots();
    auto slotPtr = [&](size_t s) -> Value * {
      size_t at = std::find(slots.begin(), slots.end(), s) - slots.begin();
      return b_.CreateLoad(ptr, b_.CreateConstInBoundsGEP1_64(ptr, table, at),
                           "buf" + std::to_string(at));
    };
    operands_.clear();
    for (size_t k = 0; k < site_.operandSlots.size(); ++k)
      operands_.push_back(site_.operandSlots[k]
                              ? slotPtr(*site_.operandSlots[k])
                              : llvm::ConstantFP::get(b_.getFloatTy(), site_.operandConsts[k]));
    results_.clear();
    for (size_t out : site_.outSlots)
      results_.push_back(slotPtr(out));
    scratch_ = site_.scratchSlot ? slotPtr(*site_.scratchSlot) : nullptr;
    totals_ = site_.totalsSlot ? slotPtr(*site_.totalsSlot) : nullptr;
    work_ = flops_ = 0;
  }

  void endKernel(int64_t extent) {
    b_.CreateRetVoid();
    markDistinctBuffers();
    b_.SetCurrentDebugLocation(llvm::DebugLoc());
    KernelInfo ki;
    ki.name = fn_->getName().str();
    ki.loc = site_.loc;
    ki.body = site_.body;
    ki.fused = site_.fused;
    ki.extent = extent;
    ki.flops = flops_ * static_cast<double>(extent);
    onKernel_(ki, fn_, extent, work_);
    fn_ = nullptr;
    ++kernels_;
    if (totals_ && summing_)
      partBase_ += extent;
  }

  /// `for (i = lo; i < hi; ++i) carried = body(i, carried)`; an outermost loop is a
  /// kernel of its own, running [begin, end) of its extent.
  std::vector<Value *> loopImpl(int64_t extent, const std::vector<Value *> &init,
                                const std::function<std::vector<Value *>(Value *, const std::vector<Value *> &)> &body) {
    bool top = depth_ == 0, rolled = rolled_;
    rolled_ = false;
    if (top)
      beginKernel();
    Value *lo = top ? static_cast<Value *>(fn_->getArg(1)) : b_.getInt64(0);
    Value *hi = top ? static_cast<Value *>(fn_->getArg(2)) : b_.getInt64(extent);
    llvm::BasicBlock *pre = b_.GetInsertBlock();
    llvm::BasicBlock *head = llvm::BasicBlock::Create(ctx_, "loop", fn_);
    llvm::BasicBlock *bodyBB = llvm::BasicBlock::Create(ctx_, "body", fn_);
    llvm::BasicBlock *exit = llvm::BasicBlock::Create(ctx_, "exit", fn_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::PHINode *i = b_.CreatePHI(b_.getInt64Ty(), 2, "i");
    i->addIncoming(lo, pre);
    std::vector<llvm::PHINode *> phis;
    std::vector<Value *> carried;
    for (Value *v : init) {
      phis.push_back(b_.CreatePHI(v->getType(), 2, "acc"));
      phis.back()->addIncoming(v, pre);
      carried.push_back(phis.back());
    }
    b_.CreateCondBr(b_.CreateICmpSLT(i, hi), bodyBB, exit);
    b_.SetInsertPoint(bodyBB);
    if (top && totals_ && summing_) {
      outer_ = i;
      b_.CreateMemSet(totalAt(0), b_.getInt8(0), static_cast<uint64_t>(totalsBlock()) * 4,
                      llvm::Align(4));
    }
    ++depth_;
    double savedMul = multiplier_;
    multiplier_ *= top ? 1 : static_cast<double>(extent);
    std::vector<Value *> next = body(i, carried);
    multiplier_ = savedMul;
    --depth_;
    i->addIncoming(b_.CreateAdd(i, b_.getInt64(1), "", true, true), b_.GetInsertBlock());
    for (size_t k = 0; k < phis.size(); ++k)
      phis[k]->addIncoming(next.at(k), b_.GetInsertBlock());
    llvm::BranchInst *latch = b_.CreateBr(head);
    if (rolled) {
      llvm::Metadata *disable =
          llvm::MDNode::get(ctx_, {llvm::MDString::get(ctx_, "llvm.loop.unroll.disable")});
      llvm::MDNode *self = llvm::MDNode::getDistinct(ctx_, {nullptr, disable});
      self->replaceOperandWith(0, self);
      latch->setMetadata(llvm::LLVMContext::MD_loop, self);
    }
    b_.SetInsertPoint(exit);
    if (top)
      endKernel(extent);
    return carried;
  }

  /// Floats of one iteration's partial sums: each sum's, rounded up to whole vectors.
  int64_t totalsBlock() const { return totalsOffset(site_.totals.size()); }
  /// Where sum t's partial sums start in an iteration's block.
  int64_t totalsOffset(size_t t) const {
    int64_t at = 0;
    for (size_t i = 0; i < t; ++i)
      at += (site_.totals[i] + lanes_ - 1) / lanes_ * lanes_;
    return at;
  }
  /// Sum t's partial sums made by outermost iteration `iteration` (of all the node's
  /// outermost loops, numbered on).
  Value *partialsOf(Value *iteration, size_t t) {
    return gep(totals_, idx(b_.CreateAdd(b_.CreateMul(iteration, b_.getInt64(totalsBlock())),
                                         b_.getInt64(totalsOffset(t)))));
  }
  /// Sum t's partial sums for the running iteration of the outermost loop.
  Value *totalAt(int t) {
    return partialsOf(b_.CreateAdd(outer_, b_.getInt64(partBase_)), static_cast<size_t>(t));
  }

  llvm::Module &m_;
  llvm::LLVMContext &ctx_;
  llvm::IRBuilder<> b_;
  llvm::FunctionType *kernelTy_;
  KernelSite site_;
  int lanes_;
  OnKernel onKernel_;
  llvm::DIBuilder *dib_;
  llvm::Function *fn_ = nullptr;
  std::vector<Value *> operands_;
  std::vector<Value *> results_;
  Epilogue epilogue_;
  int activeLanes_ = lanes_; // lanes a vector access touches: fewer in loadPartial, storePartial
  Value *scratch_ = nullptr;
  Value *totals_ = nullptr; // the totals slot (site_.totalsSlot), or null
  Value *outer_ = nullptr;  // the running outermost loop's counter
  int64_t partBase_ = 0;    // iterations of the outermost loops emitted before this one
  bool summing_ = true;     // false once finishTotals runs
  int depth_ = 0;
  bool rolled_ = false; // the next loop gets llvm.loop.unroll.disable
  int kernels_ = 0;
  double multiplier_ = 1; ///< iterations of the current loop body per outermost iteration
  double work_ = 0;       ///< memory accesses per outermost iteration
  double flops_ = 0;      ///< floating-point operations per outermost iteration
};

/// `out = in`: how an output that is a leaf, a constant or another output gets its slot.
void lowerCopy(KernelBuilder &k, const Node &n) {
  k.loop(n.numel(), [&](KernelBuilder::Idx i) {
    k.store(i, k.load(0, n.operands.empty() ? k.index(0) : i));
  });
}

class GraphEmitter {
public:
  /// `name`: the entry function's, and the prefix of its kernels' (the graph's name,
  /// made unique within the module).
  GraphEmitter(llvm::Module &m, const Graph &g, std::string name, const SourceManager *sm, int lanes,
               llvm::DIBuilder *dib, std::map<uint32_t, llvm::DIFile *> *files)
      : m_(m), g_(g), name_(std::move(name)), sm_(sm), ctx_(m.getContext()), lanes_(lanes), dib_(dib),
        files_(files) {}

  StepFunction emit() {
    StepFunction step;
    step.name = name_;
    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_);
    llvm::Type *i64 = llvm::Type::getInt64Ty(ctx_);
    kernelTy_ = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr, i64, i64}, false);
    auto *entryTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr}, false);
    entry_ = llvm::Function::Create(entryTy, llvm::Function::ExternalLinkage, name_, m_);
    auto *parTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr, ptr, i64, i64}, false);
    parallelFor_ = m_.getOrInsertFunction("ganc_rt_parallel_for", parTy);
    llvm::IRBuilder<> eb(llvm::BasicBlock::Create(ctx_, "entry", entry_));

    // Slots: leaves, then outputs, then temporaries.
    plan_ = planFusion(g_);
    for (Node *n : g_.live())
      if (opInfo(n->op).isLeaf() && !n->is(OpKind::Const))
        slotOf_[n->id] = addSlot(step, {n->attrs.name, Slot::Kind::Leaf, n->shape});
    std::vector<std::pair<size_t, const Node *>> copies;
    for (auto &[name, n] : g_.outputs()) {
      size_t s = addSlot(step, {name, Slot::Kind::Output, n->shape});
      bool computed = !opInfo(n->op).isLeaf() && !slotOf_.count(n->id);
      if (computed)
        slotOf_[n->id] = s;
      else
        copies.push_back({s, n});
    }
    for (const Unit &u : plan_.units)
      emitUnit(eb, step, u);
    for (auto &[slot, n] : copies)
      emitNode(eb, step, *n, {slot}, "copy", {n}, [&](LlvmKernelBuilder &k) { lowerCopy(k, *n); },
               "copy(%" + std::to_string(n->id) + ")");
    eb.CreateRetVoid();
    shareTable();
    planArena(step);
    return step;
  }

  /// Memory planning: each temporary lives from the node that writes it to the last node
  /// that reads it; temporaries whose lifetimes do not overlap share arena memory
  /// (first fit, in program order).
  void planArena(StepFunction &step) const {
    struct Block {
      int64_t offset, bytes, lastUse;
    };
    std::vector<Block> live;
    for (size_t slot = 0; slot < step.slots.size(); ++slot) {
      Slot &s = step.slots[slot];
      if (s.kind != Slot::Kind::Temp)
        continue;
      auto [def, last] = lifetime_.at(slot);
      // Temporaries are planned in the order they are written, which is the slot order.
      live.erase(std::remove_if(live.begin(), live.end(), [&](const Block &b) { return b.lastUse < def; }),
                 live.end());
      std::sort(live.begin(), live.end(), [](const Block &a, const Block &b) { return a.offset < b.offset; });
      int64_t bytes = (numElements(s.shape) * 4 + 63) / 64 * 64, at = 0;
      for (const Block &b : live) {
        if (b.offset - at >= bytes)
          break;
        at = std::max(at, b.offset + b.bytes);
      }
      s.arenaOffset = at;
      live.push_back({at, bytes, last});
      step.arenaBytes = std::max(step.arenaBytes, at + bytes);
    }
  }

private:
  size_t addSlot(StepFunction &step, Slot s) {
    step.slots.push_back(std::move(s));
    return step.slots.size() - 1;
  }

  /// `n`'s .gan file name, line and column, e.g. "mnist.gan:20:9"; empty if unknown.
  std::string shortLoc(const Node &n) const {
    if (!sm_ || !n.loc.valid())
      return "";
    std::string where = sm_->describe(n.loc);
    return where.substr(where.find_last_of('/') + 1);
  }

  /// `n`'s .gan file (for DWARF), line and column; no file without debug info.
  std::tuple<llvm::DIFile *, unsigned, unsigned> debugLine(const Node &n) {
    if (!dib_ || !sm_ || !n.loc.valid())
      return {nullptr, 0, 0};
    llvm::DIFile *&file = (*files_)[n.loc.file];
    if (!file) {
      const std::string &path = sm_->path(n.loc.file);
      size_t slash = path.find_last_of('/');
      file = dib_->createFile(slash == std::string::npos ? path : path.substr(slash + 1),
                              slash == std::string::npos ? "." : path.substr(0, slash));
    }
    LineCol lc = sm_->lineCol(n.loc);
    return {file, lc.line, lc.col};
  }

  /// The node holding `n`'s elements: `n`, or what a view of it names.
  const Node *bufferOf(const Node *n) const {
    auto it = plan_.viewOf.find(n->id);
    return it == plan_.viewOf.end() ? n : it->second;
  }

  /// The sizes of the sums in an anchored unit's stores (addToTotal).
  static std::vector<int64_t> sumSizes(const Unit &u) {
    std::vector<int64_t> sizes;
    if (u.anchor)
      for (const Node *s : u.sums)
        sizes.push_back(s->numel());
    return sizes;
  }

  /// The kernels of one fusion unit: its anchor's lowering (with the members in its
  /// stores), or one loop nest over the members' shape.
  void emitUnit(llvm::IRBuilder<> &eb, StepFunction &step, const Unit &u) {
    std::vector<size_t> outs;
    for (const Node *n : u.stored) {
      if (!slotOf_.count(n->id)) {
        slotOf_[n->id] = addSlot(step, {"", Slot::Kind::Temp, n->shape});
        step.tempBytes += n->numel() * 4;
      }
      outs.push_back(slotOf_[n->id]);
    }
    std::vector<const Node *> ins;
    if (u.anchor)
      ins.assign(u.anchor->operands.begin(), u.anchor->operands.end());
    const size_t firstInput = ins.size();
    for (const FusedInput &in : u.inputs)
      ins.push_back(in.buffer);
    const Node &site = u.anchor ? *u.anchor : *u.stored.back();
    const std::string body = describe(u);
    if (u.anchor) {
      const OpInfo &info = opInfo(u.anchor->op);
      emitNode(
          eb, step, site, outs, info.mnemonic, ins,
          [&](LlvmKernelBuilder &k) {
            if (!u.members.empty())
              k.setEpilogue([&](Idx flat, Val v, int64_t laneStride) {
                epilogue(k, u, firstInput, flat, v, laneStride);
              });
            info.lower(k, *u.anchor);
            if (!u.sums.empty()) {
              std::vector<size_t> at; // the sums' output slots
              for (const Node *s : u.sums)
                at.push_back(std::find(u.stored.begin(), u.stored.end(), s) - u.stored.begin());
              k.finishTotals(at);
            }
          },
          body, info.scratch ? info.scratch(*u.anchor) : 0, u.members, sumSizes(u));
      return;
    }
    emitNode(eb, step, site, outs, opInfo(site.op).mnemonic, ins,
             [&](LlvmKernelBuilder &k) { loopNest(k, u); }, body, 0, u.members);
  }

  /// Computes the members at one point from the anchor's value there (null: the unit has
  /// no anchor) and the inputs' values, stores what leaves the unit (but the sums, stored
  /// once per row), and returns the members' values.
  std::vector<Val> computePoint(LlvmKernelBuilder &k, const Unit &u, const Val *anchor,
                                const std::vector<Val> &inputs, Idx flat, int64_t laneStride) {
    std::vector<Val> vals;
    for (size_t j = 0; j < u.members.size(); ++j) {
      std::vector<Val> args;
      for (const FusedOperand &o : u.operands[j])
        switch (o.kind) {
        case FusedOperand::Kind::Anchor: args.push_back(*anchor); break;
        case FusedOperand::Kind::Member: args.push_back(vals.at(o.index)); break;
        case FusedOperand::Kind::Input: args.push_back(inputs.at(o.index)); break;
        case FusedOperand::Kind::Const: args.push_back(k.constant(o.value)); break;
        }
      auto [file, line, col] = debugLine(*u.members[j]);
      k.setLine(file, line, col); // each fused node at its own .gan line
      vals.push_back(opInfo(u.members[j]->op).scalar(k, args));
    }
    k.setLine(nullptr, 0, 0);
    for (size_t out = 0; out < u.stored.size(); ++out) {
      const Node *n = u.stored[out];
      const size_t j = std::find(u.members.begin(), u.members.end(), n) - u.members.begin();
      if (n == u.anchor)
        k.storeAt(out, flat, *anchor, laneStride);
      else if (j < u.members.size())
        k.storeAt(out, flat, vals[j], laneStride);
    }
    if (u.anchor) // its sums add up every member value they sum
      for (size_t s = 0; s < u.sums.size(); ++s) {
        const Node *o = u.sums[s]->operands[0];
        k.addToTotal(static_cast<int>(s),
                     vals[std::find(u.members.begin(), u.members.end(), o) - u.members.begin()],
                     flat, laneStride);
      }
    return vals;
  }

  /// One loop of an elementwise unit: its extent, and the steps it makes through the
  /// unit's elements and through each input.
  struct Axis {
    int64_t extent, out;
    std::vector<int64_t> in;
  };
  /// Moves `out` and the inputs' indices `in` on by i steps of `ax`.
  static void advance(LlvmKernelBuilder &k, const Axis &ax, Idx i, Idx &out, std::vector<Idx> &in) {
    out = k.add(out, k.mul(i, ax.out));
    for (size_t j = 0; j < in.size(); ++j)
      in[j] = k.add(in[j], k.mul(i, ax.in[j]));
  }
  /// An elementwise unit: loops over the axes of its shape, adjacent axes merged where
  /// every input steps through them as through one, so a unit without broadcasts is one
  /// flat loop. Each input's index is affine in the loop counters.
  ///
  /// A unit with sums splits its axes where the rows begin, never merging across: the
  /// loops over rows outside (threads split the outermost), the loops along a row inside.
  /// The innermost of those runs in explicit vectors with a masked tail, each sum kept as
  /// a vector of partial sums (lane l sums the row's elements l, l + lanes, ... of each
  /// innermost run) and its lanes added when the row ends. Written out rather than left
  /// to the loop vectorizer, the order of the additions follows from the shape and the
  /// lane count alone.
  void loopNest(LlvmKernelBuilder &k, const Unit &u) {
    const std::vector<int64_t> rm = rowMajorStrides(u.shape);
    const size_t rowAxis =
        u.sums.empty() ? u.shape.size() : static_cast<size_t>(u.sums[0]->attrs.ints[0]);
    constexpr size_t kNone = static_cast<size_t>(-1);
    size_t rowLevel = kNone; // the first level along a row
    std::vector<Axis> axes;
    for (size_t a = 0; a < u.shape.size(); ++a) {
      if (u.shape[a] == 1)
        continue;
      Axis x{u.shape[a], rm[a], {}};
      for (const FusedInput &in : u.inputs)
        x.in.push_back(in.strides[a]);
      const bool rowStarts = a >= rowAxis && rowLevel == kNone;
      bool merge = !axes.empty() && !rowStarts;
      for (size_t i = 0; merge && i < x.in.size(); ++i)
        merge = axes.back().in[i] == x.in[i] * x.extent;
      if (rowStarts)
        rowLevel = axes.size();
      if (merge) {
        axes.back().extent *= x.extent;
        axes.back().out = x.out;
        axes.back().in = x.in;
      } else {
        axes.push_back(std::move(x));
      }
    }
    const Axis single{1, 0, std::vector<int64_t>(u.inputs.size(), 0)};
    if (!u.sums.empty() && rowLevel == kNone) { // rows of one element
      // A run of one element, stored as a vector of one lane (element stride 1): a
      // stride of 0 would mean a scalar, and the row's values are vectors.
      rowLevel = axes.size();
      axes.push_back(Axis{1, 1, std::vector<int64_t>(u.inputs.size(), 0)});
    }
    if (rowLevel == 0) { // one row: an outer loop all the same, for the kernel's threads
      axes.insert(axes.begin(), single);
      rowLevel = 1;
    }
    if (axes.empty())
      axes.push_back(single);
    std::function<void(size_t, Idx, std::vector<Idx>)> nest = [&](size_t level, Idx out,
                                                                  std::vector<Idx> in) {
      k.loop(axes[level].extent, [&](Idx i) {
        advance(k, axes[level], i, out, in);
        if (level + 1 == rowLevel)
          return sumRow(k, u, std::vector<Axis>(axes.begin() + rowLevel, axes.end()), out, in);
        if (level + 1 < axes.size())
          return nest(level + 1, out, in);
        std::vector<Val> vals;
        for (size_t j = 0; j < in.size(); ++j)
          vals.push_back(k.load(static_cast<unsigned>(j), in[j]));
        computePoint(k, u, nullptr, vals, out, 0);
      });
    };
    nest(0, k.index(0), std::vector<Idx>(u.inputs.size(), k.index(0)));
  }

  /// The loops `row` along one row of a unit with sums (the row starts at element `out`,
  /// input j's part of it at in[j]), then the sums' stores.
  void sumRow(LlvmKernelBuilder &k, const Unit &u, const std::vector<Axis> &row, Idx out,
              const std::vector<Idx> &in) {
    const int64_t L = k.lanes();
    std::vector<size_t> summed; // per sum, its operand's index among the members
    for (const Node *s : u.sums)
      summed.push_back(std::find(u.members.begin(), u.members.end(), s->operands[0]) -
                       u.members.begin());
    // Elements [i0, i0 + count) of the innermost run, lanes side by side.
    auto block = [&](Idx o, const std::vector<Idx> &at, const Axis &ax, Idx i0, int64_t count,
                     std::vector<Val> acc) {
      o = k.add(o, k.mul(i0, ax.out));
      std::vector<Val> vals;
      for (size_t j = 0; j < at.size(); ++j) {
        const int64_t st = ax.in[j];
        Idx p = k.add(at[j], k.mul(i0, st));
        vals.push_back(st == 0 ? k.splat(k.load(static_cast<unsigned>(j), p))
                               : k.loadStrided(static_cast<unsigned>(j), p, st, count));
      }
      k.setActiveLanes(count);
      std::vector<Val> m = computePoint(k, u, nullptr, vals, o, ax.out);
      for (size_t s = 0; s < acc.size(); ++s)
        acc[s] = k.add(acc[s], k.zeroInactiveLanes(m.at(summed[s])));
      k.setActiveLanes(L);
      return acc;
    };
    std::function<std::vector<Val>(size_t, Idx, const std::vector<Idx> &, std::vector<Val>)> along =
        [&](size_t l, Idx o, const std::vector<Idx> &at, std::vector<Val> acc) -> std::vector<Val> {
      const Axis &ax = row[l];
      if (l + 1 < row.size())
        return k.loopCarry(ax.extent, acc, [&](Idx i, const std::vector<Val> &a) {
          Idx oi = o;
          std::vector<Idx> ati(at);
          advance(k, ax, i, oi, ati);
          return along(l + 1, oi, ati, a);
        });
      const int64_t blocks = ax.extent / L, tail = ax.extent % L;
      if (blocks)
        acc = k.loopCarry(blocks, acc, [&](Idx b, const std::vector<Val> &a) {
          return block(o, at, ax, k.mul(b, L), L, a);
        });
      if (tail)
        acc = block(o, at, ax, k.index(blocks * L), tail, acc);
      return acc;
    };
    std::vector<Val> acc =
        along(0, out, in, std::vector<Val>(u.sums.size(), k.splat(k.constant(0))));
    const int64_t rowSize =
        numElements(Shape(u.shape.begin() + u.sums[0]->attrs.ints[0], u.shape.end()));
    for (size_t s = 0; s < u.sums.size(); ++s) {
      const size_t slot = std::find(u.stored.begin(), u.stored.end(), u.sums[s]) - u.stored.begin();
      if (slot < u.stored.size())
        k.storeAt(slot, k.div(out, rowSize), k.sumLanes(acc[s]), 0);
    }
  }

  /// The members computed inside one store of the anchor: `v` goes to element `flat`
  /// (lanes laneStride apart when it is a vector, which by the kStoresOnce contract run
  /// along one axis of the result). Inputs of the result's shape load at `flat`; others
  /// from the coordinates of `flat`.
  void epilogue(LlvmKernelBuilder &k, const Unit &u, size_t firstInput, Idx flat, Val v, int64_t laneStride) {
    const Shape &s = u.shape;
    const std::vector<int64_t> rm = rowMajorStrides(s);
    std::optional<size_t> laneAxis;
    for (size_t a = 0; laneStride && a < s.size(); ++a)
      if (s[a] > 1 && rm[a] == laneStride)
        laneAxis = a;
    // A result of one element (a 1x1 weight's gradient) is stored as a vector of one
    // lane, along no axis: its inputs' one value each is splat.
    if (laneStride && !laneAxis && numElements(s) > 1)
      internalError("codegen", "'" + std::string(opInfo(u.anchor->op).mnemonic) +
                                   "' stores a vector across axes of its result");
    std::vector<std::optional<Idx>> coords(s.size());
    auto coord = [&](size_t a) {
      if (!coords[a])
        coords[a] = a == 0 ? k.div(flat, rm[0]) : k.rem(k.div(flat, rm[a]), s[a]);
      return *coords[a];
    };
    std::vector<Val> vals;
    for (size_t i = 0; i < u.inputs.size(); ++i) {
      const std::vector<int64_t> &st = u.inputs[i].strides;
      const unsigned op = static_cast<unsigned>(firstInput + i);
      Idx at = flat;
      if (st != rm) {
        at = k.index(0);
        for (size_t a = 0; a < s.size(); ++a)
          if (s[a] > 1 && st[a] != 0)
            at = k.add(at, k.mul(coord(a), st[a]));
      }
      const int64_t step = laneAxis ? st[*laneAxis] : 0;
      vals.push_back(!laneStride ? k.load(op, at)
                     : step == 0 ? k.splat(k.load(op, at))
                     : step == 1 ? k.loadVector(op, at)
                                 : k.gather(op, at, step));
    }
    computePoint(k, u, &v, vals, flat, laneStride);
  }

  /// What a unit computes, e.g. `relu(add(matmul(%4, %2), broadcast(%3)))`, or for a
  /// kernel storing several values `%12 = ...; %13 = ...`, for `emit --stage=kernels`.
  std::string describe(const Unit &u) const {
    // Named: what the kernel stores, and values it uses more than once.
    std::vector<const Node *> named;
    std::map<const Node *, int> uses;
    for (size_t j = 0; j < u.members.size(); ++j)
      for (size_t k = 0; k < u.operands[j].size(); ++k)
        if (u.operands[j][k].kind == FusedOperand::Kind::Anchor || u.operands[j][k].kind == FusedOperand::Kind::Member)
          ++uses[u.members[j]->operands[k]];
    for (const Node *s : u.sums)
      ++uses[s->operands[0]];
    std::vector<const Node *> all;
    if (u.anchor)
      all.push_back(u.anchor);
    all.insert(all.end(), u.members.begin(), u.members.end());
    all.insert(all.end(), u.sums.begin(), u.sums.end());
    for (const Node *n : all)
      if (uses[n] > 1 || std::find(u.stored.begin(), u.stored.end(), n) != u.stored.end())
        named.push_back(n);
    std::function<std::string(const Node *, bool)> expr = [&](const Node *n, bool top) -> std::string {
      bool isNamed = std::find(named.begin(), named.end(), n) != named.end();
      if (!top && isNamed && named.size() > 1)
        return "%" + std::to_string(n->id);
      std::ostringstream os;
      os << opInfo(n->op).mnemonic << "(";
      if (std::find(u.sums.begin(), u.sums.end(), n) != u.sums.end())
        return os.str() + expr(n->operands[0], false) + ")";
      size_t j = std::find(u.members.begin(), u.members.end(), n) - u.members.begin();
      for (size_t k = 0; k < n->operands.size(); ++k) {
        const Node *o = n->operands[k];
        os << (k ? ", " : "");
        const FusedOperand *f = n == u.anchor ? nullptr : &u.operands[j][k];
        if (o->is(OpKind::Const))
          os << o->attrs.num;
        else if (f && f->kind != FusedOperand::Kind::Input)
          os << expr(o, false);
        else if (f)
          os << readThrough(o, u.inputs[f->index].buffer);
        else
          os << "%" << o->id;
      }
      os << ")";
      return os.str();
    };
    if (named.size() == 1)
      return expr(named[0], true);
    std::string out;
    for (const Node *n : named)
      out += (out.empty() ? "" : "; ") + ("%" + std::to_string(n->id)) + " = " + expr(n, true);
    return out;
  }

  /// `o` as read from `buffer`: the views and picking ops in between, e.g.
  /// `broadcast(reshape(%13))`.
  static std::string readThrough(const Node *o, const Node *buffer) {
    if (o == buffer || o->operands.empty())
      return "%" + std::to_string(o->id);
    return std::string(opInfo(o->op).mnemonic) + "(" + readThrough(o->operands[0], buffer) + ")";
  }

  /// Emits the kernels of `n`'s lowering, storing to slots `outs`, and their calls from
  /// the entry function. `ins` are the lowering's operands (views resolved here).
  void emitNode(llvm::IRBuilder<> &eb, StepFunction &step, const Node &n, std::vector<size_t> outs,
                const std::string &label, const std::vector<const Node *> &ins,
                const std::function<void(LlvmKernelBuilder &)> &lower, const std::string &body,
                int64_t scratchFloats = 0, const std::vector<const Node *> &fused = {},
                const std::vector<int64_t> &totals = {}) {
    KernelSite site;
    site.baseName = name_ + "." + std::to_string(counter_++) + "." + label;
    site.body = body;
    site.loc = shortLoc(n);
    std::tie(site.file, site.line, site.col) = debugLine(n);
    for (const Node *m : fused) {
      std::string at = shortLoc(*m);
      if (!at.empty() && at != site.loc && site.fused.find(at) == std::string::npos)
        site.fused += (site.fused.empty() ? "" : ", ") + at;
    }
    for (const Node *o : ins) {
      o = bufferOf(o);
      bool c = o->is(OpKind::Const);
      site.operandSlots.push_back(c ? std::nullopt : std::optional<size_t>(slotOf_.at(o->id)));
      site.operandConsts.push_back(c ? o->attrs.num : 0.0);
    }
    site.outSlots = outs;
    // Lifetimes for memory planning, in units of emitted nodes.
    for (const auto &slot : site.operandSlots)
      if (slot)
        lifetime_[*slot].second = order_;
    for (size_t out : outs)
      lifetime_.emplace(out, std::pair<int64_t, int64_t>{order_, order_});
    if (scratchFloats > 0) {
      // Live only while this node's kernels run; planned like any temporary.
      site.scratchSlot = addSlot(step, {"", Slot::Kind::Temp, {scratchFloats}});
      step.tempBytes += scratchFloats * 4;
      lifetime_.emplace(*site.scratchSlot, std::pair<int64_t, int64_t>{order_, order_});
    }
    if (!totals.empty()) {
      // Sized once the lowering has made its loops (LlvmKernelBuilder::totalsFloats).
      site.totals = totals;
      site.totalsSlot = addSlot(step, {"", Slot::Kind::Temp, {0}});
      lifetime_.emplace(*site.totalsSlot, std::pair<int64_t, int64_t>{order_, order_});
    }
    ++order_;
    LlvmKernelBuilder k(m_, kernelTy_, site, lanes_,
                        [&](KernelInfo ki, llvm::Function *fn, int64_t extent, double work) {
                          extent = std::max<int64_t>(extent, 1);
                          int64_t grain = static_cast<int64_t>(
                              std::ceil(kMinWorkPerChunk / std::max(work, 1.0)));
                          llvm::Value *table = bufferTable(eb, site.tableSlots());
                          eb.CreateCall(parallelFor_, {fn, table, eb.getInt64(extent),
                                                       eb.getInt64(std::max<int64_t>(grain, 1))});
                          step.kernels.push_back(std::move(ki));
                        },
                        dib_);
    lower(k);
    if (site.totalsSlot) {
      step.slots[*site.totalsSlot].shape = {k.totalsFloats()};
      step.tempBytes += k.totalsFloats() * 4;
    }
  }

  /// A kernel call's table of buffers (KernelSite::tableSlots), filled from the step's
  /// slot table just before the call. A kernel reads its buffers from its own table, not
  /// at slot numbers, so that two sites doing the same work (D on the real and on the
  /// fake batch) emit the same function and MergeFunctions compiles it once (Jit.cpp).
  /// The calls run one after another, so they share one table (shareTable()).
  llvm::Value *bufferTable(llvm::IRBuilder<> &eb, const std::vector<size_t> &slots) {
    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_);
    llvm::BasicBlock &first = entry_->getEntryBlock();
    llvm::IRBuilder<> ab(&first, first.begin());
    auto *table = ab.CreateAlloca(ptr, eb.getInt64(std::max<size_t>(slots.size(), 1)), "table");
    tables_.push_back(table);
    for (size_t i = 0; i < slots.size(); ++i) {
      Value *p = eb.CreateLoad(ptr, eb.CreateConstInBoundsGEP1_64(ptr, entry_->getArg(0), slots[i]),
                               "slot" + std::to_string(slots[i]));
      eb.CreateStore(p, eb.CreateConstInBoundsGEP1_64(ptr, table, i));
    }
    return table;
  }

  /// One table, as large as the largest, for every call of the entry function.
  void shareTable() {
    if (tables_.empty())
      return;
    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_);
    uint64_t most = 1;
    for (llvm::AllocaInst *t : tables_)
      most = std::max(most, llvm::cast<llvm::ConstantInt>(t->getArraySize())->getZExtValue());
    llvm::IRBuilder<> ab(tables_.front());
    llvm::Value *shared = ab.CreateAlloca(llvm::ArrayType::get(ptr, most), nullptr, "buffers");
    for (llvm::AllocaInst *t : tables_) {
      t->replaceAllUsesWith(shared);
      t->eraseFromParent();
    }
    tables_.clear();
  }

  llvm::Module &m_;
  const Graph &g_;
  std::string name_;
  const SourceManager *sm_;
  llvm::LLVMContext &ctx_;
  int lanes_;
  llvm::DIBuilder *dib_;                        ///< null: no debug info
  std::map<uint32_t, llvm::DIFile *> *files_;   ///< per .gan file, shared by the graphs
  llvm::FunctionType *kernelTy_ = nullptr;
  llvm::Function *entry_ = nullptr;
  llvm::FunctionCallee parallelFor_;
  FusionPlan plan_;
  std::unordered_map<uint32_t, size_t> slotOf_;
  std::map<size_t, std::pair<int64_t, int64_t>> lifetime_; ///< slot -> (written, last read)
  std::vector<llvm::AllocaInst *> tables_;                 ///< bufferTable's, until shareTable
  int64_t order_ = 0;
  int counter_ = 0;
};

} // namespace

std::vector<StepFunction> emitGraphs(llvm::Module &m, const std::vector<const Graph *> &graphs,
                                     const SourceManager *sm, int lanes) {
  std::vector<StepFunction> out;
  // Debug info when the source is known: one compile unit, a file per .gan file.
  std::unique_ptr<llvm::DIBuilder> dib;
  std::map<uint32_t, llvm::DIFile *> files;
  if (sm) {
    dib = std::make_unique<llvm::DIBuilder>(m);
    dib->createCompileUnit(llvm::dwarf::DW_LANG_C, dib->createFile("ganc", "."), "ganc", /*isOptimized=*/true, "", 0);
    m.addModuleFlag(llvm::Module::Warning, "Debug Info Version", llvm::DEBUG_METADATA_VERSION);
    m.addModuleFlag(llvm::Module::Warning, "Dwarf Version", 5);
  }
  std::map<std::string, int> seen; // two graphs of one name (two sizes of a program)
  for (const Graph *g : graphs) {
    int k = seen[g->name()]++;
    std::string name = k ? g->name() + "_" + std::to_string(k) : g->name();
    out.push_back(GraphEmitter(m, *g, name, sm, lanes, dib.get(), &files).emit());
  }
  if (dib)
    dib->finalize();
  return out;
}

} // namespace ganc::codegen
