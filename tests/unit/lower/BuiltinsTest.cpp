//===- BuiltinsTest.cpp - the composite builtins compute what they say ----===//
//
// softmax, log_softmax, max, slice, concat, per-sample matmul and transpose, upsample and
// avg_pool are elaborated from .gan into several graph ops. Each test lowers an
// objective of the data `x` alone from .gan source, runs it through canonicalize,
// simplify and the JIT, and compares the value with the same formula computed here in
// double precision. (Each op's own derivative is checked by OpContractTest.) The stdlib's
// parameter-free layers and losses are checked the same way, and so is the reuse of a
// user function's call that depends on its arguments alone.
//
//===----------------------------------------------------------------------===//
#include "JitUtil.h"
#include "TestUtil.h"
#include "driver/Session.h"
#include "opt/Simplify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace ganc;

namespace {

/// Four samples of four values, one of them saturating any exp.
const std::vector<float> kX = {1000, -1000, 0, 5, 1, 2, 3, 4, -1, 0.5f, 0.25f, -2, 7, 7, -3, 0};
constexpr int kBatch = 4, kSize = 4;

/// The D step program of `model` (written to a fresh folder named after `tag`) at batch
/// `batch`, canonicalized and simplified as the pipeline leaves it before autodiff; null
/// after reporting why it failed.
ir::Graph *dStepOf(driver::Session &s, const std::string &tag, const std::string &model, int64_t batch) {
  std::string dir = test::freshDir(tag);
  if (!s.analyze(test::writeFile(dir + "/m.gan", model)) || !s.lower(batch)) {
    std::ostringstream os;
    s.diags().print(os);
    ADD_FAILURE() << model << ":\n" << os.str();
    return nullptr;
  }
  s.canonicalize();
  opt::simplify(*s.model().dStep);
  return s.model().dStep.get();
}

/// The value of `objective` (a scalar of x, x of shape [4] per sample) at kX, with
/// `functions` declared beside the players.
float objectiveAt(const std::string &objective, const std::string &functions = "") {
  std::string text = R"(import std.nn
import std.losses
data  x ~ idx("none", shape = [4])
noise z ~ normal(0, 1, [3])
)" + functions + R"(
generator G(z: [3]) -> [4] {
    return dense(z, 4)
}
discriminator D(x: [4]) -> [1] {
    return dense(x, 1)
}
game {
    D minimizes )" + objective +
                     R"(
    G minimizes mean(D(G(z)))
}
)";
  driver::Session s;
  ir::Graph *g = dStepOf(s, "builtins", text, kBatch);
  if (!g)
    return NAN;
  auto out = test::runGraph(*g, {{"x", kX}});
  return out.at("loss").at(0);
}

double row(int i, int j) { return kX[static_cast<size_t>(i * kSize + j)]; }

TEST(Builtins, LogSoftmaxIsFiniteForHugeLogits) {
  // log(softmax(x)) is rewritten to log_softmax: finite although exp(1000) overflows.
  double want = 0;
  for (int i = 0; i < kBatch; ++i) {
    double top = row(i, 0);
    for (int j = 1; j < kSize; ++j)
      top = std::max(top, row(i, j));
    double s = 0;
    for (int j = 0; j < kSize; ++j)
      s += std::exp(row(i, j) - top);
    for (int j = 0; j < kSize; ++j)
      want += row(i, j) - top - std::log(s);
  }
  for (const char *form : {"sum(log(softmax(x)))", "sum(log_softmax(x))"}) {
    float got = objectiveAt(form);
    EXPECT_TRUE(std::isfinite(got)) << form;
    EXPECT_NEAR(got, want, 1e-3 * std::fabs(want)) << form;
  }
}

TEST(Builtins, PerSampleScalarsSpreadOverTheSampleNotTheBatch) {
  // mean(x, axes = [0]) is one value per sample; x minus it is centered per sample. With
  // as many samples as features (4 and 4) a batch-first mix-up would still compile.
  double squares = 0;
  for (int i = 0; i < kBatch; ++i) {
    double m = 0;
    for (int j = 0; j < kSize; ++j)
      m += row(i, j) / kSize;
    for (int j = 0; j < kSize; ++j)
      squares += (row(i, j) - m) * (row(i, j) - m);
  }
  EXPECT_NEAR(objectiveAt("sum(x - mean(x, axes = [0]))"), 0, 1e-2);
  EXPECT_NEAR(objectiveAt("sum((x - mean(x, axes = [0])) ** 2)"), squares, 1e-4 * squares);
  // M [2, 2] minus its row means [2]: NumPy aligns [2] with the last axis, so element
  // (r, c) loses the mean of row c.
  double rows = 0;
  for (int i = 0; i < kBatch; ++i)
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 2; ++c) {
        double d = row(i, 2 * r + c) - (row(i, 2 * c) + row(i, 2 * c + 1)) / 2;
        rows += d * d;
      }
  EXPECT_NEAR(objectiveAt("sum((reshape(x, [2, 2]) - mean(reshape(x, [2, 2]), axes = [1])) ** 2)"), rows,
              1e-5 * rows);
}

TEST(Builtins, SoftmaxRowsSumToOne) {
  EXPECT_NEAR(objectiveAt("sum(softmax(x))"), kBatch, 1e-5);
  // The first probability of each sample (1 for the first: 1000 dwarfs the rest).
  double first = 0;
  for (int i = 0; i < kBatch; ++i) {
    double top = row(i, 0), s = 0;
    for (int j = 1; j < kSize; ++j)
      top = std::max(top, row(i, j));
    for (int j = 0; j < kSize; ++j)
      s += std::exp(row(i, j) - top);
    first += std::exp(row(i, 0) - top) / s;
  }
  EXPECT_NEAR(objectiveAt("sum(slice(softmax(x), 0, 0, 1))"), first, 1e-5);
}

TEST(Builtins, MaxOverAxesAndEverything) {
  double rows = 0, all = -1e30;
  for (int i = 0; i < kBatch; ++i) {
    double top = -1e30;
    for (int j = 0; j < kSize; ++j)
      top = std::max(top, row(i, j)), all = std::max(all, row(i, j));
    rows += top;
  }
  EXPECT_NEAR(objectiveAt("sum(max(x, axes = [0]))"), rows, 1e-3);
  EXPECT_NEAR(objectiveAt("sum(max(x, axes = [-1]))"), rows, 1e-3);
  EXPECT_NEAR(objectiveAt("max(x)"), all, 1e-3);
}

TEST(Builtins, SliceAndConcat) {
  double mid = 0, total = 0;
  for (int i = 0; i < kBatch; ++i) {
    mid += row(i, 1) * row(i, 1) + row(i, 2) * row(i, 2);
    for (int j = 0; j < kSize; ++j)
      total += row(i, j);
  }
  EXPECT_NEAR(objectiveAt("sum(slice(x, 0, 1, 3) * slice(x, 0, 1, 3))"), mid, 1e-3 * mid);
  // concat([x, 2x]): the first half is x, the second 2x.
  EXPECT_NEAR(objectiveAt("sum(slice(concat([x, 2 * x], axis = 0), 0, 0, 4))"), total, 1e-3);
  EXPECT_NEAR(objectiveAt("sum(slice(concat([x, 2 * x], axis = -1), 0, 4, 8))"), 2 * total, 1e-3);
  // Along the second axis of [2, 2] samples: [[a, b, a, b], [c, d, c, d]] weighted by position.
  EXPECT_NEAR(objectiveAt("sum(slice(concat([reshape(x, [2, 2]), reshape(x, [2, 2])], axis = 1), 1, 1, 3))"),
              [&] {
                double s = 0;
                for (int i = 0; i < kBatch; ++i)
                  s += row(i, 1) + row(i, 0) + row(i, 3) + row(i, 2);
                return s;
              }(),
              1e-3);
}

TEST(Builtins, PerSampleMatmulAndTranspose) {
  // Each sample as a 2x2 matrix M: sum of the entries of M M^T and of M^T M.
  double mmt = 0, mtm = 0;
  for (int i = 0; i < kBatch; ++i) {
    double a = row(i, 0), b = row(i, 1), c = row(i, 2), d = row(i, 3);
    mmt += (a * a + b * b) + 2 * (a * c + b * d) + (c * c + d * d);
    mtm += (a * a + c * c) + 2 * (a * b + c * d) + (b * b + d * d);
  }
  EXPECT_NEAR(objectiveAt("sum(matmul(reshape(x, [2, 2]), transpose(reshape(x, [2, 2]))))"), mmt, 1e-3 * mmt);
  EXPECT_NEAR(objectiveAt("sum(matmul(transpose(reshape(x, [2, 2])), reshape(x, [2, 2])))"), mtm, 1e-3 * mtm);
}

TEST(Builtins, UpsampleAndAvgPool) {
  double total = 0, squares = 0;
  for (int i = 0; i < kBatch; ++i) {
    double m = 0;
    for (int j = 0; j < kSize; ++j)
      total += row(i, j), m += row(i, j) / 4;
    squares += m * m;
  }
  // Each pixel becomes a 2x2 block: four times the sum.
  EXPECT_NEAR(objectiveAt("sum(upsample(reshape(x, [1, 2, 2]), factor = 2))"), 4 * total, 1e-2);
  // One 2x2 block per sample: its mean.
  EXPECT_NEAR(objectiveAt("sum(avg_pool(reshape(x, [1, 2, 2]), kernel = 2) ** 2)"), squares, 1e-2);
  // Pooling undoes upsampling.
  EXPECT_NEAR(objectiveAt("sum((avg_pool(upsample(reshape(x, [1, 2, 2]), factor = 2), kernel = 2) - reshape(x, [1, 2, 2])) ** 2)"),
              0, 1e-6);
}

TEST(Stdlib, ElementwiseLayersTakeAnyShape) {
  double leaky = 0, elu = 0;
  for (float v : kX) {
    leaky += v > 0 ? v : 0.2 * v;
    elu += v > 0 ? v : 0.5 * (std::exp(double(v)) - 1);
  }
  EXPECT_NEAR(objectiveAt("sum(leaky_relu(reshape(x, [2, 2]), 0.2))"), leaky, 1e-3);
  EXPECT_NEAR(objectiveAt("sum(leaky_relu(x, 0.2))"), leaky, 1e-3);
  EXPECT_NEAR(objectiveAt("sum(elu(reshape(x, [1, 2, 2]), 0.5))"), elu, 1e-3);
}

TEST(Stdlib, Losses) {
  // Real scores: the first value of each sample; fake scores: the second.
  double hingeD = 0, hingeG = 0, lsD = 0, lsG = 0, w = 0, bce = 0;
  for (int i = 0; i < kBatch; ++i) {
    double r = row(i, 0) / 1000, f = row(i, 1) / 1000 + row(i, 2);
    hingeD += (std::max(0.0, 1 - r) + std::max(0.0, 1 + f)) / kBatch;
    hingeG += -f / kBatch;
    lsD += 0.5 * ((r - 1) * (r - 1) + f * f) / kBatch;
    lsG += 0.5 * (f - 1) * (f - 1) / kBatch;
    w += (r - f) / kBatch;
    bce += (std::log1p(std::exp(-r)) + std::log1p(std::exp(f))) / kBatch;
  }
  const std::string r = "slice(x, 0, 0, 1) / 1000", f = "(slice(x, 0, 1, 2) / 1000 + slice(x, 0, 2, 3))";
  EXPECT_NEAR(objectiveAt("hinge_d(" + r + ", " + f + ")"), hingeD, 1e-5);
  EXPECT_NEAR(objectiveAt("hinge_g(" + f + ")"), hingeG, 1e-5);
  EXPECT_NEAR(objectiveAt("least_squares_d(" + r + ", " + f + ")"), lsD, 1e-5);
  EXPECT_NEAR(objectiveAt("least_squares_g(" + f + ")"), lsG, 1e-5);
  EXPECT_NEAR(objectiveAt("wasserstein(" + r + ", " + f + ")"), w, 1e-5);
  EXPECT_NEAR(objectiveAt("bce_logits_real(" + r + ") + bce_logits_fake(" + f + ")"), bce, 1e-5);
}

TEST(Stdlib, SpectralNormDividesByThePowerIterationsSigma) {
  // D(x) = x W / sigma, sigma = u2^T W v from one power iteration started at the state u:
  // v = W^T u / |W^T u|, u2 = W v / |W v|. The D step also outputs u2 as the new state.
  driver::Session s;
  ir::Graph *dStep = dStepOf(s, "spectral", R"(import std.nn
data  x ~ idx("none", shape = [3])
noise z ~ normal(0, 1, [3])
generator G(z: [3]) -> [3] {
    return z
}
discriminator D(x: [3]) -> [2] {
    param W: [3, 2] ~ normal(1)
    return matmul(x, spectral_norm(W))
}
game {
    D minimizes sum(D(x))
    G minimizes mean(D(G(z)))
}
)", 2);
  ASSERT_TRUE(dStep);
  ir::Graph &g = *dStep;
  const std::vector<float> x = {1, 2, 3, -1, 0.5f, 2}, w = {1, -2, 0.5f, 3, 2, 1}, u = {0.3f, -0.4f, 1.2f};
  auto out = test::runGraph(g, {{"x", x}, {"D.W", w}, {"D.spectral_norm_1.u", u}});

  auto W = [&](int i, int j) { return double(w[static_cast<size_t>(i * 2 + j)]); };
  double v[2] = {}, u2[3] = {}, nv = 0, nu = 0;
  for (int j = 0; j < 2; ++j)
    for (int i = 0; i < 3; ++i)
      v[j] += W(i, j) * u[static_cast<size_t>(i)];
  nv = std::sqrt(v[0] * v[0] + v[1] * v[1]);
  for (double &a : v)
    a /= nv;
  for (int i = 0; i < 3; ++i)
    u2[i] = W(i, 0) * v[0] + W(i, 1) * v[1], nu += u2[i] * u2[i];
  nu = std::sqrt(nu);
  double sigma = 0;
  for (int i = 0; i < 3; ++i)
    u2[i] /= nu, sigma += u2[i] * (W(i, 0) * v[0] + W(i, 1) * v[1]);
  double want = 0;
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 3; ++i)
      want += x[static_cast<size_t>(b * 3 + i)] * (W(i, 0) + W(i, 1)) / sigma;
  EXPECT_NEAR(out.at("loss")[0], want, 1e-4 * std::fabs(want));
  ASSERT_TRUE(out.count("D.spectral_norm_1.u"));
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(out.at("D.spectral_norm_1.u")[static_cast<size_t>(i)], u2[i], 1e-5);
  // Fed back step after step, the state converges and sigma becomes W's largest singular
  // value: sqrt of the largest eigenvalue of W^T W (2x2, in closed form).
  std::vector<float> state = u;
  for (int step = 0; step < 30; ++step)
    state = test::runGraph(g, {{"x", x}, {"D.W", w}, {"D.spectral_norm_1.u", state}}).at("D.spectral_norm_1.u");
  double a = 0, c = 0, d = 0; // W^T W = [[a, c], [c, d]]
  for (int i = 0; i < 3; ++i)
    a += W(i, 0) * W(i, 0), c += W(i, 0) * W(i, 1), d += W(i, 1) * W(i, 1);
  double top = std::sqrt((a + d) / 2 + std::sqrt((a - d) * (a - d) / 4 + c * c));
  double converged = 0;
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 3; ++i)
      converged += x[static_cast<size_t>(b * 3 + i)] * (W(i, 0) + W(i, 1)) / top;
  out = test::runGraph(g, {{"x", x}, {"D.W", w}, {"D.spectral_norm_1.u", state}});
  EXPECT_NEAR(out.at("loss")[0], converged, 1e-4 * std::fabs(converged));
}

TEST(Builtins, DropoutMasksInTrainingAndIsTheIdentityWhenSampling) {
  // Each dropout call in a step program reads its own mask input; the runtime's masks
  // hold 0 or 1 / (1 - p). The sampler has no mask: dropout passes x through.
  driver::Session s;
  ir::Graph *dStep = dStepOf(s, "dropout", R"(data  x ~ idx("none", shape = [4])
noise z ~ normal(0, 1, [4])
generator G(z: [4]) -> [4] {
    param b: [4] ~ zeros
    return dropout(z, 0.5) + b
}
discriminator D(x: [4]) -> [4] {
    param b: [4] ~ zeros
    return dropout(x, 0.25) + b
}
game {
    D minimizes sum(D(x)) + sum(D(x))
    G minimizes mean(D(G(z)))
}
)", kBatch);
  ASSERT_TRUE(dStep);
  const auto &masks = s.model().masks;
  ASSERT_EQ(masks.size(), 4u); // D twice in D's step; G and D in G's step
  EXPECT_EQ(masks[0].name, "D.dropout_1@mask.D.1");
  EXPECT_EQ(masks[1].name, "D.dropout_1@mask.D.2");
  EXPECT_EQ(masks[0].p, 0.25);
  EXPECT_EQ(masks[2].p, 0.5);
  EXPECT_EQ(masks[2].shape, (ir::Shape{4}));
  ir::Graph &g = *dStep;
  std::vector<float> m1(kX.size()), m2(kX.size()), b(4, 0.f);
  for (size_t i = 0; i < kX.size(); ++i)
    m1[i] = i % 3 ? 4.f / 3 : 0.f, m2[i] = i % 2 ? 4.f / 3 : 0.f;
  auto out = test::runGraph(g, {{"x", kX}, {"D.b", b}, {masks[0].name, m1}, {masks[1].name, m2}});
  double want = 0;
  for (size_t i = 0; i < kX.size(); ++i)
    want += kX[i] * (m1[i] + m2[i]);
  EXPECT_NEAR(out.at("loss")[0], want, 1e-3);
  auto sampler = s.sampler(kBatch, "");
  ASSERT_TRUE(sampler);
  const std::vector<float> z = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  auto sample = test::runGraph(*sampler, {{"z", z}, {"G.b", b}});
  EXPECT_EQ(sample.at("sample"), z);
}

TEST(Functions, ACallOfItsArgumentsAloneIsElaboratedOnce) {
  // f_k(v) = f_{k-1}(v) + f_{k-1}(v), 40 deep: inlined call by call, 2^40 bodies. Calls
  // that declare no parameter, state or dropout are a function of their arguments, and
  // the second call with the same ones reuses the first's nodes.
  std::string functions = "fn f0(v: tensor) {\n    return v * 0.5\n}\n";
  for (int k = 1; k <= 40; ++k)
    functions += "fn f" + std::to_string(k) + "(v: tensor) {\n    return f" +
                 std::to_string(k - 1) + "(v) + f" + std::to_string(k - 1) + "(v)\n}\n";
  double want = 0;
  for (float v : kX)
    want += std::ldexp(static_cast<double>(v) * 0.5, 40);
  EXPECT_NEAR(objectiveAt("sum(f40(x))", functions), want, 1e-6 * std::ldexp(1000.0, 40));
}

TEST(Functions, CallsThatDeclareParametersOrDropoutAreElaboratedEachTime) {
  // The same argument twice: two layers with weights of their own, two dropout masks.
  driver::Session s;
  ir::Graph *dStep = dStepOf(s, "calls", R"(import std.nn
data  x ~ idx("none", shape = [4])
noise z ~ normal(0, 1, [4])
fn drop(v: tensor) {
    return dropout(v, 0.25)
}
generator G(z: [4]) -> [4] {
    return dense(z, 4)
}
discriminator D(x: [4]) -> [1] {
    return dense(drop(x), 1) + dense(drop(x), 1)
}
game {
    D minimizes mean(D(x))
    G minimizes mean(D(G(z)))
}
)",
                             kBatch);
  ASSERT_TRUE(dStep);
  EXPECT_TRUE(s.model().params.find("D.dense_1.W"));
  EXPECT_TRUE(s.model().params.find("D.dense_2.W"));
  EXPECT_EQ(s.model().params.params.size(), 6u); // G's W and b, D's two of each
  std::vector<std::string> dMasks;
  for (const auto &m : s.model().masks)
    if (m.name.find("@mask.D.") != std::string::npos)
      dMasks.push_back(m.name);
  EXPECT_EQ(dMasks, (std::vector<std::string>{"D.drop_1.dropout_1@mask.D.1",
                                              "D.drop_2.dropout_1@mask.D.2"}));
}

TEST(Stdlib, ClassConditionalBatchNormScalesAndShiftsByClass) {
  // cbn2d(x, y): batch norm of each channel over the batch and the h x w positions, then
  // gain 1 + y Wg and bias y Wb of the sample's class y. Two samples of 2 channels of
  // 1 x 2 positions, classes 0 and 1; embedding(y, 2) picks the class's row of E.
  driver::Session s;
  ir::Graph *dStep = dStepOf(s, "cbn", R"(import std.nn
data  x ~ idx("none", shape = [2, 1, 2])
data  y ~ labels(x, classes = 2, path = "none")
noise z ~ normal(0, 1, [2, 1, 2])
generator G(z: [2, 1, 2]) -> [2, 1, 2] {
    param b: [1] ~ zeros
    return z + b
}
discriminator D(x: [2, 1, 2], y: [2]) -> [2, 1, 2] {
    return cbn2d(x, embedding(y, 3))
}
game {
    D minimizes sum(D(x, y) * x)
    G minimizes mean(G(z))
}
)", 2);
  ASSERT_TRUE(dStep);
  ir::Graph &g = *dStep;
  const std::vector<float> x = {1, 3, -2, 0, 5, 7, 2, 2}, y = {1, 0, 0, 1};
  const std::vector<float> e = {1, 2, 0.5f, -1, 0, 3};            // E [2 classes, 3]
  const std::vector<float> wg = {0.1f, -0.2f, 0.3f, 0.4f, 0, 1};  // Wg [3, 2 channels]
  const std::vector<float> wb = {1, 2, -1, 0.5f, 0.25f, 0};       // Wb [3, 2]
  auto out = test::runGraph(g, {{"x", x}, {"y", y}, {"D.embedding_1.E", e}, {"D.cbn2d_1.Wg", wg},
                                {"D.cbn2d_1.Wb", wb}, {"D.cbn2d_1.batch_norm_1.running_mean", {0, 0}},
                                {"D.cbn2d_1.batch_norm_1.running_var", {1, 1}}});
  double want = 0;
  for (int c = 0; c < 2; ++c) {
    double m = 0, v = 0;
    for (int n = 0; n < 2; ++n)
      for (int p = 0; p < 2; ++p)
        m += x[static_cast<size_t>(n * 4 + c * 2 + p)] / 4.0;
    for (int n = 0; n < 2; ++n)
      for (int p = 0; p < 2; ++p) {
        double d = x[static_cast<size_t>(n * 4 + c * 2 + p)] - m;
        v += d * d / 4.0;
      }
    for (int n = 0; n < 2; ++n) {
      int cls = n == 0 ? 0 : 1;
      double gain = 1, bias = 0;
      for (int j = 0; j < 3; ++j) {
        double emb = e[static_cast<size_t>(cls * 3 + j)];
        gain += emb * wg[static_cast<size_t>(j * 2 + c)];
        bias += emb * wb[static_cast<size_t>(j * 2 + c)];
      }
      for (int p = 0; p < 2; ++p) {
        double xv = x[static_cast<size_t>(n * 4 + c * 2 + p)];
        want += ((xv - m) / std::sqrt(v + 1e-5) * gain + bias) * xv;
      }
    }
  }
  EXPECT_NEAR(out.at("loss")[0], want, 1e-4 * std::fabs(want));
}

TEST(Stdlib, OrthogonalRegularizationPenalizesOffDiagonalGramEntries) {
  // orthogonal_reg(D) over D's weights of rank >= 2 (the bias is left out): a [2, 3] W is
  // wide, so its Gram is W W^T ([2, 2]); a [2, 1, 2, 2] kernel is seen as [2, 4], wide
  // too; a tall [3, 2] T has the Gram T^T T. The penalty is twice the squared
  // off-diagonal entry of each Gram.
  driver::Session s;
  ir::Graph *dStep = dStepOf(s, "ortho", R"(data  x ~ idx("none", shape = [2])
noise z ~ normal(0, 1, [2])
generator G(z: [2]) -> [2] {
    return z
}
discriminator D(x: [2]) -> [3] {
    param W: [2, 3] ~ orthogonal
    param K: [2, 1, 2, 2] ~ orthogonal
    param T: [3, 2] ~ orthogonal
    param b: [3] ~ zeros
    return matmul(x, W) + b + 0 * sum(K) + 0 * sum(T)
}
game {
    D minimizes mean(D(x)) + orthogonal_reg(D)
    G minimizes mean(D(G(z)))
}
)", 1);
  ASSERT_TRUE(dStep);
  ir::Graph &g = *dStep;
  const std::vector<float> x = {0, 0}, w = {1, 2, 3, -1, 0.5f, 2}, k = {1, 0, 2, -1, 3, 1, 0, 2}, b = {0, 0, 0};
  const std::vector<float> t = {1, 2, -1, 0.5f, 3, 1}, tT = {1, -1, 3, 2, 0.5f, 1}; // T and its transpose
  auto out = test::runGraph(g, {{"x", x}, {"D.W", w}, {"D.K", k}, {"D.T", t}, {"D.b", b}});
  auto offDiagonal = [](const std::vector<float> &m, int cols) {
    double dot = 0;
    for (int t = 0; t < cols; ++t)
      dot += double(m[static_cast<size_t>(t)]) * m[static_cast<size_t>(cols + t)];
    return 2 * dot * dot;
  };
  double want = offDiagonal(w, 3) + offDiagonal(k, 4) + offDiagonal(tT, 3);
  EXPECT_NEAR(out.at("loss")[0], want, 1e-4 * want);
}

} // namespace
