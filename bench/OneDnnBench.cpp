//===- OneDnnBench.cpp - ganc's GEMM and convolution kernels against oneDNN --===//
//
// The matrix products and convolutions of the two benchmark models (the tutorial GAN's
// dense layers, the DCGAN's dense layer and its four convolutions, forward), each timed
// as a one-node graph compiled by ganc's JIT and as oneDNN's primitive at the same shape
// (Debian's libdnnl 2.6: dnnl_sgemm for products, convolution_forward and
// deconvolution_forward), for 1 and 2 threads. oneDNN gets its best: its own blocked
// layouts for convolutions (chosen with format_tag::any, reordered once, outside the
// timing) and its OpenMP pool sized to the thread count. Before timing, each pair is
// checked to compute the same values. GFLOP/s counts 2 flops per multiply-add.
//
//   build/bench/ganc_onednn_bench
//   build/bench/ganc_onednn_bench --benchmark_filter=Conv
//
//===----------------------------------------------------------------------===//
#include "Tensor.h"
#include "Threads.h"
#include "codegen/Jit.h"
#include "ir/Builder.h"

#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <cmath>
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
    if (!jit_ || !jit_->compile({&g}, {}, fns, error))
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
  for (auto _ : state) {
    if (ganc)
      op.run();
    else
      dnnl();
  }
  setCounters(state, 2.0 * static_cast<double>(s.m * s.k * s.n));
}

//===----------------------------------------------------------------------===//
// Convolutions, NCHW and OIHW, forward
//===----------------------------------------------------------------------===//

struct Conv {
  const char *name;
  bool transposed;
  int64_t batch, in, out, size; ///< channels in and out, input height = width
  int64_t kernel, stride, padding;
  int64_t outSize() const {
    return transposed ? (size - 1) * stride - 2 * padding + kernel : (size + 2 * padding - kernel) / stride + 1;
  }
};
const Conv kConvs[] = {
    {"dcgan D conv 1->64 28x28", false, 128, 1, 64, 28, 4, 2, 1},
    {"dcgan D conv 64->128 14x14", false, 128, 64, 128, 14, 4, 2, 1},
    {"dcgan G convT 128->64 7x7", true, 128, 128, 64, 7, 4, 2, 1},
    {"dcgan G convT 64->1 14x14", true, 128, 64, 1, 14, 4, 2, 1},
};

/// oneDNN's convolution or deconvolution for `s`, in the layouts `t` (plain NCHW, or
/// `any` for its choice), with its inputs reordered from the plain ones.
struct DnnlConv {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::primitive prim;
  dnnl::memory src, wei, dst, plainDst;
  bool reorderOut = false;

  DnnlConv(const Conv &s, tag t, std::vector<float> &x, std::vector<float> &w, std::vector<float> &y) {
    const int64_t o = s.outSize();
    dnnl::memory::dims xd{s.batch, s.in, s.size, s.size}, yd{s.batch, s.out, o, o};
    dnnl::memory::dims st{s.stride, s.stride}, pad{s.padding, s.padding};
    // oneDNN's weights are {out, in, kh, kw}; ganc's transposed convolution keeps PyTorch's
    // [in, out, kh, kw], which is oneDNN's `iohw`.
    dnnl::memory::dims wd{s.out, s.in, s.kernel, s.kernel};
    dnnl::memory::desc xm(xd, dt::f32, t), ym(yd, dt::f32, t), wm(wd, dt::f32, t);
    dnnl::memory plainX({xd, dt::f32, tag::nchw}, eng, x.data());
    dnnl::memory plainW({wd, dt::f32, s.transposed ? tag::iohw : tag::oihw}, eng, w.data());
    plainDst = dnnl::memory({yd, dt::f32, tag::nchw}, eng, y.data());
    dnnl::memory::desc srcMd, weiMd, dstMd;
    if (s.transposed) {
      dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::deconvolution_direct,
                                          xm, wm, ym, st, pad, pad);
      dnnl::deconvolution_forward::primitive_desc pd(d, eng);
      prim = dnnl::deconvolution_forward(pd);
      srcMd = pd.src_desc(), weiMd = pd.weights_desc(), dstMd = pd.dst_desc();
    } else {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, xm,
                                        wm, ym, st, pad, pad);
      dnnl::convolution_forward::primitive_desc pd(d, eng);
      prim = dnnl::convolution_forward(pd);
      srcMd = pd.src_desc(), weiMd = pd.weights_desc(), dstMd = pd.dst_desc();
    }
    src = dnnl::memory(srcMd, eng);
    wei = dnnl::memory(weiMd, eng);
    dst = dnnl::memory(dstMd, eng);
    dnnl::reorder(plainX, src).execute(strm, plainX, src);
    dnnl::reorder(plainW, wei).execute(strm, plainW, wei);
    strm.wait();
    reorderOut = dstMd != plainDst.get_desc();
  }
  void run() {
    prim.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
    strm.wait();
  }
  /// The result, in NCHW.
  void fetch() {
    if (reorderOut)
      dnnl::reorder(dst, plainDst).execute(strm, dst, plainDst);
    else
      std::copy_n(static_cast<float *>(dst.get_data_handle()), plainDst.get_desc().get_size() / 4,
                  static_cast<float *>(plainDst.get_data_handle()));
    strm.wait();
  }
};

void ConvBench(benchmark::State &state, bool ganc) {
  const Conv &s = kConvs[state.range(0)];
  const int threads = static_cast<int>(state.range(1));
  state.SetLabel(s.name);
  const int64_t o = s.outSize();
  std::vector<float> x = randomValues(s.batch * s.in * s.size * s.size, 3);
  std::vector<float> w = randomValues(s.out * s.in * s.kernel * s.kernel, 4);
  std::vector<float> y(static_cast<size_t>(s.batch * s.out * o * o));
  ir::Graph g("conv");
  ir::Builder bld(g);
  ir::Node *xn = g.input("x", {s.batch, s.in, s.size, s.size});
  ir::Node *wn = s.transposed ? g.input("w", {s.in, s.out, s.kernel, s.kernel})
                              : g.input("w", {s.out, s.in, s.kernel, s.kernel});
  g.addOutput("out", s.transposed ? bld.make(ir::OpKind::ConvTranspose2d, {xn, wn}, {{s.stride, s.padding, 0, 0}, 0, ""})
                                  : bld.make(ir::OpKind::Conv2d, {xn, wn}, {{s.stride, s.padding}, 0, ""}));
  std::string error;
  GancOp op(g, {{"x", x}, {"w", w}}, error);
  if (!op.ok()) {
    state.SkipWithError(error.c_str());
    return;
  }
  rt::ThreadLimit limit(threads);
  omp_set_num_threads(threads);
  try {
    DnnlConv plain(s, tag::nchw, x, w, y);
    plain.run();
    plain.fetch();
    op.run();
    if (!same(op.out(), y.data(), static_cast<int64_t>(y.size()), error)) {
      state.SkipWithError(error.c_str());
      return;
    }
    DnnlConv best(s, tag::any, x, w, y);
    for (auto _ : state) {
      if (ganc)
        op.run();
      else
        best.run();
    }
  } catch (const dnnl::error &e) {
    state.SkipWithError(e.what());
    return;
  }
  // A multiply-add per tap and pair of channels at each convolution output position (for
  // a transposed convolution, at each input position, which it spreads over its taps).
  const int64_t positions = s.transposed ? s.size * s.size : o * o;
  setCounters(state, 2.0 * static_cast<double>(s.batch * s.out * positions * s.in * s.kernel * s.kernel));
}

void GemmGanc(benchmark::State &s) { GemmBench(s, true); }
void GemmOneDnn(benchmark::State &s) { GemmBench(s, false); }
void ConvGanc(benchmark::State &s) { ConvBench(s, true); }
void ConvOneDnn(benchmark::State &s) { ConvBench(s, false); }

// Each shape with ganc then oneDNN, so neighbours in the output compare.
void gemmShapes(benchmark::internal::Benchmark *b) {
  b->ArgNames({"shape", "threads"})->ArgsProduct({{0, 1, 2, 3, 4}, {1, 2}})->UseRealTime();
}
void convShapes(benchmark::internal::Benchmark *b) {
  b->ArgNames({"shape", "threads"})->ArgsProduct({{0, 1, 2, 3}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK(GemmGanc)->Apply(gemmShapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(GemmOneDnn)->Apply(gemmShapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(ConvGanc)->Apply(convShapes);
BENCHMARK(ConvOneDnn)->Apply(convShapes);

} // namespace

BENCHMARK_MAIN();
