//===- SourceManager.h - .gan source buffers and locations ------*- C++ -*-===//
//
// Owns the text of every .gan file the compiler reads (the user's model and the stdlib
// modules it imports) and turns a SourceLoc {file, offset} into a line, a column and the
// text of that line, so diagnostics can print `file:line:col` with a caret.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ganc {

/// A position in a source buffer. File 0 is reserved for "no location".
struct SourceLoc {
  uint32_t file = 0;
  uint32_t offset = 0;
  bool valid() const { return file != 0; }
};

/// A half-open range of characters in one buffer, for underlining.
struct SourceRange {
  SourceLoc begin;
  uint32_t length = 1;
};

/// Line and column (both 1-based) of a location.
struct LineCol {
  unsigned line = 0;
  unsigned col = 0;
};

class SourceManager {
public:
  /// Adds a buffer and returns its file id (never 0).
  uint32_t addBuffer(std::string path, std::string text);
  /// The largest file addFile reads.
  static constexpr size_t kMostSourceBytes = size_t{64} << 20;
  /// Reads a file from disk; returns 0 and sets `error` when it cannot be read or is
  /// larger than kMostSourceBytes.
  uint32_t addFile(const std::string &path, std::string &error);

  const std::string &path(uint32_t file) const { return files_.at(file - 1).path; }
  const std::string &text(uint32_t file) const { return files_.at(file - 1).text; }
  LineCol lineCol(SourceLoc loc) const;
  /// The text of the line holding `loc`, without its newline.
  std::string lineText(SourceLoc loc) const;
  /// `path:line:col`, or `<unknown>` for an invalid location.
  std::string describe(SourceLoc loc) const;

private:
  struct File {
    std::string path;
    std::string text;
    std::vector<uint32_t> lineStarts;
  };
  std::vector<File> files_;
};

} // namespace ganc
