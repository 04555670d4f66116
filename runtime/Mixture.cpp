//===- Mixture.cpp - 2-D Gaussian mixtures and mode counting --------------===//
#include "Mixture.h"

#include "Random.h"
#include "Tensor.h"
#include "io/Png.h"

#include <algorithm>
#include <cmath>

namespace ganc::rt {

int64_t Mixture::pointsPerSample(const Shape &sampleShape) { return numElements(sampleShape) / 2; }

Mixture Mixture::fromSpec(const DataSpec &spec) {
  Mixture m;
  m.std = spec.params.at(2);
  if (spec.kind == "ring") {
    int64_t k = static_cast<int64_t>(spec.params[0]);
    double r = spec.params[1];
    for (int64_t i = 0; i < k; ++i) {
      double a = 2 * M_PI * static_cast<double>(i) / static_cast<double>(k);
      m.modes.push_back({r * std::cos(a), r * std::sin(a)});
    }
    return m;
  }
  int64_t n = static_cast<int64_t>(spec.params[0]);
  double s = spec.params[1], c = s * static_cast<double>(n - 1) / 2;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      m.modes.push_back({s * static_cast<double>(i) - c, s * static_cast<double>(j) - c});
  return m;
}

std::vector<float> Mixture::sample(int64_t count, uint64_t seed) const {
  std::vector<float> noise(static_cast<size_t>(count) * 2);
  fillNormal(noise.data(), count * 2, seed, streamId("mixture.noise"), 0.f, static_cast<float>(std));
  std::vector<float> out(noise.size());
  const uint64_t pick = streamId("mixture.mode");
  for (int64_t i = 0; i < count; ++i) {
    size_t k = static_cast<size_t>(uniformAt(seed, pick, static_cast<uint64_t>(i)) * modes.size());
    k = std::min(k, modes.size() - 1);
    out[2 * i] = static_cast<float>(modes[k][0]) + noise[2 * i];
    out[2 * i + 1] = static_cast<float>(modes[k][1]) + noise[2 * i + 1];
  }
  return out;
}

MixtureScore scoreMixture(const Mixture &m, const float *p, int64_t count) {
  MixtureScore s;
  s.samples = count;
  s.modes = static_cast<int64_t>(m.modes.size());
  s.perMode.assign(m.modes.size(), 0);
  for (int64_t i = 0; i < count; ++i) {
    size_t best = 0;
    double bestD = INFINITY;
    for (size_t k = 0; k < m.modes.size(); ++k) {
      double dx = p[2 * i] - m.modes[k][0], dy = p[2 * i + 1] - m.modes[k][1];
      double d = dx * dx + dy * dy;
      if (d < bestD)
        bestD = d, best = k;
    }
    if (std::sqrt(bestD) <= 3 * m.std) {
      ++s.highQuality;
      ++s.perMode[best];
    }
  }
  for (int64_t n : s.perMode)
    s.covered += n > 0;
  // KL(histogram || uniform) over the high-quality points; 0 when they spread evenly,
  // log(modes) when they all sit on one mode.
  if (s.highQuality > 0)
    for (int64_t n : s.perMode)
      if (n > 0) {
        double q = static_cast<double>(n) / static_cast<double>(s.highQuality);
        s.klToUniform += q * std::log(q * static_cast<double>(s.modes));
      }
  return s;
}

void writeScatterPng(const std::string &path, const Mixture &m, const float *points, int64_t count) {
  // Generated points in white over the mixture's modes in gray, on a square that holds
  // every mode with a margin.
  double extent = 0;
  for (auto &mode : m.modes)
    extent = std::max({extent, std::fabs(mode[0]), std::fabs(mode[1])});
  extent = extent * 1.25 + 6 * m.std;
  const int64_t side = 320;
  std::vector<float> img(static_cast<size_t>(side * side), 0.f);
  auto plot = [&](double x, double y, float v, int r) {
    int64_t cx = static_cast<int64_t>((x + extent) / (2 * extent) * side);
    int64_t cy = static_cast<int64_t>((extent - y) / (2 * extent) * side);
    for (int64_t dy = -r; dy <= r; ++dy)
      for (int64_t dx = -r; dx <= r; ++dx)
        if (cx + dx >= 0 && cx + dx < side && cy + dy >= 0 && cy + dy < side)
          img[(cy + dy) * side + cx + dx] = std::max(img[(cy + dy) * side + cx + dx], v);
  };
  for (auto &mode : m.modes)
    plot(mode[0], mode[1], 0.35f, 3);
  for (int64_t i = 0; i < count; ++i)
    if (std::isfinite(points[2 * i]) && std::isfinite(points[2 * i + 1]))
      plot(points[2 * i], points[2 * i + 1], 1.f, 0);
  writeGrayGridPng(path, img.data(), 1, side, side, 1, 1, 0.f, 1.f);
}

} // namespace ganc::rt
