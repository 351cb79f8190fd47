#include "injectors/block/io_counters.h"

#include <charconv>
#include <sstream>

namespace faultline {
namespace {

int64_t to_number(std::string_view text) {
  int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace

nlohmann::json IoCounters::to_json() const {
  return {{"rbytes", rbytes}, {"wbytes", wbytes}, {"rios", rios}, {"wios", wios}};
}

IoCounters parse_io_stat(std::string_view text, std::string_view device) {
  IoCounters c;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string first;
    if (!(words >> first) || first != device) continue;
    for (std::string kv; words >> kv;) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) continue;
      const std::string_view key = std::string_view(kv).substr(0, eq);
      const int64_t value = to_number(std::string_view(kv).substr(eq + 1));
      if (key == "rbytes") c.rbytes = value;
      if (key == "wbytes") c.wbytes = value;
      if (key == "rios") c.rios = value;
      if (key == "wios") c.wios = value;
    }
  }
  return c;
}

IoCounters parse_blkio_v1(std::string_view service_bytes, std::string_view serviced,
                          std::string_view device) {
  IoCounters c;
  const auto scan = [&](std::string_view text, int64_t& read, int64_t& write) {
    std::istringstream lines{std::string(text)};
    std::string dev, op;
    int64_t value = 0;
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      if (!(words >> dev >> op >> value) || dev != device) continue;
      if (op == "Read") read = value;
      if (op == "Write") write = value;
    }
  };
  scan(service_bytes, c.rbytes, c.wbytes);
  scan(serviced, c.rios, c.wios);
  return c;
}

std::optional<IoCounters> read_io_counters(const CgroupHierarchy& hierarchy,
                                           const std::string& dir, const std::string& device) {
  if (hierarchy.v2()) {
    auto text = read_cgroup_file(dir + "/io.stat");
    if (!text) return std::nullopt;
    return parse_io_stat(*text, device);
  }
  // The _recursive files count the cgroups below too, as io.stat does on v2 (a probe runs in a
  // cgroup below the target's).
  auto bytes = read_cgroup_file(dir + "/blkio.throttle.io_service_bytes_recursive");
  auto ios = read_cgroup_file(dir + "/blkio.throttle.io_serviced_recursive");
  if (!bytes || !ios) return std::nullopt;
  return parse_blkio_v1(*bytes, *ios, device);
}

std::string io_counters_source(const CgroupHierarchy& hierarchy) {
  return hierarchy.v2() ? "io.stat" : "blkio.throttle.io_service_bytes_recursive and io_serviced_recursive";
}

}  // namespace faultline
