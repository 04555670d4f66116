//===- Emitter.cpp - graph IR to an LLVM module ---------------------------===//
//
// Every live computing node becomes one kernel function
//   void <graph>.<n>.<op>(float **slots, i64 begin, i64 end)
// whose body is the op's own lowering (OpInfo::scalar or OpInfo::lower) written through
// LlvmKernelBuilder; its outermost loop runs [begin, end). The graph's entry function
// calls each kernel through ganc_rt_parallel_for with a grain chosen from the work per
// iteration that the builder counted while emitting. Constants are immediates, never
// buffers. Each kernel records its .gan source location in the "ganc.loc" attribute.
//
//===----------------------------------------------------------------------===//
#include "codegen/Emitter.h"

using ganc::rt::KernelInfo;

#include "ir/OpInfo.h"
#include "support/Error.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include <cmath>
#include <unordered_map>

namespace ganc::codegen {

using namespace ir;
using llvm::Value;

namespace {

/// Work per kernel chunk below which splitting across threads does not pay.
constexpr double kMinWorkPerChunk = 32768;

class LlvmKernelBuilder final : public KernelBuilder {
public:
  LlvmKernelBuilder(llvm::IRBuilder<> &b, llvm::Function *fn, std::vector<Value *> operands,
                    Value *result, Value *begin, Value *end)
      : b_(b), fn_(fn), operands_(std::move(operands)), result_(result), begin_(begin),
        end_(end) {}

  int64_t topExtent() const { return topExtent_; }
  double work() const { return work_; }
  double flops() const { return flops_; }

  Idx index(int64_t c) override { return idx(b_.getInt64(c)); }
  Idx add(Idx a, Idx c) override { return idx(b_.CreateAdd(iv(a), iv(c), "", true, true)); }
  Idx mul(Idx a, Idx c) override { return idx(b_.CreateMul(iv(a), iv(c), "", true, true)); }

  void loop(int64_t extent, const std::function<void(Idx)> &body) override {
    loopImpl(extent, nullptr, [&](Value *i, Value *) {
      body(idx(i));
      return nullptr;
    });
  }
  Val loopReduce(int64_t extent, Val init, const std::function<Val(Idx, Val)> &body) override {
    return val(loopImpl(extent, fv(init), [&](Value *i, Value *acc) {
      return fv(body(idx(i), val(acc)));
    }));
  }

  Val load(unsigned k, Idx flat) override {
    work_ += multiplier_;
    Value *p = operands_.at(k);
    if (auto *c = llvm::dyn_cast<llvm::Constant>(p))
      return val(c); // a constant operand is an immediate
    return val(b_.CreateLoad(b_.getFloatTy(), b_.CreateInBoundsGEP(b_.getFloatTy(), p, iv(flat))));
  }
  Val loadResult(Idx flat) override {
    return val(b_.CreateLoad(b_.getFloatTy(), b_.CreateInBoundsGEP(b_.getFloatTy(), result_, iv(flat))));
  }
  void store(Idx flat, Val v) override {
    work_ += multiplier_;
    b_.CreateStore(fv(v), b_.CreateInBoundsGEP(b_.getFloatTy(), result_, iv(flat)));
  }

  Val constant(double c) override { return val(llvm::ConstantFP::get(b_.getFloatTy(), c)); }
  Val add(Val a, Val c) override { return flop(b_.CreateFAdd(fv(a), fv(c))); }
  Val sub(Val a, Val c) override { return flop(b_.CreateFSub(fv(a), fv(c))); }
  Val mul(Val a, Val c) override { return flop(b_.CreateFMul(fv(a), fv(c))); }
  Val div(Val a, Val c) override { return flop(b_.CreateFDiv(fv(a), fv(c))); }
  Val neg(Val a) override { return val(b_.CreateFNeg(fv(a))); }
  Val exp(Val a) override { return flop(fv(intrinsic(llvm::Intrinsic::exp, a))); }
  Val log(Val a) override { return flop(fv(intrinsic(llvm::Intrinsic::log, a))); }
  Val sqrt(Val a) override { return flop(fv(intrinsic(llvm::Intrinsic::sqrt, a))); }
  Val abs(Val a) override { return intrinsic(llvm::Intrinsic::fabs, a); }
  Val max(Val a, Val c) override {
    return val(b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, fv(a), fv(c)));
  }
  Val selectPositive(Val c, Val a, Val d) override {
    Value *cond = b_.CreateFCmpOGT(fv(c), llvm::ConstantFP::get(b_.getFloatTy(), 0.0));
    return val(b_.CreateSelect(cond, fv(a), fv(d)));
  }

private:
  /// Counts one floating-point operation per execution of the current loop body.
  Val flop(Value *v) {
    flops_ += multiplier_;
    return val(v);
  }
  static Idx idx(Value *v) { return {v, 0}; }
  static Val val(Value *v) { return {v, 0}; }
  static Value *iv(Idx i) { return static_cast<Value *>(i.ptr); }
  static Value *fv(Val v) { return static_cast<Value *>(v.ptr); }
  Val intrinsic(llvm::Intrinsic::ID id, Val a) {
    return val(b_.CreateUnaryIntrinsic(id, fv(a)));
  }

  /// Emits `for (i = lo; i < hi; ++i) acc = body(i, acc)`; the outermost loop of the
  /// kernel runs [begin, end) of its extent.
  Value *loopImpl(int64_t extent, Value *init,
                  const std::function<Value *(Value *, Value *)> &body) {
    bool top = depth_ == 0;
    if (top) {
      if (topExtent_ >= 0)
        internalError("codegen", "a kernel has more than one outermost loop");
      topExtent_ = extent;
    }
    Value *lo = top ? begin_ : b_.getInt64(0);
    Value *hi = top ? end_ : b_.getInt64(extent);
    llvm::LLVMContext &ctx = b_.getContext();
    llvm::BasicBlock *pre = b_.GetInsertBlock();
    llvm::BasicBlock *head = llvm::BasicBlock::Create(ctx, "loop", fn_);
    llvm::BasicBlock *bodyBB = llvm::BasicBlock::Create(ctx, "body", fn_);
    llvm::BasicBlock *exit = llvm::BasicBlock::Create(ctx, "exit", fn_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::PHINode *i = b_.CreatePHI(b_.getInt64Ty(), 2, "i");
    i->addIncoming(lo, pre);
    llvm::PHINode *acc = nullptr;
    if (init) {
      acc = b_.CreatePHI(b_.getFloatTy(), 2, "acc");
      acc->addIncoming(init, pre);
    }
    b_.CreateCondBr(b_.CreateICmpSLT(i, hi), bodyBB, exit);
    b_.SetInsertPoint(bodyBB);
    ++depth_;
    double savedMul = multiplier_;
    multiplier_ *= top ? 1 : static_cast<double>(extent);
    Value *next = body(i, acc);
    multiplier_ = savedMul;
    --depth_;
    i->addIncoming(b_.CreateAdd(i, b_.getInt64(1), "", true, true), b_.GetInsertBlock());
    if (acc)
      acc->addIncoming(next, b_.GetInsertBlock());
    b_.CreateBr(head);
    b_.SetInsertPoint(exit);
    return acc;
  }

  llvm::IRBuilder<> &b_;
  llvm::Function *fn_;
  std::vector<Value *> operands_;
  Value *result_;
  Value *begin_, *end_;
  int depth_ = 0;
  int64_t topExtent_ = -1;
  double multiplier_ = 1; ///< iterations of the current loop body per top-level iteration
  double work_ = 0;       ///< memory accesses per top-level iteration
  double flops_ = 0;      ///< floating-point operations per top-level iteration
};

/// `out = in`: how an output that is a leaf, a constant or another output gets its slot.
void lowerCopy(KernelBuilder &k, const Node &n) {
  k.loop(n.numel(), [&](KernelBuilder::Idx i) {
    k.store(i, k.load(0, n.operands.empty() ? k.index(0) : i));
  });
}

class GraphEmitter {
public:
  GraphEmitter(llvm::Module &m, const Graph &g, const SourceManager *sm)
      : m_(m), g_(g), sm_(sm), ctx_(m.getContext()) {}

  StepFunction emit() {
    StepFunction step;
    step.name = g_.name();
    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_);
    llvm::Type *i64 = llvm::Type::getInt64Ty(ctx_);
    kernelTy_ = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr, i64, i64}, false);
    auto *entryTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr}, false);
    entry_ = llvm::Function::Create(entryTy, llvm::Function::ExternalLinkage, g_.name(), m_);
    auto *parTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr, ptr, i64, i64}, false);
    parallelFor_ = m_.getOrInsertFunction("ganc_rt_parallel_for", parTy);
    llvm::IRBuilder<> eb(llvm::BasicBlock::Create(ctx_, "entry", entry_));

    // Slots: leaves, then outputs, then temporaries.
    std::vector<Node *> live = g_.live();
    for (Node *n : live)
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
    for (Node *n : live) {
      if (opInfo(n->op).isLeaf())
        continue;
      if (!slotOf_.count(n->id)) {
        slotOf_[n->id] = addSlot(step, {"", Slot::Kind::Temp, n->shape});
        step.tempBytes += n->numel() * 4;
      }
      const OpInfo &info = opInfo(n->op);
      step.kernels.push_back(emitKernel(eb, *n, slotOf_[n->id], [&](KernelBuilder &k) {
        info.isElementwise() ? lowerElementwise(k, *n) : info.lower(k, *n);
      }));
    }
    for (auto &[slot, n] : copies)
      step.kernels.push_back(
          emitKernel(eb, *n, slot, [&](KernelBuilder &k) { lowerCopy(k, *n); }, true));
    eb.CreateRetVoid();
    return step;
  }

private:
  size_t addSlot(StepFunction &step, Slot s) {
    step.slots.push_back(std::move(s));
    return step.slots.size() - 1;
  }

  /// Emits one kernel computing into slot `out` and its call from the entry function.
  /// With `self`, the node itself is the kernel's operand 0 (copying it into `out`).
  /// Kernels have external linkage so profiles can find their addresses.
  KernelInfo emitKernel(llvm::IRBuilder<> &eb, const Node &n, size_t out,
                        const std::function<void(KernelBuilder &)> &lower, bool self = false) {
    const OpInfo &info = opInfo(n.op);
    KernelInfo ki;
    ki.name = g_.name() + "." + std::to_string(counter_++) + "." + (self ? "copy" : info.mnemonic);
    auto *fn = llvm::Function::Create(kernelTy_, llvm::Function::ExternalLinkage, ki.name, m_);
    if (sm_ && n.loc.valid()) {
      std::string where = sm_->describe(n.loc);
      ki.loc = where.substr(where.find_last_of('/') + 1);
      fn->addFnAttr("ganc.loc", ki.loc);
    }
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    llvm::IRBuilder<> kb(llvm::BasicBlock::Create(ctx_, "entry", fn));
    llvm::FastMathFlags fmf;
    fmf.setAllowContract(true);
    fmf.setAllowReassoc(true);
    fmf.setNoSignedZeros(true);
    kb.setFastMathFlags(fmf);

    llvm::Argument *slots = fn->getArg(0);
    slots->addAttr(llvm::Attribute::NoAlias);
    auto slotPtr = [&](size_t s) -> Value * {
      llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_);
      return kb.CreateLoad(ptr, kb.CreateConstInBoundsGEP1_64(ptr, slots, s), "slot" + std::to_string(s));
    };
    std::vector<Value *> operands;
    std::vector<const Node *> ins = self ? std::vector<const Node *>{&n}
                                         : std::vector<const Node *>(n.operands.begin(), n.operands.end());
    for (const Node *o : ins)
      operands.push_back(o->is(OpKind::Const) ? llvm::ConstantFP::get(kb.getFloatTy(), o->attrs.num)
                                              : slotPtr(slotOf_.at(o->id)));
    LlvmKernelBuilder k(kb, fn, operands, slotPtr(out), fn->getArg(1), fn->getArg(2));
    lower(k);
    kb.CreateRetVoid();

    int64_t extent = std::max<int64_t>(k.topExtent(), 1);
    double perIter = std::max(k.work(), 1.0);
    int64_t grain = static_cast<int64_t>(std::ceil(kMinWorkPerChunk / perIter));
    eb.CreateCall(parallelFor_, {fn, entry_->getArg(0), eb.getInt64(extent),
                                 eb.getInt64(std::max<int64_t>(grain, 1))});
    ki.flops = k.flops() * static_cast<double>(extent);
    return ki;
  }

  llvm::Module &m_;
  const Graph &g_;
  const SourceManager *sm_;
  llvm::LLVMContext &ctx_;
  llvm::FunctionType *kernelTy_ = nullptr;
  llvm::Function *entry_ = nullptr;
  llvm::FunctionCallee parallelFor_;
  std::unordered_map<uint32_t, size_t> slotOf_;
  int counter_ = 0;
};

} // namespace

std::vector<StepFunction> emitGraphs(llvm::Module &m, const std::vector<const Graph *> &graphs,
                                     const SourceManager *sm) {
  std::vector<StepFunction> out;
  for (const Graph *g : graphs)
    out.push_back(GraphEmitter(m, *g, sm).emit());
  return out;
}

} // namespace ganc::codegen
