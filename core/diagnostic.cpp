#include "core/diagnostic.h"

#include <fmt/format.h>

namespace faultline {

std::string format_diagnostic(const Diagnostic& d) {
  if (d.where.line > 0)
    return fmt::format("{}:{}:{}: error: {}", d.where.file, d.where.line, d.where.column,
                       d.message);
  return fmt::format("{}: error: {}", d.where.file, d.message);
}

std::string group_thousands(size_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::vector<std::string> diagnostic_lines(const Diagnostics& diagnostics, size_t limit) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < diagnostics.size() && i < limit; ++i)
    lines.push_back(format_diagnostic(diagnostics[i]));
  if (diagnostics.size() > limit) {
    const size_t more = diagnostics.size() - limit;
    lines.push_back(fmt::format("{}: ... and {} more error{} (the first {} are shown)",
                                diagnostics[limit].where.file, group_thousands(more),
                                more == 1 ? "" : "s", group_thousands(limit)));
  }
  return lines;
}

}  // namespace faultline
