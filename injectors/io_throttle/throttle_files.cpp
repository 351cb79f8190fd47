#include "injectors/io_throttle/throttle_files.h"

#include <fmt/format.h>

#include <sstream>

namespace faultline {
namespace {

// The line of `text` whose first word is `device`, without its newline.
std::optional<std::string> device_line(std::string_view text, std::string_view device) {
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(device) && line.size() > device.size() && line[device.size()] == ' ')
      return line;
  return std::nullopt;
}

}  // namespace

std::string IoLimits::keys() const {
  std::string out;
  const auto add = [&](std::string_view key, const std::optional<int64_t>& v) {
    if (v) out += fmt::format("{}{}={}", out.empty() ? "" : " ", key, *v);
  };
  add("rbps", rbps);
  add("wbps", wbps);
  add("riops", riops);
  add("wiops", wiops);
  return out;
}

std::string io_max_line(std::string_view io_max, std::string_view device) {
  return device_line(io_max, device)
      .value_or(fmt::format("{} rbps=max wbps=max riops=max wiops=max", device));
}

std::string blkio_line(std::string_view text, std::string_view device) {
  return device_line(text, device).value_or(fmt::format("{} 0", device));
}

std::vector<ThrottleLine> throttle_lines(const CgroupHierarchy& hierarchy, const std::string& dir,
                                         const std::string& device, const IoLimits& limits) {
  std::vector<ThrottleLine> out;
  if (hierarchy.v2()) {
    const std::string file = dir + "/io.max";
    out.push_back({file, io_max_line(read_cgroup_file(file).value_or(""), device),
                   fmt::format("{} {}", device, limits.keys())});
    return out;
  }
  const auto add = [&](std::string_view name, const std::optional<int64_t>& v) {
    if (!v) return;
    const std::string file = fmt::format("{}/blkio.throttle.{}_device", dir, name);
    out.push_back({file, blkio_line(read_cgroup_file(file).value_or(""), device),
                   fmt::format("{} {}", device, *v)});
  };
  add("read_bps", limits.rbps);
  add("write_bps", limits.wbps);
  add("read_iops", limits.riops);
  add("write_iops", limits.wiops);
  return out;
}

}  // namespace faultline
