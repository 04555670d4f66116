//===- ReportTest.cpp - the curves of report.html -------------------------===//
//
// The report labels its curves with the players' names, and a supervised model (one
// player) gets one curve per chart, not a second one flat at zero.
//
//===----------------------------------------------------------------------===//
#include "Report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

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
  writeReport(in);
  std::ifstream f(dir / "report.html");
  std::string html((std::istreambuf_iterator<char>(f)), {});
  fs::remove_all(dir);
  return html;
}

size_t count(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

TEST(Report, TwoPlayersGetTwoCurvesPerChart) {
  std::string html = reportFor("D", "G");
  EXPECT_EQ(count(html, "<polyline"), 4u);
  EXPECT_EQ(count(html, ">D loss</text>"), 1u);
  EXPECT_EQ(count(html, ">G loss</text>"), 1u);
  EXPECT_EQ(count(html, ">G</text>"), 1u);
}

TEST(Report, OnePlayerGetsOneCurvePerChart) {
  std::string html = reportFor("C", "");
  EXPECT_EQ(count(html, "<polyline"), 2u);
  EXPECT_EQ(count(html, ">C loss</text>"), 1u);
  EXPECT_EQ(count(html, ">C</text>"), 1u);
  EXPECT_EQ(count(html, " loss</text>"), 1u);
}

} // namespace
