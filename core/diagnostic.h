#pragma once
// A problem found in user input, tied to the place it was found.
#include <string>
#include <vector>

namespace faultline {

struct SourceLocation {
  std::string file;  // a path, or a label such as "argument 3"
  int line = 0;      // 1-based; 0 when the place has no line (a command-line argument)
  int column = 0;    // 1-based
};

struct Diagnostic {
  SourceLocation where;
  std::string message;
};

// "file:line:col: error: message", or "label: error: message" without a line.
std::string format_diagnostic(const Diagnostic& d);

using Diagnostics = std::vector<Diagnostic>;

// How many diagnostics of one input are printed; past it, one line says how many more there
// were, as compilers do: a 6 MB file with an error in every item would otherwise print 60,000.
inline constexpr size_t kMaxPrintedDiagnostics = 100;

// The lines to print: the first `limit` diagnostics formatted, then, if there are more,
// "FILE: ... and 59,900 more errors (the first 100 are shown)".
std::vector<std::string> diagnostic_lines(const Diagnostics& diagnostics,
                                          size_t limit = kMaxPrintedDiagnostics);

// 59900 -> "59,900".
std::string group_thousands(size_t n);

}  // namespace faultline
