//===- Commands.h - the ganc subcommands ------------------------*- C++ -*-===//
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ganc::driver {

/// Runs `ganc ARGS...`; returns the exit code (0 ok, 1 user error, 2 usage, 3 internal).
int runCommand(const std::vector<std::string> &args, std::ostream &out, std::ostream &err);

} // namespace ganc::driver
