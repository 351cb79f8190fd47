#include "controller/inventory/host_name.h"

#include <fmt/format.h>

namespace faultline {
namespace {
bool allowed_in_host_name(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-';
}
}  // namespace

std::optional<std::string> host_name_problem(std::string_view name) {
  bool valid = !name.empty() && name.size() <= kMaxHostNameLength;
  std::string repaired;
  for (char c : name) {
    valid &= allowed_in_host_name(c);
    if (repaired.size() < kMaxHostNameLength) repaired += allowed_in_host_name(c) ? c : '-';
  }
  if (valid) return std::nullopt;
  return fmt::format(
      "'{}' is not a valid host name: use 1 to {} letters, digits, '.' and '-'{}", name,
      kMaxHostNameLength,
      repaired.empty() || repaired == name ? "" : fmt::format(" (did you mean '{}'?)", repaired));
}

}  // namespace faultline
