//===- Data.h - training data: loading, shuffling, batching -----*- C++ -*-===//
#pragma once

#include "Memory.h"
#include "TrainSpec.h"

#include <cstdint>
#include <vector>

namespace ganc::rt {

/// A dataset held in memory, one row per sample. Pixel data (uint8, as IDX files and
/// uint8 .npy arrays store it) stays bytes and is scaled as batches are copied out: an
/// MNIST batch then reads 100 KB of scattered rows instead of 401 KB, and MNIST's 60,000
/// training images take 47 MB instead of 188 (on huge pages: Memory.h). Other data is
/// held as floats.
class Dataset {
public:
  /// Loads `spec` (MNIST-format IDX images, plain or .gz). Throws IoError naming the file
  /// and the problem, including a per-sample size that does not match the model.
  static Dataset load(const DataSpec &spec);
  /// Builds a dataset from rows already in memory (tests, synthetic data).
  Dataset(std::vector<float> rows, int64_t rowSize);
  /// Builds a dataset of pixel rows, pixel p reading as lo + (hi - lo) / 255 * p, in
  /// float arithmetic as pixelValue computes it.
  Dataset(std::vector<uint8_t> pixels, int64_t rowSize, double lo, double hi);

  /// The value of pixel `p` in data scaled to [lo, lo + 255 step].
  static float pixelValue(float lo, float step, uint8_t p) {
    return lo + step * static_cast<float>(p);
  }

  int64_t size() const { return count_; }
  int64_t rowSize() const { return rowSize_; }
  /// Writes sample i's rowSize() values to out.
  void copyRow(int64_t i, float *out) const;
  /// Classes of labelled data (0: unlabelled) and the class of sample i.
  int64_t classes() const { return classes_; }
  int32_t label(int64_t i) const { return labels_[static_cast<size_t>(i)]; }
  /// The samples kept out of training (`hold_out`), with their classes: never batched.
  int64_t heldOutSize() const { return heldOutCount_; }
  const float *heldOutRow(int64_t i) const { return heldOut_.data() + i * rowSize_; }
  int32_t heldOutLabel(int64_t i) const { return heldOutLabels_[static_cast<size_t>(i)]; }

private:
  std::vector<float> data_;                              ///< float rows (empty for pixel data)
  std::vector<uint8_t, ArrayAllocator<uint8_t>> pixels_; ///< pixel rows (empty for float data)
  float lo_ = 0, step_ = 0;                              ///< pixelValue's scale of pixels_
  int64_t rowSize_ = 0, count_ = 0;
  std::vector<int32_t> labels_;
  int64_t classes_ = 0;
  std::vector<float> heldOut_; ///< as floats, whatever the training rows are
  std::vector<int32_t> heldOutLabels_;
  int64_t heldOutCount_ = 0;
  /// Moves the last `n` samples (and labels) out of the training set.
  void holdOut(int64_t n);
};

/// Fills `count` values of noise `n` (whole rows) from (seed, stream).
void drawNoise(const NoiseSpec &n, float *out, int64_t count, uint64_t seed, uint64_t stream);
/// Redraws, from fresh streams derived from `stream`, every value of out[0, count) farther
/// than `limit` from the centre of `n` (in standard deviations of normal noise, half-widths
/// of uniform noise) until none is left. Returns false when 1000 rounds were not enough
/// (a limit that keeps almost nothing of the distribution).
bool redrawBeyond(const NoiseSpec &n, float *out, int64_t count, uint64_t seed, uint64_t stream, double limit);
/// The fixed noise of sample grids: like drawNoise, except that a categorical source
/// walks through the classes in order (sample i is of class i mod classes), so each row
/// of a grid as wide as the classes shows every class.
void drawGridNoise(const NoiseSpec &n, float *out, int64_t count, uint64_t seed, uint64_t stream);

/// Draws batches without replacement: each epoch visits every sample once, in an order
/// that depends only on the seed and the epoch.
class BatchSampler {
public:
  BatchSampler(const Dataset &data, uint64_t seed) : data_(data), seed_(seed) {}
  /// Fills out[batch * rowSize] with the batch number `index` of the run, and, for
  /// labelled data, labels[batch * classes] with the samples' classes, one-hot.
  void fill(float *out, int64_t batch, int64_t index, float *labels = nullptr);

private:
  void shuffle(int64_t epoch);
  const Dataset &data_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
  std::vector<int64_t> rows_; ///< the batch's sample indices, kept between calls
};

} // namespace ganc::rt
