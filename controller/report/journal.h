#pragma once
// The run's journal: JSON that is rewritten as the run goes, always whole. Each write goes to a
// temporary file beside the journal, is fsynced, and is renamed over it, so a crash or a kill at
// any moment leaves either the previous complete journal or the new one, never a torn file.
#include <nlohmann/json.hpp>
#include <string>

#include "controller/run/record.h"
#include "controller/run/verdict.h"
#include "core/result.h"

namespace faultline {

// `verdict` is null while the run is in progress ("complete": false).
nlohmann::json journal_json(const Scenario& scenario, const RunRecord& record,
                            const Verdict* verdict);

// Writes `content` to `path` atomically (temporary file, fsync, rename, fsync of the folder).
Result<void> write_file_atomically(const std::string& path, const std::string& content);

}  // namespace faultline
