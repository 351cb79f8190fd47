#pragma once
// What one report covers: the newest journal of each scenario, in the order given, and the
// older journals of the same scenario as its history ("time to recover 0.4 s -> 1.9 s over
// the last 7 runs"). A run's own report is a set of one; a game day's, one per scenario.
#include <string>
#include <vector>

#include "controller/report/run_journal.h"
#include "core/result.h"

namespace faultline {

// One earlier (or the latest) run of a scenario, as its history shows it.
struct HistoryPoint {
  std::string started_at;
  std::string status;
  uint64_t seed = 0;
  std::optional<double> time_to_recover_ms;
};

struct ScenarioReport {
  RunJournal run;                     // the newest journal of the scenario
  std::vector<HistoryPoint> history;  // oldest first, the newest included; one point: no history
};

struct ReportSet {
  std::string title;  // the game day's title, or the scenario's for one run
  std::vector<ScenarioReport> scenarios;
  // Time the suite took and why it stopped early, for game days; empty for a plain run.
  std::string note;
};

// Groups journals by scenario (file and title), newest last by start time. The first journal
// of a scenario fixes its place in the report.
ReportSet make_report_set(std::vector<RunJournal> journals, std::string title = "");

// "time to recover 0.40 s -> 1.90 s over the last 7 runs; verdicts: held x6, deviated x1", or
// "" when there is no earlier run.
std::string describe_history(const ScenarioReport& scenario);

// The loudest status of the set, as a process exit code, ranked as one run ranks its own:
// revert_failed (5) > aborted (3) > error (4) > deviated (1) > held (0). An incomplete journal
// counts as an error.
int loudest_exit_code(const ReportSet& set);

}  // namespace faultline

namespace faultline {

// The same set from journal files: every file's header is read (journal_header.h) and only the
// newest journal of each scenario in full. Every file that cannot be read is named.
Result<ReportSet> load_report_set(const std::vector<std::string>& paths, std::string title = "");

}  // namespace faultline
