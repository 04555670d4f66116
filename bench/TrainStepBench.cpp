//===- TrainStepBench.cpp - one training iteration of the tutorial GAN ----===//
//
// Compiles examples/mnist.gan through the whole pipeline at a given batch size and times
// one iteration (one D step + one G step, each with its data/noise fill and parameter
// commit), as the trainer runs it. Arguments: batch size, threads.
//
//   build/bench/ganc_bench --benchmark_filter=MnistIteration
//
//===----------------------------------------------------------------------===//
#include "Data.h"
#include "Threads.h"
#include "Trainer.h"
#include "driver/Session.h"

#include <benchmark/benchmark.h>

#include <random>
#include <sstream>

using namespace ganc;

namespace {

void MnistIteration(benchmark::State &state) {
  const int64_t batch = state.range(0);
  rt::ThreadLimit limit(static_cast<int>(state.range(1)));
  driver::Session s;
  if (!s.analyze(std::string(GANC_SOURCE_DIR) + "/examples/mnist.gan") || !s.buildSteps(batch) ||
      !s.startJit()) {
    std::ostringstream os;
    s.diags().print(os);
    state.SkipWithError(os.str().c_str());
    return;
  }
  std::vector<rt::StepFunction> fns;
  std::string error;
  if (!s.jit().compile({s.model().dStep.get(), s.model().gStep.get()}, {}, fns, error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  // Synthetic images: the timing does not depend on their content.
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> rows(2048 * 784);
  for (float &v : rows)
    v = u(rng);
  rt::Dataset data(std::move(rows), 784);
  rt::TrainSpec spec = s.trainSpec("");
  rt::Trainer trainer(spec, fns[0], &fns[1], nullptr, data);
  trainer.initialize();
  for (auto _ : state) {
    benchmark::DoNotOptimize(trainer.stepD());
    benchmark::DoNotOptimize(trainer.stepG());
  }
  state.counters["iterations/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                      benchmark::Counter::kIsRate);
  state.counters["samples/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

BENCHMARK(MnistIteration)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{32, 128, 512, 1024}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace

BENCHMARK_MAIN();
