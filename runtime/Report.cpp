//===- Report.cpp - the self-contained HTML report of a run ---------------===//
#include "Report.h"

#include "io/FileOut.h"
#include "io/IoError.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ganc::rt {
namespace {

std::string base64(const std::string &bytes) {
  static const char *kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out += kAlphabet[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size())
      v |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

/// A line chart of some series over the steps, as SVG.
std::string chart(const std::string &title, const std::vector<MetricRow> &rows,
                  const std::vector<std::pair<std::string, float MetricRow::*>> &series,
                  const std::vector<std::string> &colors) {
  const double W = 640, H = 240, L = 56, R = 12, T = 24, B = 28;
  std::ostringstream os;
  os << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' role='img'>"
     << "<text x='" << L << "' y='16' font-size='13'>" << title << "</text>";
  // At most ~800 points a line: every k-th row.
  size_t stride = std::max<size_t>(1, rows.size() / 800);
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < rows.size(); i += stride)
    for (auto &[name, field] : series)
      if (std::isfinite(rows[i].*field))
        lo = std::min(lo, double(rows[i].*field)), hi = std::max(hi, double(rows[i].*field));
  if (rows.empty() || !std::isfinite(lo)) {
    os << "<text x='" << L << "' y='" << H / 2 << "'>no data yet</text></svg>";
    return os.str();
  }
  if (hi - lo < 1e-9)
    hi = lo + 1;
  double s0 = double(rows.front().step), s1 = std::max(double(rows.back().step), s0 + 1);
  auto px = [&](double s) { return L + (s - s0) / (s1 - s0) * (W - L - R); };
  auto py = [&](double v) { return T + (hi - v) / (hi - lo) * (H - T - B); };
  os << "<rect x='" << L << "' y='" << T << "' width='" << W - L - R << "' height='" << H - T - B
     << "' fill='none' stroke='#999'/>";
  char buf[128];
  for (double v : {lo, (lo + hi) / 2, hi}) {
    std::snprintf(buf, sizeof buf, "<text x='4' y='%.1f' font-size='11'>%.3g</text>", py(v) + 4, v);
    os << buf;
  }
  std::snprintf(buf, sizeof buf, "<text x='%.1f' y='%.1f' font-size='11'>step %lld</text>", W - R - 80, H - 8,
                static_cast<long long>(rows.back().step));
  os << buf;
  for (size_t k = 0; k < series.size(); ++k) {
    os << "<polyline fill='none' stroke='" << colors[k] << "' stroke-width='1.2' points='";
    for (size_t i = 0; i < rows.size(); i += stride) {
      float v = rows[i].*series[k].second;
      if (!std::isfinite(v))
        continue;
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", px(double(rows[i].step)), py(v));
      os << buf;
    }
    os << "'/><text x='" << L + 8 + 90 * k << "' y='" << T + 14 << "' font-size='12' fill='" << colors[k] << "'>"
       << series[k].first << "</text>";
  }
  os << "</svg>";
  return os.str();
}

} // namespace

void writeReport(const ReportInput &in) {
  namespace fs = std::filesystem;
  std::vector<std::string> grids;
  std::error_code ec;
  for (auto &entry : fs::directory_iterator(in.outDir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("samples_", 0) == 0 && entry.path().extension() == ".png")
      grids.push_back(name);
  }
  std::sort(grids.begin(), grids.end());

  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>";
  if (in.live)
    html << "<meta http-equiv='refresh' content='15'>";
  html << "<title>ganc: " << in.modelName << "</title><style>body{font-family:sans-serif;margin:24px;}"
       << "figure{display:inline-block;margin:6px;text-align:center;font-size:12px}"
       << "img{image-rendering:pixelated;width:224px;border:1px solid #ccc}</style></head><body>\n"
       << "<h1>" << in.modelName << "</h1><p>step " << in.step << " of " << in.totalSteps
       << (in.live ? " (training; this page reloads itself)" : " (finished)") << "</p>\n";
  std::vector<std::pair<std::string, float MetricRow::*>> losses{
      {in.dPlayer + " loss", &MetricRow::dLoss}},
      norms{{in.dPlayer, &MetricRow::dGradNorm}};
  if (!in.gPlayer.empty()) {
    losses.push_back({in.gPlayer + " loss", &MetricRow::gLoss});
    norms.push_back({in.gPlayer, &MetricRow::gGradNorm});
  }
  html << chart("losses", in.rows, losses, {"#c0392b", "#2471a3"}) << "\n"
       << chart("gradient norms", in.rows, norms, {"#c0392b", "#2471a3"}) << "\n<h2>samples</h2>\n";
  for (const std::string &g : grids) {
    std::ifstream png(fs::path(in.outDir) / g, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(png)), {});
    long long step = 0;
    std::sscanf(g.c_str(), "samples_%lld", &step);
    html << "<figure><img alt='samples at step " << step << "' src='data:image/png;base64," << base64(bytes)
         << "'><figcaption>step " << step << "</figcaption></figure>\n";
  }
  // Once loaded, the page records what rendered: how many sample grids decoded and how
  // many curves have a drawn extent (read by tests/lit/e2e/report-renders.test in
  // headless Chromium; harmless in any browser).
  html << "<script>window.addEventListener('load',function(){"
          "var im=document.images,ok=0,i;for(i=0;i<im.length;i++)if(im[i].complete&&im[i].naturalWidth>0)ok++;"
          "var pl=document.querySelectorAll('polyline'),dr=0;for(i=0;i<pl.length;i++)if(pl[i].getBBox().width>0)dr++;"
          "document.body.setAttribute('data-rendered','images '+ok+'/'+im.length+' curves '+dr+'/'+pl.length);"
          "});</script>\n";
  html << "</body></html>\n";

  // Renamed into place once whole (FileOut): a browser reloading it never reads half a
  // page, nor one run's rename half of another's.
  writeTextFile((fs::path(in.outDir) / "report.html").string(), html.str(), /*regularOnly=*/true);
}

} // namespace ganc::rt
