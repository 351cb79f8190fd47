#include "controller/lab/layout.h"

#include <fmt/format.h>

#include <charconv>

namespace faultline::lab {
namespace {

std::optional<int> parse_index(std::string_view digits) {
  int value = 0;
  if (digits.empty() || digits.front() == '0') return std::nullopt;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (value < 1 || value > 999) return std::nullopt;  // any lab of ours, even a future larger one
  return value;
}

}  // namespace

std::string netns_name(int index) {
  return fmt::format("fl-lab-{}", index);
}
std::string host_name(int index) {
  return fmt::format("lab-{}", index);
}
std::string host_veth(int index) {
  return fmt::format("fl-lab-{}-h", index);
}
std::string host_address(int index) {
  return fmt::format("10.213.0.{}", 10 + index);
}
std::string host_role(int index) {
  return index % 2 == 1 ? "app" : "db";
}

std::optional<int> index_of_netns(std::string_view name) {
  if (!name.starts_with("fl-lab-")) return std::nullopt;
  return parse_index(name.substr(7));
}

std::optional<int> index_of_veth(std::string_view name) {
  if (name.size() <= 9 || !name.starts_with("fl-lab-") || !name.ends_with("-h"))
    return std::nullopt;
  return parse_index(name.substr(7, name.size() - 9));
}

std::string LabPaths::agent_config(int index) const {
  return fmt::format("{}/agents/{}.yaml", dir, host_name(index));
}
std::string LabPaths::state_file(int index) const {
  return fmt::format("{}/state/{}.json", dir, host_name(index));
}
std::string LabPaths::log_file(int index) const {
  return fmt::format("{}/logs/{}.log", dir, host_name(index));
}
std::string LabPaths::pid_file(int index) const {
  return fmt::format("{}/run/{}.pid", dir, host_name(index));
}

}  // namespace faultline::lab
