//===- Builtins.cpp - functions every .gan file can call ------------------===//
#include "sema/Builtins.h"

#include "ir/OpInfo.h"

namespace ganc::sema {

bool isCallableOp(const std::string &name) {
  auto op = ir::opByMnemonic(name);
  if (!op)
    return false;
  // Leaves and the axis ops are built by lowering; users reach them through composites.
  // matmul_sum is the simplifier's (a sum of two matmuls written out is made one).
  switch (*op) {
  case ir::OpKind::MatMulSum:
  case ir::OpKind::Input:
  case ir::OpKind::Param:
  case ir::OpKind::Const:
  case ir::OpKind::Broadcast:
  case ir::OpKind::ReduceSum:
  case ir::OpKind::ReduceMax:
  case ir::OpKind::Slice:
  case ir::OpKind::Pad:
  case ir::OpKind::Transpose:
  case ir::OpKind::Reshape:
    return false;
  default:
    return true;
  }
}

bool isBuiltin(const std::string &name) {
  return isCallableOp(name) || name == "mean" || name == "sum" || name == "reshape" ||
         name == "flatten" || name == "norm" || name == "grad" || name == "clip" ||
         name == "batch_norm" || name == "max" || name == "softmax" || name == "log_softmax" ||
         name == "slice" || name == "concat" || name == "transpose" || name == "spectral_norm" ||
         name == "orthogonal_reg" || name == "dropout";
}

} // namespace ganc::sema
