//===- PerfMapTest.cpp - naming JIT-compiled kernels for perf -------------===//
#include "JitUtil.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unistd.h>

using namespace ganc;

namespace {

/// Sets an environment variable for the life of the object, then puts back what it was.
struct ScopedEnv {
  const char *name;
  std::optional<std::string> before;
  ScopedEnv(const char *n, const char *value) : name(n) {
    if (const char *old = std::getenv(n))
      before = old;
    setenv(n, value, 1);
  }
  ~ScopedEnv() {
    if (before)
      setenv(name, before->c_str(), 1);
    else
      unsetenv(name);
  }
};

/// The perf map's lines "address size name" that name `name`, with `address` and `size`
/// parsed; code addresses are never 0.
std::vector<std::pair<uint64_t, uint64_t>> entriesFor(const std::string &map, const std::string &name) {
  std::vector<std::pair<uint64_t, uint64_t>> found;
  std::ifstream in(map);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string address, size, sym;
    if (fields >> address >> size >> sym && sym == name)
      found.push_back({std::stoull(address, nullptr, 16), std::stoull(size, nullptr, 16)});
  }
  return found;
}

TEST(PerfMap, NamesEveryKernelWhenAsked) {
  const std::string map = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  std::filesystem::remove(map);
  ir::Graph g("perfmap");
  ir::Builder b(g);
  g.addOutput("y", b.unary(ir::OpKind::Relu, b.matmul(g.input("a", {4, 8}), g.input("w", {8, 16}))));
  std::map<std::string, std::vector<float>> leaves{{"a", std::vector<float>(32, 1.0f)},
                                                   {"w", std::vector<float>(128, -0.5f)}};
  {
    ScopedEnv on("GANC_PERF_MAP", "1");
    auto out = test::runGraph(g, leaves);
    EXPECT_EQ(out["y"], std::vector<float>(64, 0.0f)); // relu(8 * -0.5)
  }
  ASSERT_TRUE(std::filesystem::exists(map));
  // The step function and its kernel, each with its code's place and size.
  auto step = entriesFor(map, "perfmap.0"), kernel = entriesFor(map, "perfmap.0.matmul.0");
  ASSERT_EQ(step.size(), 1u);
  ASSERT_EQ(kernel.size(), 1u);
  EXPECT_NE(step[0].first, 0u);
  EXPECT_GT(step[0].second, 0u);
  EXPECT_GT(kernel[0].second, 0u);
  EXPECT_NE(step[0].first, kernel[0].first);
  std::filesystem::remove(map);

  // Off unless asked: "0" and an empty value write nothing.
  for (const char *off : {"0", ""}) {
    ScopedEnv env("GANC_PERF_MAP", off);
    test::runGraph(g, leaves);
  }
  EXPECT_FALSE(std::filesystem::exists(map));
}

} // namespace
