//===- StepReferenceTest.cpp - compiled D and G steps vs plain C++ --------===//
//
// Compiles examples/mnist.gan (the tutorial's GAN) through the whole pipeline, runs one
// JIT-compiled D step and one G step on given weights, data and noise, and compares with
// a plain C++ implementation of the same step written out by hand below: forward pass,
// loss, backward pass, Adam. Adam's first moment after one step is (1 - beta1) * grad,
// so the moments compare the gradients themselves, and the parameters compare the update.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "Tensor.h"
#include "driver/Session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>

using namespace ganc;

namespace {

using Mat = std::vector<double>; // row-major

/// y[B,O] = x[B,I] W[I,O] + b[O]
Mat dense(const Mat &x, const Mat &W, const Mat &b, int B, int I, int O) {
  Mat y(B * O);
  for (int r = 0; r < B; ++r)
    for (int o = 0; o < O; ++o) {
      double s = b[o];
      for (int i = 0; i < I; ++i)
        s += x[r * I + i] * W[i * O + o];
      y[r * O + o] = s;
    }
  return y;
}

/// Given dy, accumulates dW, db and returns dx.
Mat denseBack(const Mat &x, const Mat &W, const Mat &dy, int B, int I, int O, Mat &dW, Mat &db) {
  Mat dx(B * I, 0.0);
  dW.assign(I * O, 0.0);
  db.assign(O, 0.0);
  for (int r = 0; r < B; ++r)
    for (int o = 0; o < O; ++o) {
      double g = dy[r * O + o];
      db[o] += g;
      for (int i = 0; i < I; ++i) {
        dW[i * O + o] += x[r * I + i] * g;
        dx[r * I + i] += W[i * O + o] * g;
      }
    }
  return dx;
}

double sigmoid(double a) { return 1 / (1 + std::exp(-a)); }
double softplus(double a) { return std::max(a, 0.0) + std::log1p(std::exp(-std::fabs(a))); }

struct Mlp { // one hidden layer, ReLU
  Mat W1, b1, W2, b2;
  int I, H, O;
  Mat x, pre1, h, out; // saved activations
  Mat forward(const Mat &in, int B) {
    x = in;
    pre1 = dense(x, W1, b1, B, I, H);
    h = pre1;
    for (double &v : h)
      v = std::max(v, 0.0);
    out = dense(h, W2, b2, B, H, O);
    return out;
  }
  /// Returns d(input); gradients go to dW1.. (accumulated when `acc`).
  Mat backward(const Mat &dOut, int B, std::map<std::string, Mat> &grads, bool acc) {
    Mat dW2, db2, dW1, db1;
    Mat dh = denseBack(h, W2, dOut, B, H, O, dW2, db2);
    for (size_t k = 0; k < dh.size(); ++k)
      dh[k] = pre1[k] > 0 ? dh[k] : 0;
    Mat dx = denseBack(x, W1, dh, B, I, H, dW1, db1);
    auto add = [&](const std::string &n, const Mat &g) {
      Mat &t = grads[n];
      if (!acc || t.empty())
        t = g;
      else
        for (size_t k = 0; k < g.size(); ++k)
          t[k] += g[k];
    };
    add("dense_1.W", dW1), add("dense_1.b", db1), add("dense_2.W", dW2), add("dense_2.b", db2);
    return dx;
  }
};

class StepReference : public ::testing::Test {
protected:
  static constexpr int B = 16, Z = 100, X = 784, H = 128;

  void SetUp() override {
    ASSERT_TRUE(s.analyze(test::sourcePath("examples/mnist.gan")));
    ASSERT_TRUE(s.buildSteps(B));
    ASSERT_TRUE(s.startJit());
    std::string error;
    ASSERT_TRUE(s.jit().compile({s.model().dStep.get(), s.model().gStep.get()}, {}, fns, error))
        << error;

    std::mt19937 rng(42);
    std::uniform_real_distribution<double> w(-0.1, 0.1), u01(0, 1), u11(-1, 1);
    for (const lower::ParamInfo &p : s.model().params.params) {
      rt::Tensor &t = store.get(p.name, p.shape);
      Mat &m = ref[p.name];
      m.resize(t.numel());
      for (int64_t k = 0; k < t.numel(); ++k)
        t.data()[k] = static_cast<float>(m[k] = w(rng));
    }
    for (auto &[name, shape] : s.model().state)
      store.get(name, shape);
    fill("x", {B, X}, xs, [&] { return u01(rng); });
    fill("z", {B, Z}, zs, [&] { return u11(rng); });
    // Adam at t = 1: lr_t = lr sqrt(1 - b2) / (1 - b1), eps_t = eps sqrt(1 - b2).
    for (const char *p : {"D", "G"}) {
      store.get(std::string(p) + "@adam.lr_t", {}).data()[0] =
          static_cast<float>(1e-3 * std::sqrt(1 - 0.999) / (1 - 0.9));
      store.get(std::string(p) + "@adam.eps_t", {}).data()[0] =
          static_cast<float>(1e-8 * std::sqrt(1 - 0.999));
    }
    G = mlp("G", Z, X);
    D = mlp("D", X, 1);
  }

  template <typename F> void fill(const std::string &name, rt::Shape shape, Mat &m, F draw) {
    rt::Tensor &t = store.get(name, shape);
    m.resize(t.numel());
    for (int64_t k = 0; k < t.numel(); ++k)
      t.data()[k] = static_cast<float>(m[k] = draw());
  }

  Mlp mlp(const std::string &p, int in, int out) {
    return {ref[p + ".dense_1.W"], ref[p + ".dense_1.b"], ref[p + ".dense_2.W"],
            ref[p + ".dense_2.b"], in, H, out, {}, {}, {}, {}};
  }

  Mat generate() {
    Mat a = G.forward(zs, B);
    for (double &v : a)
      v = sigmoid(v);
    return a;
  }

  /// Checks the compiled step's outputs for `player` against reference gradients.
  void expectAdamStep(const rt::Executable &exe, const std::string &player,
                      const std::map<std::string, Mat> &grads) {
    for (auto &[local, g] : grads) {
      std::string name = player + "." + local;
      const float *m = exe.output(name + "@adam.m");
      const float *p = exe.output(name);
      ASSERT_TRUE(m && p) << name;
      double scale = 1e-12, worst = 0;
      for (double v : g)
        scale = std::max(scale, std::fabs(v));
      for (size_t k = 0; k < g.size(); ++k)
        worst = std::max(worst, std::fabs(m[k] - 0.1 * g[k]) / (0.1 * scale));
      EXPECT_LT(worst, 1e-4) << "gradient of " << name;
      // Adam's first step moves each weight by lr * g / (|g| + eps), g the step's own
      // gradient (checked above; tiny gradients are too noisy in f32 to compare signs).
      const Mat &p0 = ref.at(name);
      for (size_t k = 0; k < g.size(); ++k) {
        double gj = m[k] / 0.1;
        double step = 1e-3 * gj / (std::fabs(gj) + 1e-8);
        EXPECT_NEAR(p[k], p0[k] - step, 1e-4 * std::max(1e-3, std::fabs(p0[k])))
            << name << "[" << k << "]";
        if (::testing::Test::HasFailure())
          return;
      }
    }
  }

  driver::Session s;
  std::vector<rt::StepFunction> fns;
  rt::Store store;
  std::map<std::string, Mat> ref;
  Mat xs, zs;
  Mlp G, D;
};

TEST_F(StepReference, DiscriminatorStepMatchesHandWrittenStep) {
  rt::Executable exe(fns[0], store);
  exe.fillWritten(std::numeric_limits<float>::quiet_NaN()); // no kernel may read them unwritten
  exe.run();

  // loss = -(mean log sigmoid(D(x)) + mean log(1 - sigmoid(D(G(z)))))
  Mat fake = generate();
  Mat aReal = D.forward(xs, B);
  std::map<std::string, Mat> grads;
  Mat dReal(B), dFake(B);
  double loss = 0;
  for (int r = 0; r < B; ++r) {
    loss += (softplus(-aReal[r])) / B;
    dReal[r] = -(1 - sigmoid(aReal[r])) / B;
  }
  D.backward(dReal, B, grads, false);
  Mat aFake = D.forward(fake, B);
  for (int r = 0; r < B; ++r) {
    loss += softplus(aFake[r]) / B;
    dFake[r] = sigmoid(aFake[r]) / B;
  }
  D.backward(dFake, B, grads, true);

  EXPECT_NEAR(exe.output("loss")[0], loss, 1e-4 * std::fabs(loss));
  expectAdamStep(exe, "D", grads);
}

TEST_F(StepReference, GeneratorStepMatchesHandWrittenStep) {
  rt::Executable exe(fns[1], store);
  exe.fillWritten(std::numeric_limits<float>::quiet_NaN()); // no kernel may read them unwritten
  exe.run();

  // loss = -mean log sigmoid(D(G(z))), differentiated through D into G.
  Mat fake = generate();
  Mat a = D.forward(fake, B);
  double loss = 0;
  Mat dA(B);
  for (int r = 0; r < B; ++r) {
    loss += softplus(-a[r]) / B;
    dA[r] = -(1 - sigmoid(a[r])) / B;
  }
  std::map<std::string, Mat> dGrads, gGrads;
  Mat dFake = D.backward(dA, B, dGrads, false);
  for (size_t k = 0; k < dFake.size(); ++k)
    dFake[k] *= fake[k] * (1 - fake[k]); // through the sigmoid output
  G.backward(dFake, B, gGrads, false);

  EXPECT_NEAR(exe.output("loss")[0], loss, 1e-4 * std::fabs(loss));
  expectAdamStep(exe, "G", gGrads);
  // The G step never updates D.
  EXPECT_EQ(exe.output("D.dense_1.W"), nullptr);
}

} // namespace
