//===- Range.cpp - value ranges of graph nodes ----------------------------===//
#include "ir/Range.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace ganc::ir {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

/// One end of an interval: a value and whether it is excluded.
struct End {
  double v;
  bool open;
};
/// The lower (upper) of two ends: the smaller (larger) value; at a tie, closed wins.
End lower(End a, End b) { return a.v != b.v ? (a.v < b.v ? a : b) : End{a.v, a.open && b.open}; }
End upper(End a, End b) { return a.v != b.v ? (a.v > b.v ? a : b) : End{a.v, a.open && b.open}; }

Interval fromEnds(End lo, End hi) {
  Interval r{lo.v, hi.v, lo.open || std::isinf(lo.v), hi.open || std::isinf(hi.v)};
  return std::isnan(r.lo) || std::isnan(r.hi) ? Interval::everything() : r;
}

Interval rangeMemo(const Node &n, std::map<const Node *, Interval> &memo) {
  if (auto it = memo.find(&n); it != memo.end())
    return it->second;
  const OpInfo &info = opInfo(n.op);
  Interval r = Interval::everything();
  if (info.range) {
    std::vector<Interval> in;
    for (const Node *o : n.operands)
      in.push_back(rangeMemo(*o, memo));
    r = info.range(n, in);
  }
  memo.emplace(&n, r);
  return r;
}
} // namespace

Interval Interval::everything() { return {-kInf, kInf, true, true}; }

Interval valueRange(const Node &n) {
  std::map<const Node *, Interval> memo;
  return rangeMemo(n, memo);
}

Interval operator+(const Interval &a, const Interval &b) {
  return fromEnds({a.lo + b.lo, a.loOpen || b.loOpen}, {a.hi + b.hi, a.hiOpen || b.hiOpen});
}

Interval operator-(const Interval &a) { return {-a.hi, -a.lo, a.hiOpen, a.loOpen}; }

Interval operator*(const Interval &a, const Interval &b) {
  // The extremes of a product lie at products of the ends; one is attained only when
  // both ends are. 0 times an infinite end is taken as 0 (a bound, not a value).
  // A closed 0 end gives a product of exactly 0 whatever the other factor: closed too.
  auto corner = [](double x, bool xOpen, double y, bool yOpen) {
    bool closedZero = (x == 0 && !xOpen) || (y == 0 && !yOpen);
    return End{x == 0 || y == 0 ? 0.0 : x * y, !closedZero && (xOpen || yOpen)};
  };
  End corners[4] = {corner(a.lo, a.loOpen, b.lo, b.loOpen), corner(a.lo, a.loOpen, b.hi, b.hiOpen),
                    corner(a.hi, a.hiOpen, b.lo, b.loOpen), corner(a.hi, a.hiOpen, b.hi, b.hiOpen)};
  End lo = corners[0], hi = corners[0];
  for (const End &c : corners)
    lo = lower(lo, c), hi = upper(hi, c);
  return fromEnds(lo, hi);
}

Interval operator/(const Interval &a, const Interval &b) {
  // Only a divisor of one sign is bounded: 1 / [lo, hi] = [1 / hi, 1 / lo].
  if (!b.positive() && !(-b).positive())
    return Interval::everything();
  auto inv = [](double x) { return std::isinf(x) ? 0.0 : 1 / x; };
  Interval r{inv(b.hi), inv(b.lo), b.hiOpen || std::isinf(b.hi), b.loOpen};
  if (b.lo == 0)
    r.hi = kInf, r.hiOpen = true;
  if (b.hi == 0)
    r.lo = -kInf, r.loOpen = true;
  return a * r;
}

Interval hull(const Interval &a, const Interval &b) {
  return fromEnds(lower({a.lo, a.loOpen}, {b.lo, b.loOpen}), upper({a.hi, a.hiOpen}, {b.hi, b.hiOpen}));
}

Interval maximum(const Interval &a, const Interval &b) {
  return fromEnds(upper({a.lo, a.loOpen}, {b.lo, b.loOpen}), upper({a.hi, a.hiOpen}, {b.hi, b.hiOpen}));
}

Interval minimum(const Interval &a, const Interval &b) {
  return fromEnds(lower({a.lo, a.loOpen}, {b.lo, b.loOpen}), lower({a.hi, a.hiOpen}, {b.hi, b.hiOpen}));
}

} // namespace ganc::ir
