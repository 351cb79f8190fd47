#pragma once
// The throttle lines io_throttle writes and puts back, one device at a time. On cgroup v2 one
// file, io.max, holds a line per device ("7:0 rbps=4194304 wbps=max riops=max wiops=max"); a
// write changes only the keys it names, and a device without a line has no limit. On v1 each
// limit has its own file (blkio.throttle.write_bps_device: "7:0 4194304"); "7:0 0" removes it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "injectors/linux/cgroup_hierarchy.h"

namespace faultline {

struct IoLimits {
  std::optional<int64_t> rbps, wbps, riops, wiops;
  bool empty() const { return !rbps && !wbps && !riops && !wiops; }
  // "wbps=4194304 riops=100": io.max's keys, only those set.
  std::string keys() const;
};

// One throttle file: what io_throttle writes there and what puts it back as it was.
struct ThrottleLine {
  std::string file;      // ".../io.max", ".../blkio.throttle.write_bps_device"
  std::string previous;  // the line to write back
  std::string limit;     // the line io_throttle writes
};

// The device's line in io.max's text, or the line that means no limit
// ("7:0 rbps=max wbps=max riops=max wiops=max") when it has none.
std::string io_max_line(std::string_view io_max, std::string_view device);
// The device's line in a v1 blkio.throttle.*_device file's text, or "7:0 0" (no limit).
std::string blkio_line(std::string_view text, std::string_view device);

// The lines for `limits` on `device` in the cgroup at `dir`, with the previous values read from
// the files now (a file that cannot be read has no limit for the device).
std::vector<ThrottleLine> throttle_lines(const CgroupHierarchy& hierarchy, const std::string& dir,
                                         const std::string& device, const IoLimits& limits);

}  // namespace faultline
