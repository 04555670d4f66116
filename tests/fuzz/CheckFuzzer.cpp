//===- CheckFuzzer.cpp - libFuzzer over the parser, checker and lowering --===//
//
// Feeds arbitrary bytes to what `ganc check` runs: parse and sema (with the stdlib),
// lowering to the step graphs, autodiff and the graph passes; then to `ganc fmt`, whose
// output must parse and be its own layout; and to the graph IR parser of `ganc opt`. Any input must end in a model or in
// diagnostics: a crash, a hang, an internal error or a sanitizer report is a bug. Built by scripts/fuzz.sh (clang, -DGANC_FUZZ=ON); its seed corpus is examples/,
// stdlib/ and the .gan programs of tests/lit.
//
//===----------------------------------------------------------------------===//
#include "frontend/Formatter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "lower/Model.h"
#include "opt/Simplify.h"
#include "sema/Sema.h"
#include "support/SourceManager.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Sema reads models from disk (imports are relative to the file): one file per process.
  static const std::string path = "/tmp/ganc_fuzz_" + std::to_string(::getpid()) + ".gan";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  }
  ganc::SourceManager sm;
  ganc::DiagnosticEngine diags(sm);
  auto program = ganc::sema::analyze(path, sm, diags, {GANC_STDLIB_DIR});
  if (program) {
    auto model = ganc::lower::lowerObjectives(*program, 8, diags);
    if (model) {
      // d_step, and g_step unless the model is supervised.
      for (ganc::ir::Graph *g : model->steps())
        ganc::opt::canonicalize(*g);
      if (ganc::lower::addTraining(*model, *program, diags))
        for (ganc::ir::Graph *g : model->steps())
          ganc::opt::simplify(*g);
      if (program->supervised())
        ganc::lower::lowerClassifier(*program, 4, "x@eval", diags);
      else
        ganc::lower::lowerSampler(*program, 4, "", diags);
    }
  }
  // Rendering exercises the caret and line code on whatever locations were reported.
  std::ostringstream sink;
  diags.print(sink);

  // ganc fmt: a file that parses formats to one that parses, and formatting that again
  // changes nothing.
  ganc::SourceManager fsm;
  ganc::DiagnosticEngine fdiags(fsm);
  std::string text(reinterpret_cast<const char *>(data), size);
  if (auto once = ganc::frontend::formatModule(fsm, fsm.addBuffer(path, text), fdiags)) {
    auto twice = ganc::frontend::formatModule(fsm, fsm.addBuffer(path, *once), fdiags);
    if (!twice || *twice != *once) {
      std::fprintf(stderr, "ganc fmt is not idempotent on this input:\n%s\n---\n%s\n", once->c_str(),
                   twice ? twice->c_str() : "(does not parse)");
      std::abort();
    }
  }
  // The same bytes as graph IR text (`ganc opt`): parsed, or refused at a place.
  ganc::ir::ParseError problem;
  for (const auto &g : ganc::ir::parseGraphs(text, problem))
    ganc::ir::printGraph(sink, *g);
  return 0;
}
