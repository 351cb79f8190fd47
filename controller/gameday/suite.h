#pragma once
// A game-day suite file -> an immutable Suite, or every problem found, each with
// file:line:col and the fix. Format: docs/gameday.md.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/gameday/time_window.h"
#include "controller/verdict/record.h"
#include "core/diagnostic.h"
#include "core/duration.h"

namespace faultline {

// After which scenario results the suite stops (a scenario that fails to revert stops it
// whatever this says: its hosts may still carry the fault).
enum class StopOn { Deviation, Error, Never };

std::string_view stop_on_name(StopOn s);  // "deviation", "error", "never"

// Whether a scenario that ended with `status` ends the suite:
//   deviation: anything but held; error: error or revert_failed; never: revert_failed only.
bool stops_suite(StopOn stop_on, RunStatus status);

struct SuiteScenario {
  std::string file;        // absolute and normalised
  std::string written;     // as the suite file names it, for messages
  std::string history;     // its folder under --history: history_slug of the file's stem
  Duration pause_after{};  // before the next scenario starts
  SourceLocation at;       // the entry in the suite file
};

// Read whole and checked before anything uses it; not changed afterwards.
struct Suite {
  std::string file;  // the suite file, absolute
  std::string title;
  std::optional<std::string> inventory;  // absolute; nullopt: the scenarios act on this host
  StopOn stop_on = StopOn::Deviation;
  Duration max_duration{};           // the whole suite, pauses included
  std::optional<TimeWindow> window;  // nullopt: any time
  size_t history_keep = kDefaultHistoryKeep;
  std::vector<SuiteScenario> scenarios;  // in the order they run

  static constexpr size_t kDefaultHistoryKeep = 7;
};

struct ParsedSuite {
  std::optional<Suite> suite;  // set only when there are no diagnostics
  Diagnostics errors;          // sorted by line and column
};

// `file` names the suite in diagnostics and is where relative paths start from (its folder).
ParsedSuite parse_suite_text(const std::string& text, const std::string& file);
ParsedSuite parse_suite_file(const std::string& path);

}  // namespace faultline
