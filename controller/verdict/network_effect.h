#pragma once
// Observe, don't assume: for a network fault with a delay or a loss, the probes that talk to an
// address in its scope show what the traffic really met. Their median latency while the fault
// was on, against before it, is the delay observed; their failed share is the loss observed.
#include <optional>
#include <string>
#include <vector>

#include "controller/verdict/record.h"
#include "controller/scenario/scenario.h"

namespace faultline {

struct NetworkEffect {
  std::string fault;
  std::string probe;
  std::optional<Duration> requested_delay;
  std::optional<double> observed_delay_ms;  // median during - median before
  std::optional<Percent> requested_loss;
  double observed_failed_percent = 0;  // of the probe's checks while the fault was on
  size_t checks = 0;
};

// The IP literal a probe talks to ("127.0.0.1" from http://127.0.0.1:8080/), if any.
std::optional<std::string> probe_address(const ProbeSpec& probe);

std::vector<NetworkEffect> network_effects(const Scenario& scenario, const RunRecord& record);

// "probe 'db' saw +101.2 ms (requested delay 100ms), 0% failed".
std::string describe(const NetworkEffect& effect);

}  // namespace faultline
