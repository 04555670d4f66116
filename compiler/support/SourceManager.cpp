//===- SourceManager.cpp - .gan source buffers and locations --------------===//
#include "support/SourceManager.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ganc {

uint32_t SourceManager::addBuffer(std::string path, std::string text) {
  File f;
  f.path = std::move(path);
  f.text = std::move(text);
  f.lineStarts.push_back(0);
  for (uint32_t i = 0; i < f.text.size(); ++i)
    if (f.text[i] == '\n')
      f.lineStarts.push_back(i + 1);
  files_.push_back(std::move(f));
  return static_cast<uint32_t>(files_.size());
}

uint32_t SourceManager::addFile(const std::string &path, std::string &error) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error = "cannot open '" + path + "': it is a directory";
    return 0;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "': no such file or not readable";
    return 0;
  }
  // Read up to a bound, not to the end: a device like /dev/zero never ends, and a
  // location's offset is 32 bits.
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kMostSourceBytes) {
      error = "cannot read '" + path + "': it is larger than " +
              std::to_string(kMostSourceBytes >> 20) + " MiB, too large for a source file";
      return 0;
    }
  }
  if (in.bad()) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return 0;
  }
  return addBuffer(path, std::move(text));
}

LineCol SourceManager::lineCol(SourceLoc loc) const {
  if (!loc.valid())
    return {};
  const File &f = files_.at(loc.file - 1);
  auto it = std::upper_bound(f.lineStarts.begin(), f.lineStarts.end(), loc.offset);
  unsigned line = static_cast<unsigned>(it - f.lineStarts.begin());
  unsigned col = loc.offset - f.lineStarts[line - 1] + 1;
  return {line, col};
}

std::string SourceManager::lineText(SourceLoc loc) const {
  if (!loc.valid())
    return "";
  const File &f = files_.at(loc.file - 1);
  LineCol lc = lineCol(loc);
  uint32_t begin = f.lineStarts[lc.line - 1];
  uint32_t end = begin;
  while (end < f.text.size() && f.text[end] != '\n' && f.text[end] != '\r')
    ++end;
  return f.text.substr(begin, end - begin);
}

std::string SourceManager::describe(SourceLoc loc) const {
  if (!loc.valid())
    return "<unknown>";
  LineCol lc = lineCol(loc);
  return path(loc.file) + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.col);
}

} // namespace ganc
