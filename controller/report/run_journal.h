#pragma once
// A run's journal read back: what every report (text, JSON, JUnit, Markdown, HTML, metrics) is
// built from. Reports read the journal and nothing else, so they can be made again later and
// elsewhere from saved journals; the run's own summary is made the same way, from the journal
// it has just written (docs/journal.md describes every field).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/result.h"
#include "probes/probe_spec.h"

namespace faultline {

// The journal format's version: bumped when a field changes meaning or goes away.
inline constexpr int kJournalVersion = 1;

struct JournalCheck {
  double t_ms = 0;
  Phase phase = Phase::Before;
  bool ok = false;
  bool could_not_run = false;
  std::string observed;
  std::optional<double> latency_ms;
};

struct JournalPhase {
  Phase phase = Phase::Before;
  size_t checks = 0;
  size_t passed = 0;
  size_t recovering = 0;
  std::string allowed_failed;  // "0%", "12.5%"
  bool ok = true;
  std::optional<double> p95_ms;
};

struct JournalOutage {
  double start_ms = 0;
  double length_ms = 0;
  size_t failed_checks = 0;
  bool ended = true;
  std::string first_observed;
};

struct JournalRecovery {
  bool recovered = false;
  bool needed = false;  // failing when the last fault ended
  std::optional<double> time_to_recover_ms;
  double within_ms = 0;
};

struct JournalProbe {
  std::string name;
  std::string type;  // http, tcp, command, process
  std::string expected;
  std::string on;  // the inventory host that ran it; "" for the controller
  double interval_ms = 0;
  std::optional<double> max_latency_ms;
  std::vector<JournalCheck> checks;
  std::vector<JournalPhase> phases;  // in phase order; only the phases it was judged in
  std::optional<JournalOutage> longest_outage;
  std::optional<JournalRecovery> recovery;
};

struct JournalFault {
  std::string name, kind, target, host;
  nlohmann::json requested;
  std::optional<double> duration_ms;
  double scheduled_ms = 0;
  std::optional<double> applied_ms, reverted_ms;
  bool confirmed = false;
  bool reverted_by_deadline = false;
  std::string ended_by, apply_error, revert_error, summary;
  nlohmann::json observed;
};

struct JournalHostEvent {
  std::string host;
  double at_ms = 0;
  std::string what;
};

struct JournalNetworkEffect {
  std::string fault, probe;
  size_t checks = 0;
  double observed_failed_percent = 0;
  std::optional<double> requested_delay_ms, observed_added_latency_ms;
  std::optional<std::string> requested_loss;
};

struct RunJournal {
  std::string source;  // the file it was read from, for messages
  int journal_version = kJournalVersion;
  std::string faultline_version;
  std::string host;  // where faultline ran
  std::string scenario_file, title;
  uint64_t seed = 0;
  std::string started_at;                 // ISO 8601, UTC
  std::optional<std::string> ended_at;
  bool complete = false;
  std::string status;  // held, deviated, aborted, error, revert_failed; "running" if incomplete
  std::optional<int> exit_code;
  std::string reason;
  std::optional<double> during_start_ms, during_end_ms, end_ms;
  std::optional<std::string> stop_reason;
  std::string error;
  bool faults_skipped = false;
  double recovery_within_ms = 0;
  std::vector<JournalProbe> probes;
  std::vector<JournalFault> faults;
  std::vector<JournalHostEvent> host_events;
  std::vector<JournalNetworkEffect> network_effects;
  std::optional<double> time_to_recover_ms;
};

// Reads a journal; the error names the source and the JSON path of what is wrong
// ("run.json: /probes/0/checks/3/ok: expected a boolean, found a string").
Result<RunJournal> read_journal(const nlohmann::json& document, const std::string& source);
Result<RunJournal> read_journal_file(const std::string& path);

// Milliseconds in a journal back to a Duration, for the renderings shared with the run.
Duration from_ms(double ms);

}  // namespace faultline
