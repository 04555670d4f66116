//===- TrainTest.cpp - the ganc command end to end on data it makes -------===//
//
// Writes a small image dataset in IDX format and a model for it, then runs
// `ganc train`, `ganc sample` and `ganc check` as a user would, through runCommand.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "driver/Commands.h"
#include "io/Idx.h"
#include "io/Npy.h"
#include "io/SafeTensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

using namespace ganc;

namespace {

/// 8x8 images of a bright horizontal or vertical bar at a random place; with
/// `labels`, also their classes (1 for vertical bars, 0 for horizontal ones).
std::string makeBars(const std::string &dir, int count, bool labels = false) {
  std::mt19937 rng(5);
  std::vector<uint8_t> px(static_cast<size_t>(count) * 64, 0), classes(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    int at = static_cast<int>(rng() % 8);
    bool vertical = rng() % 2;
    classes[static_cast<size_t>(i)] = vertical;
    for (int k = 0; k < 8; ++k)
      px[i * 64 + (vertical ? k * 8 + at : at * 8 + k)] = 255;
  }
  rt::writeIdxU8(dir + "/train-images-idx3-ubyte", {count, 8, 8}, px.data());
  if (labels)
    rt::writeIdxU8(dir + "/train-labels-idx1-ubyte", {count}, classes.data());
  return dir;
}

/// How vertical an 8x8 image is: the spread of its column means minus that of its rows.
double verticality(const float *img) {
  double col[8] = {}, row[8] = {};
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      col[c] += img[r * 8 + c] / 8, row[r] += img[r * 8 + c] / 8;
  auto spread = [](const double *v) {
    double m = 0, s = 0;
    for (int i = 0; i < 8; ++i)
      m += v[i] / 8;
    for (int i = 0; i < 8; ++i)
      s += (v[i] - m) * (v[i] - m) / 8;
    return s;
  };
  return spread(col) - spread(row);
}

std::string barsModel(const std::string &dir) {
  return test::writeFile(dir + "/bars.gan", R"(import std.nn
data  x ~ idx("data/train-images-idx3-ubyte", scale = [0, 1], shape = [64])
noise z ~ normal(0, 1, [16])

generator G(z: [16]) -> [64] {
    return sigmoid(dense(relu(dense(z, 32)), 64))
}
discriminator D(x: [64]) -> [1] {
    return dense(leaky_relu(dense(x, 32), 0.2), 1)
}
game {
    D maximizes mean(log(sigmoid(D(x)))) + mean(log(1 - sigmoid(D(G(z)))))
    G maximizes mean(log(sigmoid(D(G(z)))))
}
train {
    batch 32
    steps 300
    seed 9
    optimize D with adam(lr = 2e-3, beta1 = 0.5)
    optimize G with adam(lr = 2e-3, beta1 = 0.5)
    sample 2x2 every 150
    log every 50
}
)");
}

using test::CommandResult;
using test::ganc;

struct Losses {
  std::vector<double> d, g;
};

Losses parseLosses(const std::string &log) {
  Losses l;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    long long step, total;
    double d, g;
    if (std::sscanf(line.c_str(), "step %lld/%lld D loss %lf G loss %lf", &step, &total, &d, &g) == 4) {
      l.d.push_back(d);
      l.g.push_back(g);
    }
  }
  return l;
}

TEST(Train, LossesAreFiniteAndMove) {
  std::string dir = test::freshDir("train");
  std::filesystem::create_directories(dir + "/data");
  makeBars(dir + "/data", 512);
  std::string model = barsModel(dir);

  CommandResult r = ganc({"train", model, "--out", dir + "/out", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  Losses l = parseLosses(r.out);
  ASSERT_EQ(l.d.size(), 6u) << r.out;
  for (size_t i = 0; i < l.d.size(); ++i) {
    EXPECT_TRUE(std::isfinite(l.d[i]) && std::isfinite(l.g[i])) << r.out;
  }
  // At the start D cannot tell real from fake: both losses near 2 ln 2 and ln 2.
  // Training moves them away from where they started.
  double moved = 0;
  for (size_t i = 1; i < l.d.size(); ++i)
    moved = std::max(moved, std::fabs(l.d[i] - l.d[0]) + std::fabs(l.g[i] - l.g[0]));
  EXPECT_GT(moved, 0.05) << r.out;

  EXPECT_TRUE(std::filesystem::exists(dir + "/out/samples_0000150.png"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/out/samples_0000300.png"));
  // The report: two charts of 300 steps and both grids, inline; finished, so no reload.
  std::ifstream rep(dir + "/out/report.html");
  std::string html((std::istreambuf_iterator<char>(rep)), {});
  auto count = [&](const std::string &what) {
    size_t n = 0;
    for (size_t at = html.find(what); at != std::string::npos; at = html.find(what, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("<svg"), 2u);
  EXPECT_EQ(count("<polyline"), 4u);
  EXPECT_EQ(count("src='data:image/png;base64,iVBORw0KGgo"), 2u); // PNG signature
  EXPECT_EQ(count("http-equiv='refresh'"), 0u);
  // metrics.csv: a header and a row per step, with both gradient norms and the two terms
  // of D's objective (quoted: they are source text), whose sum is D's objective, the
  // negated loss (D maximizes).
  std::ifstream csv(dir + "/out/metrics.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "step,time_s,d_loss,g_loss,d_grad_norm,g_grad_norm,\"D: mean(log(sigmoid(D(x))))\","
                    "\"D: mean(log(1 - sigmoid(D(G(z)))))\"");
  size_t rows = 0;
  for (std::string line; std::getline(csv, line);) {
    ++rows;
    long long step;
    double time, dLoss, gLoss, dNorm, gNorm, real, fake;
    ASSERT_EQ(std::sscanf(line.c_str(), "%lld,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &step, &time, &dLoss, &gLoss, &dNorm,
                          &gNorm, &real, &fake), 8) << line;
    EXPECT_NEAR(-(real + fake), dLoss, 1e-4 * std::max(1.0, std::fabs(dLoss))) << line;
  }
  EXPECT_EQ(rows, 300u);
  rt::SafeTensorsFile ck = rt::readSafeTensors(dir + "/out/checkpoint.safetensors");
  ASSERT_NE(ck.find("G.dense_1.W"), nullptr);
  EXPECT_EQ(ck.find("G.dense_1.W")->shape, (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(ck.metadata.at("step"), "300");

  // Samples from the checkpoint: N rows of 64 values in the data's range.
  CommandResult s = ganc({"sample", model, "--checkpoint", dir + "/out/checkpoint.safetensors", "-n", "10",
                "--out", dir + "/s.npy"});
  ASSERT_EQ(s.code, 0) << s.err;
  rt::NpyArray a = rt::readNpyF32(dir + "/s.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{10, 64}));
  for (float v : a.data)
    EXPECT_TRUE(v >= 0 && v <= 1);
}

TEST(Train, ConditionalGeneratorFollowsItsLabels) {
  // A conditional GAN on the bars: G(z, c) with c categorical, D(x, y) with y the labels
  // of the data. After training, asking for class 1 gives vertical bars and class 0
  // horizontal ones.
  std::string dir = test::freshDir("conditional");
  std::filesystem::create_directories(dir + "/data");
  makeBars(dir + "/data", 512, /*labels=*/true);
  std::string model = test::writeFile(dir + "/cbars.gan", R"(import std.nn
data  x ~ mnist("data", scale = [0, 1], shape = [64])
data  y ~ labels(x, classes = 2)
noise z ~ normal(0, 1, [16])
noise c ~ categorical(2)
generator G(z: [16], c: [2]) -> [64] {
    return sigmoid(dense(relu(dense(concat([z, c]), 64)), 64))
}
discriminator D(x: [64], y: [2]) -> [1] {
    return dense(leaky_relu(dense(concat([x, 4 * y]), 64), 0.2), 1)
}
game {
    D maximizes mean(log(sigmoid(D(x, y)))) + mean(log(1 - sigmoid(D(G(z, c), c))))
    G maximizes mean(log(sigmoid(D(G(z, c), c))))
}
train {
    batch 64
    steps 600
    seed 3
    optimize D with adam(lr = 2e-3, beta1 = 0.5)
    optimize G with adam(lr = 2e-3, beta1 = 0.5)
    sample 2x2 every 600
    log every 100
}
)");
  CommandResult r = ganc({"train", model, "--out", dir + "/out"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string ckpt = dir + "/out/checkpoint.safetensors";
  std::vector<float> classes(64);
  for (size_t i = 0; i < classes.size(); ++i)
    classes[i] = i < 32 ? 0.f : 1.f;
  rt::writeNpyF32(dir + "/labels.npy", classes.data(), {64});
  CommandResult s = ganc({"sample", model, "--checkpoint", ckpt, "-n", "64", "--labels", dir + "/labels.npy",
                          "--out", dir + "/s.npy"});
  ASSERT_EQ(s.code, 0) << s.err;
  rt::NpyArray a = rt::readNpyF32(dir + "/s.npy");
  ASSERT_EQ(a.shape, (std::vector<int64_t>{64, 64}));
  double horizontal = 0, vertical = 0;
  for (int i = 0; i < 64; ++i)
    (i < 32 ? horizontal : vertical) += verticality(&a.data[static_cast<size_t>(i) * 64]) / 32;
  EXPECT_LT(horizontal, 0) << "class 0 should look horizontal";
  EXPECT_GT(vertical, 0) << "class 1 should look vertical";

  // One-hot rows give the same samples as class numbers; a class out of range and a
  // wrong shape are refused, naming the file.
  std::vector<float> oneHot(64 * 2, 0.f);
  for (size_t i = 0; i < 64; ++i)
    oneHot[i * 2 + (i < 32 ? 0 : 1)] = 1.f;
  rt::writeNpyF32(dir + "/onehot.npy", oneHot.data(), {64, 2});
  ASSERT_EQ(ganc({"sample", model, "--checkpoint", ckpt, "-n", "64", "--labels", dir + "/onehot.npy", "--out",
                  dir + "/t.npy"}).code, 0);
  EXPECT_EQ(rt::readNpyF32(dir + "/t.npy").data, a.data);
  classes[5] = 2;
  rt::writeNpyF32(dir + "/bad.npy", classes.data(), {64});
  CommandResult bad = ganc({"sample", model, "--checkpoint", ckpt, "-n", "64", "--labels", dir + "/bad.npy", "--out",
                            dir + "/u.npy"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("bad.npy: entry 5 is 2"), std::string::npos) << bad.err;
  bad = ganc({"sample", model, "--checkpoint", ckpt, "-n", "32", "--labels", dir + "/onehot.npy", "--out",
              dir + "/u.npy"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("onehot.npy: holds an array of shape [64,2]"), std::string::npos) << bad.err;
}

TEST(Train, SampleFromGivenLatentsExportAndTruncation) {
  std::string dir = test::freshDir("latents");
  std::filesystem::create_directories(dir + "/data");
  makeBars(dir + "/data", 256);
  std::string model = barsModel(dir);
  ASSERT_EQ(ganc({"train", model, "--steps", "30", "--out", dir + "/out"}).code, 0);
  std::string ckpt = dir + "/out/checkpoint.safetensors";

  // The same latent vectors give the same samples, whatever the seed.
  std::vector<float> z(5 * 16);
  for (size_t i = 0; i < z.size(); ++i)
    z[i] = std::sin(static_cast<float>(i));
  rt::writeNpyF32(dir + "/z.npy", z.data(), {5, 16});
  ASSERT_EQ(ganc({"sample", model, "--checkpoint", ckpt, "--z", dir + "/z.npy", "--out", dir + "/a.npy"}).code, 0);
  ASSERT_EQ(ganc({"sample", model, "--checkpoint", ckpt, "--z", dir + "/z.npy", "--out", dir + "/b.npy", "--seed",
                  "99"}).code, 0);
  rt::NpyArray a = rt::readNpyF32(dir + "/a.npy"), b = rt::readNpyF32(dir + "/b.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{5, 64}));
  EXPECT_EQ(a.data, b.data);
  // A latent file of the wrong shape is refused, naming the file and both shapes.
  rt::writeNpyF32(dir + "/bad.npy", z.data(), {16, 5});
  CommandResult bad = ganc({"sample", model, "--checkpoint", ckpt, "--z", dir + "/bad.npy", "--out", dir + "/c.npy"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("bad.npy: holds an array of shape [16,5]"), std::string::npos) << bad.err;
  // Truncation changes the draw; a non-positive value is misuse.
  ASSERT_EQ(ganc({"sample", model, "--checkpoint", ckpt, "-n", "5", "--out", dir + "/t.npy", "--truncation", "0.5"}).code, 0);
  EXPECT_EQ(ganc({"sample", model, "--checkpoint", ckpt, "-n", "5", "--out", dir + "/t.npy", "--truncation", "0"}).code, 2);

  // export: the generator's tensors only.
  ASSERT_EQ(ganc({"export", model, "--checkpoint", ckpt, "--out", dir + "/g.safetensors"}).code, 0);
  rt::SafeTensorsFile g = rt::readSafeTensors(dir + "/g.safetensors");
  EXPECT_EQ(g.tensors.size(), 4u);
  for (const rt::NamedTensor &t : g.tensors)
    EXPECT_EQ(t.name.rfind("G.", 0), 0u) << t.name;
  EXPECT_EQ(g.metadata.at("player"), "G");
}

/// A checkpoint's tensors by name.
std::map<std::string, std::vector<float>> tensorsOf(const std::string &path) {
  std::map<std::string, std::vector<float>> out;
  for (rt::NamedTensor &t : rt::readSafeTensors(path).tensors)
    out[t.name] = std::move(t.data);
  return out;
}

TEST(Train, GeneratorMovingAverageFollowsItsRecurrenceAndIsWhatExportGives) {
  std::string dir = test::freshDir("ema");
  std::filesystem::create_directories(dir + "/data");
  makeBars(dir + "/data", 256);
  std::string model = barsModel(dir);
  std::string text = test::readFile(model);
  text.replace(text.find("    seed 9"), 10, "    seed 9\n    ema 0.9");
  test::writeFile(model, text);
  // The first G update copies the weights; the second moves the average a share
  // w = 1 - min(0.9, 1 / 11) = 10 / 11 of the way to the new weights.
  ASSERT_EQ(ganc({"train", model, "--steps", "1", "--out", dir + "/out"}).code, 0);
  auto one = tensorsOf(dir + "/out/checkpoint.safetensors");
  ASSERT_EQ(ganc({"train", model, "--steps", "2", "--out", dir + "/out", "--resume"}).code, 0);
  auto two = tensorsOf(dir + "/out/checkpoint.safetensors");
  int averages = 0;
  for (const auto &[name, avg] : two) {
    if (name.size() < 4 || name.compare(name.size() - 4, 4, "@ema") != 0)
      continue;
    ++averages;
    std::string param = name.substr(0, name.size() - 4);
    EXPECT_EQ(param.rfind("G.", 0), 0u) << name;
    EXPECT_EQ(one.at(name), one.at(param)) << name;
    const std::vector<float> &before = one.at(name), &now = two.at(param);
    ASSERT_EQ(avg.size(), now.size());
    for (size_t i = 0; i < avg.size(); ++i)
      ASSERT_NEAR(avg[i], before[i] + (now[i] - before[i]) * 10.0 / 11.0, 1e-6) << name << "[" << i << "]";
    EXPECT_NE(avg, now) << name;
  }
  EXPECT_EQ(averages, 4); // G's two dense layers, W and b
  // export gives the averages under the parameters' names.
  ASSERT_EQ(ganc({"export", model, "--checkpoint", dir + "/out/checkpoint.safetensors", "--out",
                  dir + "/g.safetensors"}).code, 0);
  rt::SafeTensorsFile g = rt::readSafeTensors(dir + "/g.safetensors");
  ASSERT_EQ(g.tensors.size(), 4u);
  for (const rt::NamedTensor &t : g.tensors)
    EXPECT_EQ(t.data, two.at(t.name + "@ema")) << t.name;
  EXPECT_EQ(g.metadata.at("weights"), "moving average");
}

TEST(Train, DropoutModelTrainsAndRepeatsWithTheSeed) {
  std::string dir = test::freshDir("dropout");
  std::filesystem::create_directories(dir + "/data");
  makeBars(dir + "/data", 256);
  std::string model = barsModel(dir);
  std::string text = test::readFile(model);
  const std::string hidden = "leaky_relu(dense(x, 32), 0.2)";
  text.replace(text.find(hidden), hidden.size(), "dropout(" + hidden + ", 0.3)");
  test::writeFile(model, text);
  CommandResult a = ganc({"train", model, "--steps", "20", "--out", dir + "/a"});
  ASSERT_EQ(a.code, 0) << a.err;
  CommandResult b = ganc({"train", model, "--steps", "20", "--out", dir + "/b"});
  ASSERT_EQ(b.code, 0) << b.err;
  Losses la = parseLosses(a.out + a.err), lb = parseLosses(b.out + b.err);
  ASSERT_FALSE(la.d.empty());
  EXPECT_EQ(la.d, lb.d);
  EXPECT_TRUE(std::isfinite(la.d.back()) && std::isfinite(la.g.back()));
  EXPECT_EQ(tensorsOf(dir + "/a/checkpoint.safetensors"), tensorsOf(dir + "/b/checkpoint.safetensors"));
  // The masks are not state: the checkpoint holds none.
  for (const auto &[name, t] : tensorsOf(dir + "/a/checkpoint.safetensors"))
    EXPECT_EQ(name.find("@mask"), std::string::npos) << name;
}

TEST(Train, NpyDataTrainsLikeTheSameImagesInIdx) {
  // The bars as float32 in [0, 1] in a .npy file: the same batches, so the same run, as
  // the IDX bytes scaled to [0, 1] (up to the rounding of v / 255).
  std::string dir = test::freshDir("npydata");
  std::filesystem::create_directories(dir + "/data");
  makeBars(dir + "/data", 256);
  rt::IdxArray idx = rt::readIdxU8(dir + "/data/train-images-idx3-ubyte");
  std::vector<float> px(idx.data.begin(), idx.data.end());
  for (float &v : px)
    v /= 255.f;
  rt::writeNpyF32(dir + "/data/bars.npy", px.data(), {256, 8, 8});
  std::string model = barsModel(dir);
  CommandResult a = ganc({"train", model, "--steps", "10", "--out", dir + "/a"});
  ASSERT_EQ(a.code, 0) << a.err;
  std::string text = test::readFile(model);
  const std::string source = R"(idx("data/train-images-idx3-ubyte", scale = [0, 1], shape = [64]))";
  text.replace(text.find(source), source.size(), R"(npy("data/bars.npy", shape = [64]))");
  test::writeFile(model, text);
  CommandResult b = ganc({"train", model, "--steps", "10", "--out", dir + "/b"});
  ASSERT_EQ(b.code, 0) << b.err;
  auto wa = tensorsOf(dir + "/a/checkpoint.safetensors"), wb = tensorsOf(dir + "/b/checkpoint.safetensors");
  ASSERT_EQ(wa.size(), wb.size());
  for (const auto &[name, t] : wa)
    for (size_t i = 0; i < t.size(); ++i)
      ASSERT_NEAR(t[i], wb.at(name)[i], 1e-4) << name;
}

TEST(Train, ClassifierLearnsTheBarsOrientationAndReportsHeldOutAccuracy) {
  // A supervised model: one player, cross-entropy, 56 of the 256 bars held out. Telling
  // vertical from horizontal bars is easy; the held-out accuracy is printed at the end.
  std::string dir = test::freshDir("classifier");
  std::filesystem::create_directories(dir + "/data");
  makeBars(dir + "/data", 256, /*labels=*/true);
  std::string model = test::writeFile(dir + "/bars_classifier.gan", R"(import std.nn
import std.losses
data x ~ idx("data/train-images-idx3-ubyte", shape = [64], hold_out = 56)
data y ~ labels(x, classes = 2, path = "data/train-labels-idx1-ubyte")
classifier C(x: [64]) -> [2] {
    return dense(relu(dense(x, 16)), 2)
}
game {
    C minimizes cross_entropy(C(x), y)
}
train {
    batch 32
    steps 150
    seed 3
    optimize C with adam(lr = 1e-2)
    log every 50
}
)");
  CommandResult r = ganc({"train", model, "--out", dir + "/out"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("on 200 samples"), std::string::npos) << r.out;
  double accuracy = -1;
  size_t at = r.out.find("held-out accuracy ");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::sscanf(r.out.c_str() + at, "held-out accuracy %lf%%", &accuracy);
  EXPECT_GE(accuracy, 95.0) << r.out;
  EXPECT_EQ(r.out.find("G loss"), std::string::npos) << r.out; // one player, one loss
  // The checkpoint holds the classifier alone, and resuming continues it.
  auto ck = tensorsOf(dir + "/out/checkpoint.safetensors");
  for (const auto &[name, t] : ck)
    EXPECT_EQ(name.rfind("C.", 0), 0u) << name;
  ASSERT_EQ(ganc({"train", model, "--out", dir + "/out", "--steps", "160", "--resume"}).code, 0);

  // The classifier judges a bars GAN: ganc eval of an image model.
  std::string gan = barsModel(dir);
  ASSERT_EQ(ganc({"train", gan, "--steps", "200", "--out", dir + "/gan"}).code, 0);
  CommandResult e = ganc({"eval", gan, "--checkpoint", dir + "/gan/checkpoint.safetensors", "-n", "400",
                          "--classifier", model, "--classifier-checkpoint", dir + "/out/checkpoint.safetensors",
                          "--json", dir + "/eval.json"});
  ASSERT_EQ(e.code, 0) << e.err;
  long long samples = 0, covered = 0, classes = 0, h0 = 0, h1 = 0;
  double confident = 0, kl = 0, frechet = -1;
  ASSERT_EQ(std::sscanf(e.out.c_str(), "%*s %lld samples judged by bars_classifier; classes covered %lld/%lld; "
                                       "confident %lf%%; KL(classes || uniform) %lf",
                        &samples, &covered, &classes, &confident, &kl), 5) << e.out;
  EXPECT_EQ(samples, 400);
  EXPECT_EQ(classes, 2);
  EXPECT_GE(confident, 0.0);
  EXPECT_LE(confident, 100.0);
  size_t fd = e.out.find("Frechet distance of the classifier's logits to 56 held-out real samples: ");
  ASSERT_NE(fd, std::string::npos) << e.out;
  std::sscanf(e.out.c_str() + fd, "Frechet distance of the classifier's logits to 56 held-out real samples: %lf", &frechet);
  EXPECT_GE(frechet, 0.0);
  // The classifier ends in a dense layer: its 16 input activations are the features.
  const std::string features = "Frechet distance of the classifier's features (the 16 activations its last dense "
                               "layer reads) to 56 held-out real samples: ";
  size_t ff = e.out.find(features);
  ASSERT_NE(ff, std::string::npos) << e.out;
  double featureDistance = -1;
  ASSERT_EQ(std::sscanf(e.out.c_str() + ff + features.size(), "%lf", &featureDistance), 1);
  EXPECT_GT(featureDistance, 0.0);
  size_t hist = e.out.find("class histogram: ");
  ASSERT_NE(hist, std::string::npos);
  ASSERT_EQ(std::sscanf(e.out.c_str() + hist, "class histogram: %lld, %lld", &h0, &h1), 2);
  EXPECT_EQ(h0 + h1, 400);
  EXPECT_EQ(covered, (h0 >= 8) + (h1 >= 8)); // at least 2% of 400
  std::string json = test::readFile(dir + "/eval.json");
  EXPECT_NE(json.find("\"classes_covered\": " + std::to_string(covered)), std::string::npos) << json;
  EXPECT_NE(json.find("\"real_samples\": 56"), std::string::npos) << json;
  EXPECT_NE(json.find("\"feature_dimensions\": 16"), std::string::npos) << json;
  // A classifier has no generator: sample and export refuse it, naming the file.
  CommandResult smp = ganc({"sample", model, "--checkpoint", dir + "/out/checkpoint.safetensors", "-n", "4", "--out",
                            dir + "/s.npy"});
  EXPECT_EQ(smp.code, 1);
  EXPECT_NE(smp.err.find("trains a classifier, which has no generator to sample"), std::string::npos) << smp.err;
  EXPECT_EQ(ganc({"export", model, "--checkpoint", dir + "/out/checkpoint.safetensors", "--out", dir + "/g.st"}).code, 1);
  // A GAN given as the classifier is refused.
  EXPECT_EQ(ganc({"eval", gan, "--checkpoint", dir + "/gan/checkpoint.safetensors", "--classifier", gan}).code, 1);
}

TEST(Train, SameSeedGivesSameWeightsForAnyThreadCount) {
  std::string dir = test::freshDir("threads");
  std::filesystem::create_directories(dir + "/data");
  makeBars(dir + "/data", 256);
  std::string model = barsModel(dir);
  std::vector<std::vector<float>> weights;
  std::vector<std::string> metrics; // losses and gradient norms, without the times
  for (const char *threads : {"1", "2", "3"}) {
    std::string out = dir + "/out" + threads;
    CommandResult r = ganc({"train", model, "--steps", "40", "--out", out, "--threads", threads});
    ASSERT_EQ(r.code, 0) << r.err;
    rt::SafeTensorsFile ck = rt::readSafeTensors(out + "/checkpoint.safetensors");
    std::vector<float> all;
    for (const rt::NamedTensor &t : ck.tensors)
      all.insert(all.end(), t.data.begin(), t.data.end());
    weights.push_back(all);
    std::ifstream csv(out + "/metrics.csv");
    std::string line, rows;
    while (std::getline(csv, line)) {
      const size_t time = line.find(','), end = line.find(',', time + 1);
      rows += line.substr(0, time) + line.substr(end) + "\n";
    }
    metrics.push_back(rows);
  }
  EXPECT_EQ(weights[0], weights[1]);
  EXPECT_EQ(weights[0], weights[2]);
  ASSERT_NE(metrics[0].find("d_grad_norm"), std::string::npos);
  EXPECT_EQ(metrics[0], metrics[1]);
  EXPECT_EQ(metrics[0], metrics[2]);
}

TEST(Train, MissingDataIsAClearErrorAtTheDataLine) {
  std::string dir = test::freshDir("nodata");
  std::string model = barsModel(dir);
  CommandResult r = ganc({"train", model, "--steps", "1", "--out", dir + "/out"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bars.gan:2:7: error: cannot load data 'x'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("train-images-idx3-ubyte"), std::string::npos) << r.err;
}

TEST(Train, CommandLineMisuseExitsWithTwo) {
  EXPECT_EQ(ganc({}).code, 2);
  EXPECT_EQ(ganc({"fly"}).code, 2);
  EXPECT_EQ(ganc({"train"}).code, 2);
  EXPECT_EQ(ganc({"train", "x.gan", "--bogus", "1"}).code, 2);
  EXPECT_EQ(ganc({"train", "x.gan", "--steps", "many"}).code, 2);
  EXPECT_EQ(ganc({"emit", "--stage=nothing", "x.gan"}).code, 2);
}

TEST(Train, CheckReportsAMissingModelFile) {
  CommandResult r = ganc({"check", "/nonexistent/model.gan"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot open '/nonexistent/model.gan'"), std::string::npos) << r.err;
}

} // namespace
