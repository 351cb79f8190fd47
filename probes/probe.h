#pragma once
// A steady-state probe: one check observes the system and says whether it met the expectation.
#include <memory>
#include <optional>
#include <string>

#include "probes/probe_spec.h"
#include "core/duration.h"

namespace faultline {

struct CheckResult {
  bool ok = false;
  std::string observed;             // "200 in 3.1 ms", "connection refused", "exit 1"
  std::optional<Duration> latency;  // for http and tcp
  bool could_not_run = false;       // the probe itself is broken (not the system under test)
};

class Probe {
 public:
  virtual ~Probe() = default;
  virtual CheckResult check() = 0;
};

// The expectation in words, for reports ("status 200 within 200ms").
std::string describe_expectation(const ProbeSpec& spec);

std::unique_ptr<Probe> make_probe(const ProbeSpec& spec);

// Probe kinds, one file each.
std::unique_ptr<Probe> make_http_probe(const ProbeSpec& spec);
std::unique_ptr<Probe> make_tcp_probe(const ProbeSpec& spec);
std::unique_ptr<Probe> make_command_probe(const ProbeSpec& spec);
std::unique_ptr<Probe> make_process_probe(const ProbeSpec& spec);

}  // namespace faultline
