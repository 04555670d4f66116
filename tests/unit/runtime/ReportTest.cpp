//===- ReportTest.cpp - the curves of report.html -------------------------===//
//
// The report labels its curves with the players' names, and a supervised model (one
// player) gets one curve per chart, not a second one flat at zero. It is written under a
// temporary name of the process's own and renamed into place.
//
//===----------------------------------------------------------------------===//
#include "Report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>
#include <vector>

using namespace ganc::rt;
namespace fs = std::filesystem;

namespace {

/// report.html written for three steps of metrics by the given players.
std::string reportFor(const std::string &dPlayer, const std::string &gPlayer) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("ganc_report_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ReportInput in{"m", dir.string(), {}, 3, 3, false, dPlayer, gPlayer};
  for (int64_t s = 1; s <= 3; ++s)
    in.rows.push_back({s, 0.1 * s, 1.0f / s, gPlayer.empty() ? 0.f : 2.0f * s, 0.5f * s,
                       gPlayer.empty() ? 0.f : 1.0f});
  // Another run's temporary report in the same folder is not touched.
  const fs::path theirs = dir / "report.html.tmp.0";
  std::ofstream(theirs) << "another run's";
  writeReport(in);
  std::ifstream f(dir / "report.html");
  std::string html((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(fs::file_size(theirs), 13u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2)
      << "report.html and the other run's file, and no temporary file of this one";
  fs::remove_all(dir);
  return html;
}

size_t count(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

/// Each player named in `players` has one loss curve and one gradient-norm curve, each
/// labelled with its name, and there are no others.
void expectCurvesOf(const std::string &html, const std::vector<std::string> &players) {
  EXPECT_EQ(count(html, "<polyline"), 2 * players.size());
  EXPECT_EQ(count(html, " loss</text>"), players.size());
  for (const std::string &p : players) {
    EXPECT_EQ(count(html, ">" + p + " loss</text>"), 1u) << p;
    EXPECT_EQ(count(html, ">" + p + "</text>"), 1u) << p;
  }
}

TEST(Report, TwoPlayersGetTwoCurvesPerChart) { expectCurvesOf(reportFor("D", "G"), {"D", "G"}); }

TEST(Report, OnePlayerGetsOneCurvePerChart) { expectCurvesOf(reportFor("C", ""), {"C"}); }

} // namespace
