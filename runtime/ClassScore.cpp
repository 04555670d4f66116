//===- ClassScore.cpp - judging generated images with a classifier ---------===//
#include "ClassScore.h"

#include <algorithm>
#include <cmath>

namespace ganc::rt {
namespace {

using Matrix = std::vector<double>; // d x d, row-major

/// Mean and covariance (divided by n - 1) of n points of dimension d.
void moments(const float *x, int64_t n, int64_t d, std::vector<double> &mean, Matrix &cov) {
  mean.assign(static_cast<size_t>(d), 0);
  cov.assign(static_cast<size_t>(d * d), 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      mean[j] += x[i * d + j] / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      for (int64_t k = 0; k < d; ++k)
        cov[j * d + k] += (x[i * d + j] - mean[j]) * (x[i * d + k] - mean[k]) / static_cast<double>(std::max<int64_t>(n - 1, 1));
}

/// Eigenvalues and eigenvectors (columns of v) of a symmetric matrix, by cyclic Jacobi
/// rotations: exact to rounding for the small matrices here.
void symmetricEigen(Matrix a, int64_t d, std::vector<double> &values, Matrix &v) {
  v.assign(static_cast<size_t>(d * d), 0);
  for (int64_t i = 0; i < d; ++i)
    v[i * d + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q)
        off += a[p * d + q] * a[p * d + q];
    if (off < 1e-30)
      break;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q) {
        double apq = a[p * d + q];
        if (std::fabs(apq) < 1e-300)
          continue;
        double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < d; ++k) { // columns p, q
          double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < d; ++k) { // rows p, q
          double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < d; ++k) {
          double vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
  }
  values.resize(static_cast<size_t>(d));
  for (int64_t i = 0; i < d; ++i)
    values[i] = a[i * d + i];
}

/// The square root of a symmetric positive semi-definite matrix (negative eigenvalues
/// from rounding count as 0).
Matrix sqrtPsd(const Matrix &a, int64_t d) {
  std::vector<double> w;
  Matrix v;
  symmetricEigen(a, d, w, v);
  Matrix r(static_cast<size_t>(d * d), 0);
  for (int64_t e = 0; e < d; ++e) {
    double s = std::sqrt(std::max(w[e], 0.0));
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        r[i * d + j] += s * v[i * d + e] * v[j * d + e];
  }
  return r;
}

Matrix multiply(const Matrix &a, const Matrix &b, int64_t d) {
  Matrix r(static_cast<size_t>(d * d), 0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k)
      for (int64_t j = 0; j < d; ++j)
        r[i * d + j] += a[i * d + k] * b[k * d + j];
  return r;
}

} // namespace

double frechetDistance(const float *a, int64_t na, const float *b, int64_t nb, int64_t d) {
  std::vector<double> ma, mb;
  Matrix ca, cb;
  moments(a, na, d, ma, ca);
  moments(b, nb, d, mb, cb);
  // tr (C_a C_b)^(1/2) = tr (S C_b S)^(1/2) with S = C_a^(1/2): a symmetric matrix, so
  // its square root comes from an eigendecomposition.
  Matrix s = sqrtPsd(ca, d);
  Matrix inner = multiply(multiply(s, cb, d), s, d);
  for (int64_t i = 0; i < d; ++i) // symmetrize away rounding
    for (int64_t j = i + 1; j < d; ++j)
      inner[i * d + j] = inner[j * d + i] = (inner[i * d + j] + inner[j * d + i]) / 2;
  Matrix root = sqrtPsd(inner, d);
  double dist = 0;
  for (int64_t i = 0; i < d; ++i)
    dist += (ma[i] - mb[i]) * (ma[i] - mb[i]) + ca[i * d + i] + cb[i * d + i] - 2 * root[i * d + i];
  return std::max(dist, 0.0);
}

ClassScore scoreClasses(const float *logits, int64_t n, int64_t classes, const int32_t *requested,
                        const float *real, int64_t nReal) {
  ClassScore s;
  s.samples = n;
  s.classes = classes;
  s.histogram.assign(static_cast<size_t>(classes), 0);
  int64_t confident = 0, asked = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float *l = logits + i * classes;
    int64_t top = std::max_element(l, l + classes) - l;
    double total = 0;
    for (int64_t k = 0; k < classes; ++k)
      total += std::exp(static_cast<double>(l[k]) - l[top]);
    ++s.histogram[static_cast<size_t>(top)];
    confident += 1 / total > 0.9;
    if (requested)
      asked += requested[i] == top;
  }
  for (int64_t k = 0; k < classes; ++k) {
    double p = static_cast<double>(s.histogram[k]) / static_cast<double>(n);
    s.covered += p >= 0.02;
    if (p > 0)
      s.klToUniform += p * std::log(p * static_cast<double>(classes));
  }
  s.confident = static_cast<double>(confident) / static_cast<double>(n);
  if (requested)
    s.asRequested = static_cast<double>(asked) / static_cast<double>(n);
  if (real && nReal > 1 && n > 1)
    s.frechet = frechetDistance(logits, n, real, nReal, classes);
  return s;
}

} // namespace ganc::rt
