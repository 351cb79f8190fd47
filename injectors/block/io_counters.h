#pragma once
// A cgroup's I/O on one device, as the kernel counts it: io.stat on cgroup v2 ("7:0 rbytes=...
// wbytes=... rios=... wios=..."), blkio.throttle.io_service_bytes and io_serviced on v1 ("7:0
// Read N"). What the I/O faults report as the kernel's view beside their own measurements.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "injectors/linux/cgroup_hierarchy.h"

namespace faultline {

struct IoCounters {
  int64_t rbytes = 0;
  int64_t wbytes = 0;
  int64_t rios = 0;
  int64_t wios = 0;

  IoCounters operator-(const IoCounters& o) const {
    return {rbytes - o.rbytes, wbytes - o.wbytes, rios - o.rios, wios - o.wios};
  }
  nlohmann::json to_json() const;
};

// The device's counters in io.stat's text; zeros when it has no line (no I/O yet).
IoCounters parse_io_stat(std::string_view text, std::string_view device);
// The same from v1's blkio.throttle.io_service_bytes (bytes) and io_serviced (ios) texts.
IoCounters parse_blkio_v1(std::string_view service_bytes, std::string_view serviced,
                          std::string_view device);

// The counters of the cgroup at `dir` for `device` ("7:0"); nullopt when its files cannot be read.
std::optional<IoCounters> read_io_counters(const CgroupHierarchy& hierarchy,
                                           const std::string& dir, const std::string& device);

// Which files read_io_counters reads, for messages ("io.stat", "blkio.throttle.io_service_bytes").
std::string io_counters_source(const CgroupHierarchy& hierarchy);

}  // namespace faultline
