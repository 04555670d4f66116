//===- TestUtil.h - shared helpers of the unit tests ------------*- C++ -*-===//
#pragma once

#include "driver/Commands.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <unistd.h>

namespace ganc::test {

/// A fresh, empty folder under the test temp dir, unique per call.
inline std::string freshDir(const std::string &name) {
  static int counter = 0;
  std::filesystem::path p = std::filesystem::temp_directory_path() /
                            ("ganc_test_" + std::to_string(::getpid()) + "_" + name + "_" +
                             std::to_string(counter++));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

inline std::string writeFile(const std::string &path, const std::string &text) {
  std::ofstream(path) << text;
  return path;
}

inline std::string readFile(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The repository's examples and stdlib, for tests that compile real models.
inline std::string sourcePath(const std::string &rel) {
  return std::string(GANC_SOURCE_DIR) + "/" + rel;
}

/// What a `ganc` command printed and returned.
struct CommandResult {
  int code;
  std::string out, err;
};

/// Runs `ganc args...` in this process, as the command line would.
inline CommandResult ganc(const std::vector<std::string> &args) {
  std::ostringstream out, err;
  int code = driver::runCommand(args, out, err);
  return {code, out.str(), err.str()};
}

} // namespace ganc::test
