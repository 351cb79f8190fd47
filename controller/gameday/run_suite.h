#pragma once
// Running a game-day suite: its scenarios in order, each as its own `faultline run` process
// (its own guardian, undo file and journal, as when run by hand), within the suite's
// max_duration and time window, until stop_on says stop. Then the combined report.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "controller/gameday/suite.h"
#include "controller/report/report_set.h"
#include "core/duration.h"

namespace faultline {

struct SuiteRunOptions {
  std::string faultline_binary;     // runs each scenario: FAULTLINE run FILE --journal ...
  std::string journal_dir;          // each scenario's journal: NN-<history name>.json
  std::optional<std::string> history_dir;
  Duration lease = std::chrono::seconds(5);
  bool ignore_window = false;
  std::function<void(const std::string&)> say;  // progress lines for the terminal
  const std::atomic<int>* interrupt = nullptr;  // a stop signal: the running scenario is
                                                // interrupted (it reverts), no other starts
};

struct ScenarioOutcome {
  std::string file;
  std::optional<std::string> journal;  // absent if the run wrote none (refused, or killed)
  int exit_code = 0;
};

struct SuiteOutcome {
  std::vector<ScenarioOutcome> ran;
  std::vector<std::string> not_run;  // scenario files, with why: "b.yaml (stopped after a.yaml)"
  std::string note;                  // why the suite ended early, or ""
  int exit_code = 0;                 // the loudest of the scenarios that ran
};

// `opening_closes`: when the suite's window closes (nullopt: no window, or ignored);
// `scenario_lengths`: each scenario's planned length (its timeline's total).
SuiteOutcome run_suite(const Suite& suite, const SuiteRunOptions& options,
                       std::optional<std::chrono::system_clock::time_point> opening_closes,
                       const std::vector<Duration>& scenario_lengths);

// The journals a report of the suite is made from: for each scenario that ran, its journal,
// or with --history its kept journals (this run's among them), so the report shows its trend.
std::vector<std::string> report_journals(const Suite& suite, const SuiteOutcome& outcome,
                                         const std::optional<std::string>& history_dir);

}  // namespace faultline
