#pragma once
// `--history DIR`: the last journals of each scenario, kept so that a report can show how its
// verdicts and time to recover moved over the last runs. One folder per scenario, one file per
// run, named so that sorting the names sorts the runs:
//   DIR/<name>/<started_at as UTC, basic ISO 8601>-<seed>.json
//   history/web-latency/20261208T010000.123Z-42.json
// The journal is copied in whole (core/atomic_file.h: a crash leaves the old set or the new
// one), then the oldest beyond `keep` are removed. The journal's format is the run's; only
// the fields below are read.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace faultline {

struct StoredJournal {
  std::string path;        // DIR/<name>/<file name>
  std::string started_at;  // as the journal has it: "2026-12-08T01:00:00.123Z"
  uint64_t seed = 0;
  std::string title;          // scenario.title
  std::string scenario_file;  // scenario.file
  std::string status;         // "held", "deviated", "aborted", "error", "revert_failed"
  std::optional<double> time_to_recover_ms;
  bool operator==(const StoredJournal&) const = default;
};

// A scenario's folder name under DIR: lower-case letters and digits, every other run of
// characters one '-'. "Web Latency (p99)" -> "web-latency-p99"; "" -> "scenario".
std::string history_slug(std::string_view text);

// Copies the finished journal at `journal_path` into DIR/<name>/ (creating folders as needed),
// then keeps only the newest `keep` (at least 1) of that folder. A journal whose status is
// still "running", or without started_at, seed or status, is refused with the reason.
Result<StoredJournal> store_journal(const std::string& history_dir, std::string_view name,
                                    const std::string& journal_path, size_t keep);

// Removes all but the newest `keep` journals of DIR/<name>; the paths removed, oldest first.
// Only files named as store_journal names them are counted or touched.
Result<std::vector<std::string>> prune_history(const std::string& history_dir,
                                               std::string_view name, size_t keep);

// The paths of DIR/<name>'s journals, oldest first, without reading them (a report reads them
// itself); none when the folder does not exist.
Result<std::vector<std::string>> history_paths(const std::string& history_dir,
                                               std::string_view name);

// DIR/<name>'s journals, oldest first; none when the folder does not exist. A journal that
// cannot be read is an error naming it.
Result<std::vector<StoredJournal>> list_history(const std::string& history_dir,
                                                std::string_view name);

}  // namespace faultline
