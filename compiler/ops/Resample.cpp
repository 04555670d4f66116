//===- Resample.cpp - nearest upsampling and average pooling --------------===//
//
// Both act on the last two axes (height, width) of a tensor such as [n, c, h, w]; every
// leading axis is a run of independent planes. upsample repeats each pixel into a
// factor x factor block; avg_pool averages non-overlapping kernel x kernel blocks. Each
// is the other's derivative up to a scale.
//
//===----------------------------------------------------------------------===//
#include "ops/Common.h"

namespace ganc::ir {
using namespace ganc::ops;
namespace {

bool spatial(const Shape &s) { return s.size() >= 2; }
int64_t planes(const Shape &s) { return numElements(Shape(s.begin(), s.end() - 2)); }

} // namespace

// upsample(x, factor)[.., h f + a, w f + b] = x[.., h, w];
//   dx = avg_pool(g, factor) * factor^2
const OpInfo &opInfo_Upsample() {
  static const OpInfo info = withRange(OpInfo{
      "upsample", 1, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        Shape s = in[0]->shape;
        if (a.ints.size() != 1 || a.ints[0] < 1 || !spatial(s)) {
          err = "'upsample' needs a factor >= 1 and an image (its last two axes are height "
                "and width), got " + formatType(s);
          return std::nullopt;
        }
        s[s.size() - 2] *= a.ints[0];
        s[s.size() - 1] *= a.ints[0];
        return s;
      },
      [](Builder &b, const Node &n, Node *g) {
        const int64_t f = n.attrs.ints[0];
        return Grads{b.mul(b.make(OpKind::AvgPool, {g}, {{f}, 0, ""}), static_cast<double>(f * f))};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        const Shape &x = n.operands[0]->shape;
        const int64_t f = n.attrs.ints[0], H = x[x.size() - 2], W = x[x.size() - 1];
        k.loop(planes(x), [&](Idx pl) {
          k.loop(H, [&](Idx h) {
            k.loop(f, [&](Idx a) {
              Idx row = k.mul(k.add(k.mul(pl, H * f), k.add(k.mul(h, f), a)), W * f);
              Idx from = k.mul(k.add(k.mul(pl, H), h), W);
              k.loop(W, [&](Idx w) {
                Val v = k.load(0, k.add(from, w));
                k.loop(f, [&](Idx b) { k.store(k.add(row, k.add(k.mul(w, f), b)), v); });
              });
            });
          });
        });
      },
      0, {"factor"}, {}, nullptr, -1, /*minSampleRank=*/2},
      sameRange);
  return info;
}

// avg_pool(x, kernel)[.., h, w] = mean of x[.., h k + a, w k + b] over a, b < kernel;
//   dx = upsample(g, kernel) / kernel^2
const OpInfo &opInfo_AvgPool() {
  static const OpInfo info = withRange(OpInfo{
      "avg_pool", 1, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        Shape s = in[0]->shape;
        if (a.ints.size() != 1 || a.ints[0] < 1 || !spatial(s) || s[s.size() - 2] % a.ints[0] ||
            s[s.size() - 1] % a.ints[0]) {
          err = "'avg_pool' needs a kernel >= 1 that divides the height and width (the last "
                "two axes), got " + formatType(s) +
                (a.ints.empty() ? "" : " and kernel " + std::to_string(a.ints[0]));
          return std::nullopt;
        }
        s[s.size() - 2] /= a.ints[0];
        s[s.size() - 1] /= a.ints[0];
        return s;
      },
      [](Builder &b, const Node &n, Node *g) {
        const int64_t f = n.attrs.ints[0];
        return Grads{b.mul(b.make(OpKind::Upsample, {g}, {{f}, 0, ""}), 1.0 / static_cast<double>(f * f))};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        const int64_t f = n.attrs.ints[0], Ho = n.shape[n.shape.size() - 2], Wo = n.shape.back();
        const int64_t W = Wo * f;
        const double scale = 1.0 / static_cast<double>(f * f);
        k.loop(planes(n.shape), [&](Idx pl) {
          k.loop(Ho, [&](Idx h) {
            k.loop(Wo, [&](Idx w) {
              Val s = k.loopReduce(f, k.constant(0), [&](Idx a, Val acc) {
                Idx row = k.mul(k.add(k.mul(pl, Ho * f), k.add(k.mul(h, f), a)), W);
                return k.loopReduce(f, acc, [&](Idx b, Val acc2) {
                  return k.add(acc2, k.load(0, k.add(row, k.add(k.mul(w, f), b))));
                });
              });
              k.store(k.add(k.mul(k.add(k.mul(pl, Ho), h), Wo), w), k.mul(s, k.constant(scale)));
            });
          });
        });
      },
      0, {"kernel"}, {}, nullptr, -1, /*minSampleRank=*/2},
      sameRange);
  return info;
}

} // namespace ganc::ir
