#pragma once
// Keeps a run's journal on disk while it runs: rewritten atomically (temp file, fsync, rename)
// after every event and at least every second, so a run cut short still leaves its evidence.
#include <optional>
#include <string>

#include "controller/scenario/scenario.h"
#include "controller/verdict/record.h"
#include "controller/verdict/verdict.h"
#include "controller/run/fault_site.h"

namespace faultline {

class JournalWriter {
 public:
  JournalWriter(std::optional<std::string> path, RunLog log);

  // Whether periodic progress is due.
  bool due(TimePoint now) const;
  // The journal's text for the record as it is (the caller holds the record's lock).
  std::string render(const Scenario& scenario, const RunRecord& record,
                     const Verdict* verdict) const;
  // Writes what render() gave; a failure is logged once, not repeated every second.
  void store(const std::string& text);
  bool enabled() const { return path_.has_value(); }

 private:
  const std::optional<std::string> path_;
  RunLog log_;
  TimePoint last_{};
  bool warned_ = false;
};

}  // namespace faultline
