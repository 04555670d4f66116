//===- OneDnnBench.cpp - ganc's GEMM and convolution kernels against oneDNN --===//
//
// The matrix products and convolutions of the two benchmark models (the tutorial GAN's
// dense layers, the DCGAN's dense layer, its four convolutions and two weight gradients),
// each timed as a one-node graph compiled by ganc's JIT and as oneDNN's primitive at the
// same shape (Debian's libdnnl 2.6: dnnl_sgemm for products; convolution_forward,
// deconvolution_forward and convolution_backward_weights), for 1 and 2 threads. oneDNN
// gets its best: its own blocked layouts for convolutions (chosen with format_tag::any,
// reordered once, outside the timing) and its OpenMP pool sized to the thread count.
// Before timing, each pair is checked to compute the same values. GFLOP/s counts 2 flops
// per multiply-add.
//
//   build/bench/ganc_onednn_bench
//   build/bench/ganc_onednn_bench --benchmark_filter=Conv
//   build/bench/ganc_onednn_bench --benchmark_filter=Epilogue   # ganc's fused epilogues
//
// For figures to publish, time each side in a process of its own (--benchmark_filter=
// '^ConvGanc/', then '^ConvOneDnn/'): after oneDNN's runs its OpenMP threads keep
// spinning for a while, and whatever runs next in the same process shares a core with
// them (in one such run ganc's convolutions, after oneDNN's products, took up to a
// third longer).
//
//===----------------------------------------------------------------------===//
#include "Tensor.h"
#include "Threads.h"
#include "codegen/Jit.h"
#include "ir/Builder.h"
#include "lower/Optimizers.h"

#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

using namespace ganc;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

std::vector<float> randomValues(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(static_cast<size_t>(n));
  for (float &x : v)
    x = u(rng);
  return v;
}

/// A one-node graph compiled by ganc, ready to run on given inputs.
class GancOp {
public:
  GancOp(ir::Graph &g, const std::map<std::string, std::vector<float>> &inputs, std::string &error) {
    jit_ = codegen::Jit::create(error);
    std::vector<rt::StepFunction> fns;
    // No object cache unless GANC_CACHE_DIR names one (to objdump a kernel perf profiled).
    codegen::JitOptions opts;
    if (const char *dir = std::getenv("GANC_CACHE_DIR"))
      opts.cacheDir = dir;
    if (!jit_ || !jit_->compile({&g}, opts, fns, error))
      return;
    for (const rt::Slot &s : fns[0].slots)
      if (s.kind == rt::Slot::Kind::Leaf) {
        const std::vector<float> &v = inputs.at(s.name);
        std::copy(v.begin(), v.end(), store_.get(s.name, s.shape).data());
      }
    exe_ = std::make_unique<rt::Executable>(fns[0], store_);
  }
  bool ok() const { return exe_ != nullptr; }
  void run() { exe_->run(); }
  const float *out() const { return exe_->output("out"); }

private:
  std::unique_ptr<codegen::Jit> jit_;
  rt::Store store_;
  std::unique_ptr<rt::Executable> exe_;
};

/// Keeps ganc's team of threads awake between calls while alive (a ParallelRegion around
/// the timing loop, inside which each call's own region does nothing), as it is between
/// the kernels of a training step and as oneDNN's OpenMP threads are between its calls
/// (they spin for a while after each). Without it every call of ganc's on two threads
/// would also time waking the team's helper, 2.5-7 us that no training step pays per
/// kernel. Construct it after the ThreadLimit it should obey.
class Awake {
public:
  explicit Awake(bool ganc) {
    if (ganc)
      region_.emplace();
  }

private:
  std::optional<rt::ParallelRegion> region_;
};

/// Whether two results agree (float32 sums in different orders).
bool same(const float *a, const float *b, int64_t n, std::string &why) {
  for (int64_t i = 0; i < n; ++i)
    if (std::fabs(a[i] - b[i]) > 1e-3f * std::max(1.0f, std::fabs(b[i]))) {
      why = "ganc and oneDNN differ at element " + std::to_string(i) + ": " + std::to_string(a[i]) + " vs " +
            std::to_string(b[i]);
      return false;
    }
  return true;
}

void setCounters(benchmark::State &state, double flops) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

//===----------------------------------------------------------------------===//
// Matrix products: C[M,N] = A[M,K] B[K,N], row-major
//===----------------------------------------------------------------------===//

struct Gemm {
  const char *name;
  int64_t m, k, n;
};
const Gemm kGemms[] = {
    {"mnist D dense 784-128", 128, 784, 128},  {"mnist G dense 128-784", 128, 128, 784},
    {"mnist G dense 100-128", 128, 100, 128},  {"mnist D weight grad", 784, 128, 128},
    {"dcgan G dense 100-6272", 128, 100, 6272},
};

void GemmBench(benchmark::State &state, bool ganc) {
  const Gemm &s = kGemms[state.range(0)];
  const int threads = static_cast<int>(state.range(1));
  state.SetLabel(s.name);
  std::vector<float> a = randomValues(s.m * s.k, 1), b = randomValues(s.k * s.n, 2), c(s.m * s.n);
  ir::Graph g("gemm");
  ir::Builder bld(g);
  g.addOutput("out", bld.matmul(g.input("a", {s.m, s.k}), g.input("b", {s.k, s.n})));
  std::string error;
  GancOp op(g, {{"a", a}, {"b", b}}, error);
  if (!op.ok()) {
    state.SkipWithError(error.c_str());
    return;
  }
  rt::ThreadLimit limit(threads);
  omp_set_num_threads(threads);
  auto dnnl = [&] {
    dnnl_sgemm('N', 'N', s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f, c.data(), s.n);
  };
  op.run();
  dnnl();
  if (!same(op.out(), c.data(), s.m * s.n, error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  const Awake awake(ganc);
  for (auto _ : state) {
    if (ganc)
      op.run();
    else
      dnnl();
  }
  setCounters(state, 2.0 * static_cast<double>(s.m * s.k * s.n));
}

/// What an epilogue costs: the tutorial's G output product (128x128x784) alone, with the
/// sigmoid of G's output fused into its stores, or with an Adam update of a weight of its
/// shape (the moments and the weight in and out, the gradient's square for the norm), as
/// the training steps fuse them. ganc only: oneDNN's sgemm has no such epilogues.
void EpilogueGanc(benchmark::State &state) {
  static const char *kKinds[] = {"none", "sigmoid", "adam"};
  const int64_t kind = state.range(0), m = 128, k = 128, n = 784;
  state.SetLabel(std::string("mnist G dense 128-784, epilogue: ") + kKinds[kind]);
  ir::Graph g("epilogue");
  ir::Builder b(g);
  ir::Node *c = b.matmul(g.input("a", {m, k}), g.input("b", {k, n}));
  std::map<std::string, std::vector<float>> in{{"a", randomValues(m * k, 1)},
                                               {"b", randomValues(k * n, 2)}};
  if (kind == 1)
    c = b.unary(ir::OpKind::Sigmoid, c);
  if (kind == 2) {
    // Adam as the training steps build it (lower/Optimizers.cpp), with the gradient's
    // square stored for the norm.
    std::vector<std::pair<std::string, ir::Shape>> adamState;
    lower::addRawUpdate(b, sema::OptimizerSpec{}, "G", g.input("w", {m, n}), c, adamState);
    g.addOutput("sq", b.mul(c, c));
    in["w"] = randomValues(m * n, 3);
    for (auto &[name, shape] : adamState) {
      std::vector<float> &v = in[name] = randomValues(m * n, static_cast<unsigned>(in.size()));
      for (float &x : v) // squared: v, a mean of squares, is never negative
        x *= x;
    }
    in[lower::names::adamLr("G")] = {1e-3f};
    in[lower::names::adamEps("G")] = {1e-8f};
  } else {
    g.addOutput("out", c);
  }
  std::string error;
  GancOp op(g, in, error);
  if (!op.ok()) {
    state.SkipWithError(error.c_str());
    return;
  }
  rt::ThreadLimit limit(static_cast<int>(state.range(1)));
  const Awake awake(true);
  for (auto _ : state)
    op.run();
  setCounters(state, 2.0 * static_cast<double>(m * k * n));
}

//===----------------------------------------------------------------------===//
// Convolutions, NCHW and OIHW, forward
//===----------------------------------------------------------------------===//

enum class Kind { Forward, Transposed, FilterGrad };
struct Conv {
  const char *name;
  Kind kind;
  int64_t batch, in, out, size; ///< channels in and out, input height = width
  int64_t kernel, stride, padding;
  int64_t outSize() const {
    return kind == Kind::Transposed ? (size - 1) * stride - 2 * padding + kernel
                                    : (size + 2 * padding - kernel) / stride + 1;
  }
};
const Conv kConvs[] = {
    {"dcgan D conv 1->64 28x28", Kind::Forward, 128, 1, 64, 28, 4, 2, 1},
    {"dcgan D conv 64->128 14x14", Kind::Forward, 128, 64, 128, 14, 4, 2, 1},
    {"dcgan G convT 128->64 7x7 (= D conv 2's input gradient)", Kind::Transposed, 128, 128, 64, 7, 4, 2, 1},
    {"dcgan G convT 64->1 14x14", Kind::Transposed, 128, 64, 1, 14, 4, 2, 1},
    {"dcgan D conv 64->128 weight gradient", Kind::FilterGrad, 128, 64, 128, 14, 4, 2, 1},
    {"dcgan D conv 1->64 weight gradient", Kind::FilterGrad, 128, 1, 64, 28, 4, 2, 1},
};

/// oneDNN's primitive for `s`, in the layouts `t` (plain NCHW, or `any` for its
/// choice), with its two inputs reordered from plain ones: x and w (forward, transposed)
/// or x and the output gradient g (weight gradient, whose result is w's shape).
struct DnnlConv {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::primitive prim;
  int argA, argB, argOut;
  dnnl::memory a, b, out, plainOut;

  DnnlConv(const Conv &s, tag t, std::vector<float> &x, std::vector<float> &second, std::vector<float> &result) {
    const int64_t o = s.outSize();
    dnnl::memory::dims xd{s.batch, s.in, s.size, s.size}, yd{s.batch, s.out, o, o};
    dnnl::memory::dims st{s.stride, s.stride}, pad{s.padding, s.padding};
    // oneDNN's weights are {out, in, kh, kw}; ganc's transposed convolution keeps PyTorch's
    // [in, out, kh, kw], which is oneDNN's `iohw`.
    dnnl::memory::dims wd{s.out, s.in, s.kernel, s.kernel};
    dnnl::memory::desc xm(xd, dt::f32, t), ym(yd, dt::f32, t), wm(wd, dt::f32, t);
    dnnl::memory plainX({xd, dt::f32, tag::nchw}, eng, x.data());
    const tag wTag = s.kind == Kind::Transposed ? tag::iohw : tag::oihw;
    dnnl::memory::desc aMd, bMd, outMd;
    dnnl::memory plainB;
    if (s.kind == Kind::Transposed) {
      dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::deconvolution_direct,
                                          xm, wm, ym, st, pad, pad);
      dnnl::deconvolution_forward::primitive_desc pd(d, eng);
      prim = dnnl::deconvolution_forward(pd);
      aMd = pd.src_desc(), bMd = pd.weights_desc(), outMd = pd.dst_desc();
    } else {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, xm,
                                        wm, ym, st, pad, pad);
      dnnl::convolution_forward::primitive_desc pd(d, eng);
      if (s.kind == Kind::Forward) {
        prim = dnnl::convolution_forward(pd);
        aMd = pd.src_desc(), bMd = pd.weights_desc(), outMd = pd.dst_desc();
      } else {
        dnnl::convolution_backward_weights::desc bd(dnnl::algorithm::convolution_direct, xm, wm, ym, st, pad, pad);
        dnnl::convolution_backward_weights::primitive_desc bpd(bd, eng, pd);
        prim = dnnl::convolution_backward_weights(bpd);
        aMd = bpd.src_desc(), bMd = bpd.diff_dst_desc(), outMd = bpd.diff_weights_desc();
      }
    }
    if (s.kind == Kind::FilterGrad) {
      plainB = dnnl::memory({yd, dt::f32, tag::nchw}, eng, second.data());
      plainOut = dnnl::memory({wd, dt::f32, tag::oihw}, eng, result.data());
      argA = DNNL_ARG_SRC, argB = DNNL_ARG_DIFF_DST, argOut = DNNL_ARG_DIFF_WEIGHTS;
    } else {
      plainB = dnnl::memory({wd, dt::f32, wTag}, eng, second.data());
      plainOut = dnnl::memory({yd, dt::f32, tag::nchw}, eng, result.data());
      argA = DNNL_ARG_SRC, argB = DNNL_ARG_WEIGHTS, argOut = DNNL_ARG_DST;
    }
    a = dnnl::memory(aMd, eng);
    b = dnnl::memory(bMd, eng);
    out = dnnl::memory(outMd, eng);
    dnnl::reorder(plainX, a).execute(strm, plainX, a);
    dnnl::reorder(plainB, b).execute(strm, plainB, b);
    strm.wait();
  }
  void run() {
    prim.execute(strm, {{argA, a}, {argB, b}, {argOut, out}});
    strm.wait();
  }
  /// The result, in the plain layout.
  void fetch() {
    dnnl::reorder(out, plainOut).execute(strm, out, plainOut);
    strm.wait();
  }
};

void ConvBench(benchmark::State &state, bool ganc) {
  const Conv &s = kConvs[state.range(0)];
  const int threads = static_cast<int>(state.range(1));
  state.SetLabel(s.name);
  const int64_t o = s.outSize();
  const ir::Shape xs{s.batch, s.in, s.size, s.size}, ys{s.batch, s.out, o, o};
  const ir::Shape ws = s.kind == Kind::Transposed ? ir::Shape{s.in, s.out, s.kernel, s.kernel}
                                                  : ir::Shape{s.out, s.in, s.kernel, s.kernel};
  const ir::Shape &secondShape = s.kind == Kind::FilterGrad ? ys : ws;
  std::vector<float> x = randomValues(ir::numElements(xs), 3), second = randomValues(ir::numElements(secondShape), 4);
  std::vector<float> result(static_cast<size_t>(ir::numElements(s.kind == Kind::FilterGrad ? ws : ys)));
  ir::Graph g("conv");
  ir::Builder bld(g);
  ir::Node *xn = g.input("x", xs), *bn = g.input("second", secondShape);
  switch (s.kind) {
  case Kind::Forward:
    g.addOutput("out", bld.make(ir::OpKind::Conv2d, {xn, bn}, {{s.stride, s.padding}, 0, ""}));
    break;
  case Kind::Transposed:
    g.addOutput("out", bld.make(ir::OpKind::ConvTranspose2d, {xn, bn}, {{s.stride, s.padding, 0, 0}, 0, ""}));
    break;
  case Kind::FilterGrad:
    g.addOutput("out", bld.make(ir::OpKind::Conv2dFilterGrad, {xn, bn}, {{s.stride, s.padding, s.kernel, s.kernel}, 0, ""}));
    break;
  }
  std::string error;
  GancOp op(g, {{"x", x}, {"second", second}}, error);
  if (!op.ok()) {
    state.SkipWithError(error.c_str());
    return;
  }
  rt::ThreadLimit limit(threads);
  omp_set_num_threads(threads);
  try {
    DnnlConv plain(s, tag::any, x, second, result);
    plain.run();
    plain.fetch();
    op.run();
    if (!same(op.out(), result.data(), static_cast<int64_t>(result.size()), error)) {
      state.SkipWithError(error.c_str());
      return;
    }
    const Awake awake(ganc);
    for (auto _ : state) {
      if (ganc)
        op.run();
      else
        plain.run();
    }
  } catch (const dnnl::error &e) {
    state.SkipWithError(e.what());
    return;
  }
  // A multiply-add per tap and pair of channels at each convolution output position (for
  // a transposed convolution, at each input position, which it spreads over its taps).
  const int64_t positions = s.kind == Kind::Transposed ? s.size * s.size : o * o;
  setCounters(state, 2.0 * static_cast<double>(s.batch * s.out * positions * s.in * s.kernel * s.kernel));
}

void GemmGanc(benchmark::State &s) { GemmBench(s, true); }
void GemmOneDnn(benchmark::State &s) { GemmBench(s, false); }
void ConvGanc(benchmark::State &s) { ConvBench(s, true); }
void ConvOneDnn(benchmark::State &s) { ConvBench(s, false); }

// Every shape for 1 and 2 threads; Google Benchmark runs all of ganc's before oneDNN's.
void gemmShapes(benchmark::internal::Benchmark *b) {
  b->ArgNames({"shape", "threads"})->ArgsProduct({{0, 1, 2, 3, 4}, {1, 2}})->UseRealTime();
}
void convShapes(benchmark::internal::Benchmark *b) {
  b->ArgNames({"shape", "threads"})->ArgsProduct({{0, 1, 2, 3, 4, 5}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK(GemmGanc)->Apply(gemmShapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(GemmOneDnn)->Apply(gemmShapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(EpilogueGanc)
    ->ArgNames({"epilogue", "threads"})
    ->ArgsProduct({{0, 1, 2}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(ConvGanc)->Apply(convShapes);
BENCHMARK(ConvOneDnn)->Apply(convShapes);

} // namespace

BENCHMARK_MAIN();
