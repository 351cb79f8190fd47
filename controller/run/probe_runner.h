#pragma once
// The steady-state probes of a run, one thread each: every probe checks at its interval in the
// phases it names, each check is recorded in the phase it ended in, and the stop conditions see
// every check as it comes.
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "controller/run/fault_site.h"
#include "controller/run/run_state.h"
#include "controller/run/stop_conditions.h"
#include "probes/probe.h"

namespace faultline {

class ProbeRunner {
 public:
  // Makes the probe of steady_state[i], on its thread (an agent probe connects there).
  using MakeProbe = std::function<std::unique_ptr<Probe>(size_t index)>;

  ProbeRunner(const Scenario& scenario, RunState& state, TimePoint run_start, RunLog log);
  ~ProbeRunner();  // stops them if stop() was not called
  ProbeRunner(const ProbeRunner&) = delete;
  ProbeRunner& operator=(const ProbeRunner&) = delete;

  void start(MakeProbe make);
  // Ends every probe after its current check and waits for all.
  void stop();

 private:
  void loop(size_t index);

  const Scenario& scenario_;
  RunState& state_;
  const TimePoint run_start_;
  RunLog log_;
  StopConditions stops_;
  MakeProbe make_;
  std::vector<std::thread> threads_;
};

}  // namespace faultline
