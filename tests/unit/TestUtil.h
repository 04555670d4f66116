//===- TestUtil.h - shared helpers of the unit tests ------------*- C++ -*-===//
#pragma once

#include <filesystem>
#include <fstream>
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

/// The repository's examples and stdlib, for tests that compile real models.
inline std::string sourcePath(const std::string &rel) {
  return std::string(GANC_SOURCE_DIR) + "/" + rel;
}

} // namespace ganc::test
