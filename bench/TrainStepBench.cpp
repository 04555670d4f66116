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

#include <cstdlib>
#include <random>
#include <sstream>

using namespace ganc;

namespace {

/// `samples` MNIST-sized samples (784 random pixels), held as pixels or as floats. The
/// setup's MNIST (and the PyTorch side's data in bench/compare_pytorch.sh) has 10,000;
/// the full training set, 60,000.
rt::Dataset mnistSized(int64_t samples, bool pixels) {
  std::mt19937 rng(1);
  std::vector<uint8_t> bytes(static_cast<size_t>(samples) * 784);
  for (uint8_t &v : bytes)
    v = static_cast<uint8_t>(rng());
  if (pixels)
    return rt::Dataset(std::move(bytes), 784, 0.0, 1.0);
  return rt::Dataset(std::vector<float>(bytes.begin(), bytes.end()), 784);
}

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
  // No object cache unless GANC_CACHE_DIR names one (to objdump a kernel perf profiled).
  codegen::JitOptions opts;
  if (const char *dir = std::getenv("GANC_CACHE_DIR"))
    opts.cacheDir = dir;
  if (!s.jit().compile({s.model().dStep.get(), s.model().gStep.get()}, opts, fns, error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  rt::Dataset data = mnistSized(10000, true);
  rt::TrainSpec spec = s.trainSpec("");
  // An iteration here is one D step and one G step, as bench/pytorch times it, whatever
  // the example's schedule (dcgan_mnist.gan trains two G steps per D step).
  spec.dSteps = spec.gSteps = 1;
  rt::Trainer trainer(spec, fns[0], &fns[1], nullptr, data);
  trainer.initialize();
  for (auto _ : state)
    benchmark::DoNotOptimize(trainer.iterate());
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

/// One batch of 128 MNIST-sized samples copied out of the training set (part of every
/// D step), from pixels (as IDX data is held) or from floats.
void BatchFill(benchmark::State &state) {
  rt::ThreadLimit limit(static_cast<int>(state.range(2)));
  rt::Dataset data = mnistSized(state.range(0), state.range(1) != 0);
  rt::BatchSampler batches(data, 1);
  std::vector<float> x(128 * 784);
  int64_t index = 0;
  for (auto _ : state) {
    batches.fill(x.data(), 128, index++);
    benchmark::DoNotOptimize(x.data());
  }
}

BENCHMARK(BatchFill)
    ->ArgNames({"samples", "pixels", "threads"})
    ->ArgsProduct({{10000, 60000}, {0, 1}, {1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
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
