#pragma once
// Judging a run: each probe's checks per phase against its tolerance, the time to recover after
// the faults, and the run's status. Pure functions of the record, so they are tested exactly.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/verdict/record.h"
#include "controller/scenario/scenario.h"

namespace faultline {

// True when failed/checks <= allowed, in exact integer arithmetic.
bool within_tolerance(size_t checks, size_t passed, Percent allowed_failed);

struct PhaseResult {
  size_t checks = 0;
  size_t passed = 0;
  size_t recovering = 0;  // after phase: failed checks before recovery, judged by recovery.within
  Percent allowed_failed{};
  std::optional<double> p95_ms;
  bool ok = true;
};

// The longest run of consecutive failed checks while or after faults were active: from the
// first failed check to the first passing one after it.
struct Outage {
  Duration start{};  // since the run started
  Duration length{};
  size_t failed_checks = 0;
  bool ended = true;  // false: still failing when the run ended
  std::string first_observed;
};

struct ProbeVerdict {
  std::string name;
  std::map<Phase, PhaseResult> phases;  // only the phases the probe ran in
  bool judged_recovery = false;         // the probe runs after the faults
  bool recovered = false;
  std::optional<Duration> time_to_recover;  // from the end of the faults to the first pass
  bool needed_recovery = false;             // it was failing when the faults ended
  std::optional<Outage> longest_outage;
};

// Over the checks of the during and after phases.
std::optional<Outage> longest_outage(const ProbeRecord& record);

struct Verdict {
  RunStatus status = RunStatus::Held;
  std::string reason;
  std::vector<ProbeVerdict> probes;
  std::optional<Duration> time_to_recover;  // the slowest probe's
  std::vector<std::string> host_events;     // agents lost and found during the run
};

// Whether the faults may start, at the end of the before phase. Only completed checks are
// evidence: a probe that runs before the faults but completed no check there (its checks take
// longer than phases.before, or could not run) says nothing, and nothing is injected on nothing.
struct BeforeGate {
  enum class Outcome { Inject, Deviated, NoEvidence };
  Outcome outcome = Outcome::Inject;
  std::string reason;  // NoEvidence: which probe, and what to change
};
BeforeGate judge_before(const Scenario& scenario, const RunRecord& record);

// Checks that could not run are neither passes nor failures: they are left out of every count.
// `during_end`: when the last fault ended (nullopt when no fault ran).
ProbeVerdict judge_probe(const ProbeSpec& spec, const ProbeRecord& record,
                         std::optional<Duration> during_end, Duration recovery_within);

// 95th percentile, nearest rank.
std::optional<double> p95(std::vector<double> values);

Verdict judge_run(const Scenario& scenario, const RunRecord& record);

}  // namespace faultline
