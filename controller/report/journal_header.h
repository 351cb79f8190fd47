#pragma once
// The few fields of a journal that a scenario's history needs (which scenario, when, how it
// ended), read without building the whole document. A journal of a 1-hour run is ~2.5 MB, nearly
// all of it checks; a report over 30 of them reads every file but builds only the newest of
// each scenario in full. simdjson's on-demand parser skips the rest at memory speed.
#include <optional>
#include <string>

#include "core/result.h"

namespace faultline {

struct JournalHeader {
  std::string path;
  std::string scenario_file, title;
  std::string started_at;
  std::string status;
  bool complete = false;
  uint64_t seed = 0;
  std::optional<double> time_to_recover_ms;
};

Result<JournalHeader> read_journal_header(const std::string& path);

}  // namespace faultline
