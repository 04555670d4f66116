//===- ResumeTest.cpp - checkpoints, exact resume, interrupts, divergence -===//
//
// A run killed with SIGKILL and resumed from its last checkpoint must end with weights
// bit-identical to a run that was never interrupted; SIGINT must save and stop cleanly;
// a changed model must be refused; a diverging run must stop with a located error.
// The kill tests run the real `ganc` binary in a child process.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "driver/Commands.h"
#include "io/Idx.h"
#include "io/SafeTensors.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>

using namespace ganc;

namespace {

std::string setUp(const std::string &dir, const std::string &lr = "2e-3") {
  std::mt19937 rng(5);
  std::vector<uint8_t> px(256 * 64, 0);
  for (int i = 0; i < 256; ++i)
    for (int k = 0; k < 8; ++k)
      px[i * 64 + (rng() % 2 ? k * 8 + i % 8 : (i % 8) * 8 + k)] = 255;
  rt::writeIdxU8(dir + "/bars-idx3-ubyte", {256, 8, 8}, px.data());
  return test::writeFile(dir + "/bars.gan", R"(import std.nn
data  x ~ idx("bars-idx3-ubyte", scale = [0, 1], shape = [64])
noise z ~ uniform(-1, 1, [16])
generator G(z: [16]) -> [64] {
    return sigmoid(dense(relu(dense(z, 32)), 64))
}
discriminator D(x: [64]) -> [1] {
    return sigmoid(dense(relu(dense(x, 32)), 1))
}
game {
    D maximizes mean(log(D(x))) + mean(log(1 - D(G(z))))
    G maximizes mean(log(D(G(z))))
}
train {
    batch 16
    seed 4
    optimize D with adam(lr = )" + lr + R"()
    optimize G with adam(lr = )" + lr + R"()
    sample 2x2 every 100000
    checkpoint every 50
    log every 50
}
)");
}

using test::CommandResult;
using test::ganc;

std::vector<rt::NamedTensor> weights(const std::string &ckpt) {
  return rt::readSafeTensors(ckpt).tensors;
}

void expectSameWeights(const std::string &a, const std::string &b) {
  auto wa = weights(a), wb = weights(b);
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) {
    EXPECT_EQ(wa[i].name, wb[i].name);
    EXPECT_TRUE(wa[i].data == wb[i].data) << wa[i].name << " differs";
  }
}

/// Starts `ganc args...` in a child process (stdout/stderr to files in `dir`).
pid_t spawn(const std::string &dir, const std::vector<std::string> &args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char *> argv;
    std::string bin = GANC_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string &s : copy)
      argv.push_back(s.data());
    argv.push_back(nullptr);
    freopen((dir + "/child.out").c_str(), "w", stdout);
    freopen((dir + "/child.err").c_str(), "w", stderr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int64_t checkpointStep(const std::string &ckpt) {
  try {
    return std::stoll(rt::readSafeTensors(ckpt).metadata.at("step"));
  } catch (const std::exception &) {
    return -1; // not written yet
  }
}

TEST(Resume, ResumingAfterACheckpointIsExact) {
  std::string dir = test::freshDir("resume");
  std::string model = setUp(dir);
  ASSERT_EQ(ganc({"train", model, "--steps", "150", "--out", dir + "/full"}).code, 0);
  ASSERT_EQ(ganc({"train", model, "--steps", "100", "--out", dir + "/split"}).code, 0);
  CommandResult r = ganc({"train", model, "--steps", "150", "--out", dir + "/split", "--resume"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("resuming from step 100"), std::string::npos) << r.out;
  expectSameWeights(dir + "/full/checkpoint.safetensors", dir + "/split/checkpoint.safetensors");

  // metrics.csv of the resumed run holds the same rows as the uninterrupted one, time aside.
  auto rows = [](const std::string &path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      size_t a = line.find(','), b = line.find(',', a + 1);
      out.push_back(a == std::string::npos ? line : line.substr(0, a) + line.substr(b));
    }
    return out;
  };
  EXPECT_EQ(rows(dir + "/full/metrics.csv"), rows(dir + "/split/metrics.csv"));
}

TEST(Resume, KilledRunResumesBitIdentically) {
  std::string dir = test::freshDir("kill");
  std::string model = setUp(dir);
  std::string ckpt = dir + "/killed/checkpoint.safetensors";
  pid_t pid = spawn(dir, {"train", model, "--steps", "1000000", "--out", dir + "/killed"});
  ASSERT_GT(pid, 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (checkpointStep(ckpt) < 100 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it was killed";
  int64_t at = checkpointStep(ckpt);
  ASSERT_GE(at, 100) << "no checkpoint within a minute";

  std::string until = std::to_string(at + 60);
  CommandResult r = ganc({"train", model, "--steps", until, "--out", dir + "/killed", "--resume"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(ganc({"train", model, "--steps", until, "--out", dir + "/clean"}).code, 0);
  expectSameWeights(dir + "/clean/checkpoint.safetensors", ckpt);
}

TEST(Resume, InterruptSavesAndStops) {
  std::string dir = test::freshDir("sigint");
  std::string model = setUp(dir);
  pid_t pid = spawn(dir, {"train", model, "--steps", "100000000", "--out", dir + "/run"});
  std::string ckpt = dir + "/run/checkpoint.safetensors";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (checkpointStep(ckpt) < 50 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::ifstream out(dir + "/child.out");
  std::string text((std::istreambuf_iterator<char>(out)), {});
  EXPECT_NE(text.find("--resume"), std::string::npos) << text;
  // The final checkpoint is at the step where it stopped, later than the periodic one.
  EXPECT_GE(checkpointStep(ckpt), 50);
}

TEST(Resume, ChangedModelIsRefused) {
  std::string dir = test::freshDir("changed");
  std::string model = setUp(dir);
  ASSERT_EQ(ganc({"train", model, "--steps", "50", "--out", dir + "/run"}).code, 0);
  setUp(dir, "1e-3");
  CommandResult r = ganc({"train", model, "--steps", "60", "--out", dir + "/run", "--resume"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("different version of the model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("checkpoint.safetensors"), std::string::npos) << r.err;
}

TEST(Resume, ADifferentBatchIsRefused) {
  std::string dir = test::freshDir("batch");
  std::string model = setUp(dir);
  ASSERT_EQ(ganc({"train", model, "--steps", "50", "--out", dir + "/run"}).code, 0);
  CommandResult r = ganc({"train", model, "--steps", "60", "--batch", "8", "--out", dir + "/run", "--resume"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("was trained with batch 16, not 8"), std::string::npos) << r.err;
}

TEST(Resume, CountsNoRunMakesAreADamagedCheckpoint) {
  // Counts edited past anything a run reaches: resuming from them overflowed the batch
  // order's index (a crash) and Adam's step count (a false divergence).
  std::string dir = test::freshDir("counts");
  std::string model = setUp(dir);
  ASSERT_EQ(ganc({"train", model, "--steps", "50", "--out", dir + "/run"}).code, 0);
  const std::string ckpt = dir + "/run/checkpoint.safetensors";
  const rt::SafeTensorsFile good = rt::readSafeTensors(ckpt);
  for (const char *key : {"batches", "d_updates", "g_updates", "step"}) {
    std::map<std::string, std::string> meta = good.metadata;
    meta[key] = "9223372036854775807";
    rt::writeSafeTensors(ckpt, good.tensors, meta);
    CommandResult r = ganc({"train", model, "--steps", "60", "--out", dir + "/run", "--resume"});
    EXPECT_EQ(r.code, 1) << key;
    EXPECT_NE(r.err.find("checkpoint.safetensors: '" + std::string(key) +
                         "' metadata is 9223372036854775807, more than a run can make"),
              std::string::npos)
        << r.err;
  }
}

TEST(Resume, ANaNInTheCheckpointIsADamagedFile) {
  // No run saves one (a step that makes a NaN is never applied): resuming from it would
  // diverge at the first step with a message about the model, not the file.
  std::string dir = test::freshDir("nan");
  std::string model = setUp(dir);
  ASSERT_EQ(ganc({"train", model, "--steps", "50", "--out", dir + "/run"}).code, 0);
  const std::string ckpt = dir + "/run/checkpoint.safetensors";
  rt::SafeTensorsFile f = rt::readSafeTensors(ckpt);
  ASSERT_FALSE(f.tensors.empty());
  rt::NamedTensor &t = f.tensors.front(); // a parameter: sample reads only those
  ASSERT_GE(t.data.size(), 4u);
  t.data[3] = std::nanf("");
  rt::writeSafeTensors(ckpt, f.tensors, f.metadata);
  CommandResult r = ganc({"train", model, "--steps", "60", "--out", dir + "/run", "--resume"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("checkpoint.safetensors: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'" + t.name + "' holds NaN (element 3): the file is damaged"),
            std::string::npos)
      << r.err;
  t.data[3] = -INFINITY;
  rt::writeSafeTensors(ckpt, f.tensors, f.metadata);
  r = ganc({"sample", model, "--checkpoint", ckpt, "-n", "4", "--out", dir + "/s.npy"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'" + t.name + "' holds an infinity (element 3)"), std::string::npos)
      << r.err;
}

TEST(Resume, NothingToResume) {
  std::string dir = test::freshDir("nothing");
  std::string model = setUp(dir);
  CommandResult r = ganc({"train", model, "--steps", "10", "--out", dir + "/none", "--resume"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nothing to resume"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/none")); // nothing created either
}

TEST(Resume, DivergenceStopsWithTheObjectiveLine) {
  std::string dir = test::freshDir("diverge");
  std::string model = setUp(dir);
  // A learning rate this large blows the weights up within a few steps.
  setUp(dir, "1e30");
  CommandResult r = ganc({"train", model, "--steps", "200", "--out", dir + "/run"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.err.find("error: training diverged at step"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bars.gan:1"), std::string::npos) << r.err; // the objective's line
  // The replayed step names where the first inf or NaN appears: the weights blew up, so
  // a dense layer's matmul (std.nn's dense, line 13) overflows float first.
  EXPECT_NE(r.err.find("nn.gan:13:12: note: the first value that is not a finite number is computed here, by 'matmul'"),
            std::string::npos) << r.err;
}

} // namespace
