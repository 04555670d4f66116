//===- Diagnostics.h - clang-style errors, warnings and notes ---*- C++ -*-===//
//
// Every user-facing problem goes through a DiagnosticEngine: `file:line:col: error: msg`,
// the source line, and a caret with an underline. Notes attach to the diagnostic before
// them (`note: 'D' declared here`). Stages report and keep going; the driver stops before
// the next stage when errors were reported.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/SourceManager.h"

#include <ostream>
#include <string>
#include <vector>

namespace ganc {

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity;
  SourceRange range;
  std::string message;
  uint32_t wholeFile = 0; ///< set for errors about a file rather than a place in it
};

class DiagnosticEngine {
public:
  explicit DiagnosticEngine(const SourceManager &sm) : sm_(sm) {}

  void error(SourceLoc loc, std::string msg, uint32_t length = 1) {
    report(Severity::Error, loc, std::move(msg), length);
  }
  void warning(SourceLoc loc, std::string msg, uint32_t length = 1) {
    report(Severity::Warning, loc, std::move(msg), length);
  }
  void note(SourceLoc loc, std::string msg, uint32_t length = 1) {
    report(Severity::Note, loc, std::move(msg), length);
  }
  void report(Severity sev, SourceLoc loc, std::string msg, uint32_t length = 1);
  /// An error about a whole file (`path: error: msg`, no source line).
  void fileError(uint32_t file, std::string msg);

  unsigned errorCount() const { return errors_; }
  bool hasErrors() const { return errors_ > 0; }
  const std::vector<Diagnostic> &all() const { return diags_; }

  /// Prints, in order and clang style, every diagnostic reported since the last print
  /// (a command that prints its warnings and later fails prints each line once).
  void print(std::ostream &os);
  /// Renders one diagnostic.
  std::string render(const Diagnostic &d) const;

private:
  const SourceManager &sm_;
  std::vector<Diagnostic> diags_;
  unsigned errors_ = 0;
  bool droppingNotes_ = false; ///< the last error repeated an earlier one
  size_t printed_ = 0;         ///< diagnostics already printed
};

} // namespace ganc
