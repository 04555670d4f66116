//===- OpInfo.cpp - the op registry ---------------------------------------===//
#include "ir/OpInfo.h"

#include <map>

namespace ganc::ir {

const OpInfo &opInfo(OpKind op) {
  static const OpInfo *const table[] = {
#define GANC_OP(Name, Mnemonic, Arity, Traits) &opInfo_##Name(),
#include "ir/Ops.def"
  };
  return *table[static_cast<size_t>(op)];
}

const std::vector<OpKind> &allOps() {
  static const std::vector<OpKind> ops = {
#define GANC_OP(Name, Mnemonic, Arity, Traits) OpKind::Name,
#include "ir/Ops.def"
  };
  return ops;
}

std::optional<OpKind> opByMnemonic(const std::string &mnemonic) {
  static const std::map<std::string, OpKind> byName = [] {
    std::map<std::string, OpKind> m;
#define GANC_OP(Name, Mnemonic, Arity, Traits) m[Mnemonic] = OpKind::Name;
#include "ir/Ops.def"
    return m;
  }();
  auto it = byName.find(mnemonic);
  if (it == byName.end())
    return std::nullopt;
  return it->second;
}

void lowerElementwise(KernelBuilder &k, const Node &n) {
  const OpInfo &info = opInfo(n.op);
  k.loop(n.numel(), [&](KernelBuilder::Idx i) {
    std::vector<KernelBuilder::Val> args;
    for (unsigned j = 0; j < n.operands.size(); ++j)
      args.push_back(k.load(j, n.operands[j]->shape.empty() ? k.index(0) : i));
    k.store(i, info.scalar(k, args));
  });
}

} // namespace ganc::ir
