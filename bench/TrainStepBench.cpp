//===- TrainStepBench.cpp - one training iteration of the tutorial GAN and a DCGAN --===//
//
// Compiles examples/mnist.gan (and examples/dcgan_mnist.gan) through the whole pipeline
// at a given batch size and times one iteration (one D step + one G step, each with its
// data/noise fill and parameter commit), as the trainer runs it. Arguments: batch size,
// threads.
//
//   build/bench/ganc_bench --benchmark_filter=MnistIteration
//   build/bench/ganc_bench --benchmark_filter=DcganIteration
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

/// One iteration (D step + G step, as the trainer runs them) of `example` at a batch size
/// and thread count, on synthetic images (the timing does not depend on their content).
void iteration(benchmark::State &state, const std::string &example) {
  const int64_t batch = state.range(0);
  rt::ThreadLimit limit(static_cast<int>(state.range(1)));
  driver::Session s;
  if (!s.analyze(std::string(GANC_SOURCE_DIR) + "/examples/" + example) || !s.buildSteps(batch) ||
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

/// The tutorial's GAN, examples/mnist.gan.
void MnistIteration(benchmark::State &state) { iteration(state, "mnist.gan"); }
/// The DCGAN of examples/dcgan_mnist.gan (the performance issue's model: BN, strided and
/// transposed 4x4 convolutions, Adam 2e-4).
void DcganIteration(benchmark::State &state) { iteration(state, "dcgan_mnist.gan"); }

BENCHMARK(MnistIteration)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{32, 128, 512, 1024}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(DcganIteration)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{128}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace

BENCHMARK_MAIN();
