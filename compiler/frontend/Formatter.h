//===- Formatter.h - .gan text in canonical layout --------------*- C++ -*-===//
//
// `ganc fmt`: re-lays out a .gan file from its tokens, keeping every comment and the
// line structure (where lines break, one blank line at most between them), and
// normalizing the rest: four spaces of indentation per open brace and per open
// parenthesis or bracket a line continues, one space between tokens except inside
// brackets, before `,` and `:`, around `.` and after a unary minus, and trailing
// comments of consecutive lines aligned two spaces after the longest code. Formatting
// its own output changes nothing.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/Diagnostics.h"

#include <optional>
#include <string>

namespace ganc::frontend {

/// The canonical layout of buffer `fileId` of `sm`, or nullopt when it does not parse
/// (the syntax errors are reported to `diags`; a file that does not parse is left alone).
std::optional<std::string> formatModule(const SourceManager &sm, uint32_t fileId, DiagnosticEngine &diags);

} // namespace ganc::frontend
