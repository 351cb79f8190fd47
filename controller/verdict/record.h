#pragma once
// What happened in a run, as it happens: the engine appends to it, the verdict reads it, the
// journal and the summary print it.
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controller/scenario/scenario.h"
#include "core/duration.h"

namespace faultline {

// The documented exit codes, one per status; revert_failed is the loudest.
enum class RunStatus { Held, Deviated, Aborted, Error, RevertFailed };
std::string_view status_name(RunStatus s);
int exit_code(RunStatus s);
// The status an exit code of `faultline run` stands for; a code that is not a run's status
// (2: refused, or a crash) is an error.
RunStatus status_from_exit_code(int code);
// How loud a status is, as judge_run ranks them within one run: revert_failed, aborted, error,
// deviated, held. A suite's status is its loudest run's.
int loudness(RunStatus s);

struct CheckRecord {
  Duration t{};  // since the run started
  Phase phase = Phase::Before;
  bool ok = false;
  std::string observed;
  std::optional<Duration> latency;
  // No check was made (the probe is broken, the agent refused it or was not reached): neither
  // passed nor failed, and the run ends as an error.
  bool could_not_run = false;
};

struct ProbeRecord {
  std::string name;
  std::string expected;
  std::vector<CheckRecord> checks;
};

struct FaultRecord {
  std::string name;
  std::string kind;
  std::string target;
  std::string host = "local";  // where it acted: "local", or an inventory host (one record each)
  nlohmann::json requested;
  std::optional<Duration> duration;
  Duration scheduled_at{};  // since the run started
  std::optional<Duration> applied_at;
  std::optional<Duration> reverted_at;
  bool reverted_by_deadline = false;
  std::string ended_by;  // on an agent: controller, lease, deadline, shutdown
  std::string apply_error;
  std::string revert_error;
  nlohmann::json observed;
  std::string summary;
  bool confirmed = false;
};

struct RunRecord {
  std::string scenario_file;
  std::string title;
  uint64_t seed = 0;
  std::chrono::system_clock::time_point started_wall{};
  std::optional<Duration> ended_at;  // since the run started
  std::optional<Duration> during_start;
  std::optional<Duration> during_end;
  std::optional<std::string> stop_reason;  // a stop condition fired or a signal came
  std::string error;                       // a fault could not be injected, etc.
  bool faults_skipped = false;             // the steady state did not hold before
  std::vector<ProbeRecord> probes;
  std::vector<FaultRecord> faults;
  // Agents that stopped answering, and came back, during the run.
  struct HostEvent {
    std::string host;
    Duration at{};
    std::string what;
  };
  std::vector<HostEvent> host_events;
};

}  // namespace faultline
