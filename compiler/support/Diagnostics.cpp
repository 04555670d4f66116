//===- Diagnostics.cpp - clang-style errors, warnings and notes -----------===//
#include "support/Diagnostics.h"

#include <sstream>

namespace ganc {

void DiagnosticEngine::report(Severity sev, SourceLoc loc, std::string msg,
                              uint32_t length) {
  // The same mistake reached again (a player called twice) is reported once, with the
  // notes of its first report.
  if (sev == Severity::Note && droppingNotes_)
    return;
  droppingNotes_ = false;
  if (sev != Severity::Note)
    for (const Diagnostic &d : diags_)
      if (d.severity == sev && d.range.begin.file == loc.file &&
          d.range.begin.offset == loc.offset && d.message == msg) {
        droppingNotes_ = true;
        return;
      }
  if (sev == Severity::Error)
    ++errors_;
  diags_.push_back({sev, {loc, length == 0 ? 1 : length}, std::move(msg)});
}

void DiagnosticEngine::fileError(uint32_t file, std::string msg) {
  ++errors_;
  droppingNotes_ = false;
  diags_.push_back({Severity::Error, {}, std::move(msg), file});
}

std::string DiagnosticEngine::render(const Diagnostic &d) const {
  static const char *const kNames[] = {"error", "warning", "note"};
  std::ostringstream os;
  const SourceLoc loc = d.range.begin;
  if (d.wholeFile)
    os << sm_.path(d.wholeFile) << ": ";
  else if (loc.valid())
    os << sm_.describe(loc) << ": ";
  else
    os << "ganc: ";
  os << kNames[static_cast<int>(d.severity)] << ": " << d.message << "\n";
  if (!loc.valid())
    return os.str();
  std::string line = sm_.lineText(loc);
  unsigned col = sm_.lineCol(loc).col;
  os << line << "\n";
  // Tabs in the prefix stay tabs, so the caret lines up in any terminal; a multi-byte
  // UTF-8 character takes one column.
  std::string pad;
  for (unsigned i = 0; i + 1 < col && i < line.size(); ++i)
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80)
      pad += line[i] == '\t' ? '\t' : ' ';
  // The range counts bytes; the underline needs one mark per character.
  unsigned len = d.range.length;
  if (col - 1 + len > line.size())
    len = line.size() >= col ? static_cast<unsigned>(line.size() - col + 1) : 1;
  unsigned chars = 0;
  for (unsigned i = col - 1; i < col - 1 + len && i < line.size(); ++i)
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80)
      ++chars;
  os << pad << '^' << std::string(chars > 1 ? chars - 1 : 0, '~') << "\n";
  return os.str();
}

void DiagnosticEngine::print(std::ostream &os) {
  for (; printed_ < diags_.size(); ++printed_)
    os << render(diags_[printed_]);
}

} // namespace ganc
