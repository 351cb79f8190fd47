#include "core/diagnostic.h"

#include <fmt/format.h>

namespace faultline {

std::string format_diagnostic(const Diagnostic& d) {
  if (d.where.line > 0)
    return fmt::format("{}:{}:{}: error: {}", d.where.file, d.where.line, d.where.column,
                       d.message);
  return fmt::format("{}: error: {}", d.where.file, d.message);
}

}  // namespace faultline
