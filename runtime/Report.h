//===- Report.h - the self-contained HTML report of a run -------*- C++ -*-===//
//
// DIR/report.html: loss and gradient-norm curves as inline SVG and every sample grid of
// the run embedded as a data URI, so the one file can be opened, mailed or archived.
// Rewritten (atomically) as training goes; while the run is live the page reloads itself.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ganc::rt {

/// One row of metrics.csv.
struct MetricRow {
  int64_t step;
  double seconds;
  float dLoss, gLoss, dGradNorm, gGradNorm;
};

struct ReportInput {
  std::string modelName, outDir;
  std::vector<MetricRow> rows;
  int64_t step = 0, totalSteps = 0;
  bool live = true; ///< the run is still going: reload the page periodically
  /// The players' names, which label the curves; gPlayer is empty for a supervised
  /// model (one classifier), whose charts then have one curve each.
  std::string dPlayer = "D", gPlayer = "G";
};

/// Writes `outDir/report.html`. Throws IoError when it cannot.
void writeReport(const ReportInput &in);

} // namespace ganc::rt
