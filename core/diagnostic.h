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

}  // namespace faultline
