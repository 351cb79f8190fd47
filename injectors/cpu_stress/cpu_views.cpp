#include "injectors/cpu_stress/cpu_views.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace faultline {
namespace {

Result<uint64_t> read_u64(const std::string& path) {
  std::ifstream in(path);
  uint64_t value = 0;
  if (!(in >> value)) return fail("cannot read a number from {}", path);
  return value;
}

}  // namespace

Result<double> proc_stat_busy_seconds(int cpu) {
  std::ifstream in("/proc/stat");
  if (!in) return fail("cannot open /proc/stat");
  const std::string want = cpu < 0 ? "cpu" : "cpu" + std::to_string(cpu);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    if (name != want) continue;
    // user nice system idle iowait irq softirq steal (guest time is already in user and nice)
    uint64_t v[8] = {};
    for (uint64_t& x : v)
      if (!(fields >> x)) return fail("/proc/stat: malformed line '{}'", line);
    const uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return static_cast<double>(busy) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return fail("/proc/stat has no line for {}", want);
}

Result<double> cgroup2_usage_seconds(const std::string& dir) {
  std::ifstream in(dir + "/cpu.stat");
  if (!in) return fail("cannot open {}/cpu.stat", dir);
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value)
    if (key == "usage_usec") return static_cast<double>(value) / 1e6;
  return fail("{}/cpu.stat has no usage_usec", dir);
}

Result<CpuacctUsage> cpuacct_usage_seconds(const std::string& dir) {
  const uint64_t usage = FL_TRY(read_u64(dir + "/cpuacct.usage"));
  const uint64_t user = FL_TRY(read_u64(dir + "/cpuacct.usage_user"));
  const uint64_t sys = FL_TRY(read_u64(dir + "/cpuacct.usage_sys"));
  return CpuacctUsage{.precise = static_cast<double>(usage) / 1e9,
                      .ticks = static_cast<double>(user + sys) / 1e9};
}

std::optional<std::string> cpuacct_mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, dir, type, options, rest;
  while (mounts >> device >> dir >> type >> options && std::getline(mounts, rest)) {
    if (type != "cgroup") continue;
    std::istringstream opts(options);
    for (std::string o; std::getline(opts, o, ',');)
      if (o == "cpuacct") return dir;
  }
  return std::nullopt;
}

}  // namespace faultline
