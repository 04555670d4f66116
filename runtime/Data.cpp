//===- Data.cpp - training data: loading, shuffling, batching -------------===//
#include "Data.h"

#include "Mixture.h"
#include "Random.h"
#include "Tensor.h"
#include "Threads.h"
#include "io/Idx.h"
#include "io/IoError.h"
#include "io/Npy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace ganc::rt {

Dataset::Dataset(std::vector<float> rows, int64_t rowSize)
    : data_(std::move(rows)), rowSize_(rowSize),
      count_(rowSize > 0 ? static_cast<int64_t>(data_.size()) / rowSize : 0) {}

Dataset::Dataset(std::vector<uint8_t> pixels, int64_t rowSize, double lo, double hi)
    : pixels_(pixels.begin(), pixels.end()), lo_(static_cast<float>(lo)),
      step_(static_cast<float>((hi - lo) / 255.0)), rowSize_(rowSize),
      count_(rowSize > 0 ? static_cast<int64_t>(pixels_.size()) / rowSize : 0) {}

void Dataset::copyRow(int64_t i, float *out) const {
  if (pixels_.empty()) {
    std::memcpy(out, data_.data() + i * rowSize_, static_cast<size_t>(rowSize_) * sizeof(float));
    return;
  }
  const uint8_t *p = pixels_.data() + i * rowSize_;
  for (int64_t j = 0; j < rowSize_; ++j)
    out[j] = pixelValue(lo_, step_, p[j]);
}

namespace {
std::string formatLabel(float l) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(l));
  return buf;
}

/// An array of samples read from an IDX or .npy file: its dimensions and its values,
/// as the bytes stored (pixels in 0..255, which `scale` maps) or as floats.
struct Samples {
  std::vector<int64_t> dims;
  bool bytes = true;
  std::vector<uint8_t> pixels; ///< with `bytes`: IDX and uint8 .npy data
  std::vector<float> values;   ///< without: any other .npy data
  size_t size() const { return bytes ? pixels.size() : values.size(); }
  float at(size_t i) const { return bytes ? static_cast<float>(pixels[i]) : values[i]; }
};

Samples readSamples(const std::string &path) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    NpyArray a = readNpyF32(path, /*keepBytes=*/true);
    return {std::move(a.shape), a.dtype == "|u1", std::move(a.bytes), std::move(a.data)};
  }
  IdxArray idx = readIdxU8(path);
  return {std::move(idx.dims), true, std::move(idx.data), {}};
}
} // namespace

Dataset Dataset::load(const DataSpec &spec) {
  if (spec.kind == "ring" || spec.kind == "grid") {
    // A fixed sample of the mixture, drawn from the data's own stream: large enough that
    // a run sees fresh points for many epochs. A packed sample is several points.
    const int64_t count = 100000, points = Mixture::pointsPerSample(spec.shape);
    return Dataset(Mixture::fromSpec(spec).sample(count * points, streamId("data:" + spec.name)), 2 * points);
  }
  std::string path = spec.kind == "mnist" ? findIdxFile(spec.path, "train-images-idx3-ubyte")
                                          : spec.path;
  Samples x = readSamples(path);
  if (x.dims.size() < 2)
    throw IoError(path, "expected samples along the first axis (at least 2 dimensions), found " +
                            std::to_string(x.dims.size()));
  int64_t per = 1;
  for (size_t i = 1; i < x.dims.size(); ++i)
    per *= x.dims[i];
  int64_t want = numElements(spec.shape);
  if (per != want)
    throw IoError(path, "samples have " + std::to_string(per) + " values but data '" +
                            spec.name + "' is declared with " + std::to_string(want));
  if (x.dims[0] < 1)
    throw IoError(path, "holds no samples");
  Dataset d = [&] {
    if (x.bytes)
      return Dataset(std::move(x.pixels), per, spec.lo, spec.hi);
    if (spec.scaled)
      throw IoError(path, "holds floating-point or integer values, which are used as stored; `scale` maps "
                          "the 0..255 pixels of uint8 data (remove it, or store the array as uint8)");
    for (size_t i = 0; i < x.values.size(); ++i)
      if (!std::isfinite(x.values[i]))
        throw IoError(path, "value " + std::to_string(i) + " (of sample " + std::to_string(static_cast<int64_t>(i) / per) +
                                ") is not a finite number");
    return Dataset(std::move(x.values), per);
  }();
  if (spec.classes > 0) {
    std::string lpath = spec.labelsPath.empty() ? findIdxFile(spec.path, "train-labels-idx1-ubyte")
                                                : spec.labelsPath;
    Samples labels = readSamples(lpath);
    if (labels.dims.size() != 1)
      throw IoError(lpath, "expected labels (1 dimension), found " + std::to_string(labels.dims.size()) +
                               " dimensions");
    if (labels.dims[0] != x.dims[0])
      throw IoError(lpath, "holds " + std::to_string(labels.dims[0]) + " labels for the " +
                               std::to_string(x.dims[0]) + " samples of " + path);
    d.classes_ = spec.classes;
    d.labels_.resize(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
      float l = labels.at(i);
      if (!(l >= 0 && l < static_cast<float>(spec.classes) && l == std::floor(l)))
        throw IoError(lpath, "label " + formatLabel(l) + " of sample " + std::to_string(i) + " is not a class of " +
                                 std::to_string(spec.classes) + " (0 to " + std::to_string(spec.classes - 1) + ")");
      d.labels_[i] = static_cast<int32_t>(l);
    }
  }
  if (spec.holdOut > 0) {
    if (spec.holdOut >= d.count_)
      throw IoError(path, "holds " + std::to_string(d.count_) + " samples, so holding out " +
                              std::to_string(spec.holdOut) + " would leave none to train on");
    d.holdOut(spec.holdOut);
  }
  return d;
}

void Dataset::holdOut(int64_t n) {
  const int64_t keep = count_ - n;
  heldOut_.resize(static_cast<size_t>(n * rowSize_));
  for (int64_t i = 0; i < n; ++i)
    copyRow(keep + i, heldOut_.data() + i * rowSize_);
  data_.resize(pixels_.empty() ? static_cast<size_t>(keep * rowSize_) : 0);
  pixels_.resize(pixels_.empty() ? 0 : static_cast<size_t>(keep * rowSize_));
  if (!labels_.empty()) {
    heldOutLabels_.assign(labels_.begin() + keep, labels_.end());
    labels_.resize(static_cast<size_t>(keep));
  }
  heldOutCount_ = n;
  count_ = keep;
}

void drawNoise(const NoiseSpec &n, float *out, int64_t count, uint64_t seed, uint64_t stream) {
  if (n.dist == "categorical") {
    const auto classes = static_cast<int64_t>(n.a);
    fillOneHot(out, count / classes, classes, seed, stream);
  } else if (n.dist == "dropout") {
    fillUniform(out, count, seed, stream, 0.f, 1.f);
    const float keep = static_cast<float>(1 / (1 - n.a));
    for (int64_t i = 0; i < count; ++i)
      out[i] = out[i] < static_cast<float>(n.a) ? 0.f : keep;
  } else if (n.dist == "normal" || n.dist == "truncated_normal") {
    fillNormal(out, count, seed, stream, static_cast<float>(n.a), static_cast<float>(n.b));
    // Sema bounds `bound` below by 0.1 std, which keeps 8% of the draws: 1000 rounds
    // always suffice.
    if (n.dist == "truncated_normal")
      redrawBeyond(n, out, count, seed, stream, n.bound);
  } else {
    fillUniform(out, count, seed, stream, static_cast<float>(n.a), static_cast<float>(n.b));
  }
}

bool redrawBeyond(const NoiseSpec &n, float *out, int64_t count, uint64_t seed, uint64_t stream, double limit) {
  const bool uni = n.dist == "uniform";
  const double centre = uni ? (n.a + n.b) / 2 : n.a;
  const double lim = limit * (uni ? (n.b - n.a) / 2 : n.b);
  NoiseSpec plain = n;
  plain.dist = uni ? "uniform" : "normal";
  std::vector<float> fresh(static_cast<size_t>(count));
  for (uint64_t round = 1; round < 1000; ++round) {
    bool any = false;
    for (int64_t i = 0; i < count && !any; ++i)
      any = std::fabs(out[i] - centre) > lim;
    if (!any)
      return true;
    drawNoise(plain, fresh.data(), count, seed, streamId("redraw", stream, round));
    for (int64_t i = 0; i < count; ++i)
      if (std::fabs(out[i] - centre) > lim)
        out[i] = fresh[static_cast<size_t>(i)];
  }
  return false;
}

void drawGridNoise(const NoiseSpec &n, float *out, int64_t count, uint64_t seed, uint64_t stream) {
  if (n.dist != "categorical")
    return drawNoise(n, out, count, seed, stream);
  const auto classes = static_cast<int64_t>(n.a);
  std::fill(out, out + count, 0.f);
  for (int64_t r = 0; r < count / classes; ++r)
    out[r * classes + r % classes] = 1.f;
}

void BatchSampler::shuffle(int64_t epoch) {
  int64_t n = data_.size();
  order_.resize(n);
  for (int64_t i = 0; i < n; ++i)
    order_[i] = i;
  uint64_t stream = streamId("shuffle", static_cast<uint64_t>(epoch));
  for (int64_t i = n - 1; i > 0; --i) {
    auto r = philox({static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32), 0, 0},
                    seed_ ^ stream);
    uint64_t x = (static_cast<uint64_t>(r[0]) << 32) | r[1];
    std::swap(order_[i], order_[static_cast<int64_t>(x % static_cast<uint64_t>(i + 1))]);
  }
  epoch_ = epoch;
}

void BatchSampler::fill(float *out, int64_t batch, int64_t index, float *labels) {
  const int64_t n = data_.size(), w = data_.rowSize(), classes = data_.classes();
  if (labels)
    std::fill(labels, labels + batch * classes, 0.f);
  // Which samples, in order (a batch may straddle two epochs' orders), then the copy:
  // 128 rows of an MNIST batch scattered over the data set took some 85 us on one thread
  // as floats, as long as a large kernel, so the threads share them.
  rows_.resize(static_cast<size_t>(batch));
  for (int64_t k = 0; k < batch; ++k) {
    int64_t global = index * batch + k;
    int64_t epoch = global / n;
    if (epoch != epoch_)
      shuffle(epoch);
    rows_[static_cast<size_t>(k)] = order_[global % n];
    if (labels)
      labels[k * classes + data_.label(rows_[static_cast<size_t>(k)])] = 1.f;
  }
  // On the team of the step's region when one is open (Trainer::iterate), so that each
  // core copies the rows the step's first products read on it.
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(w, 1));
  parallelFor(batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k)
      data_.copyRow(rows_[static_cast<size_t>(k)], out + k * w);
  });
}

} // namespace ganc::rt
