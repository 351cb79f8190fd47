#pragma once
// The run's journal: JSON that is rewritten as the run goes, always whole (written with
// write_file_atomically, core/atomic_file.h).
#include <nlohmann/json.hpp>
#include <string>

#include "controller/verdict/record.h"
#include "controller/verdict/verdict.h"
#include "controller/report/run_journal.h"
#include "core/result.h"

namespace faultline {

// `verdict` is null while the run is in progress ("complete": false).
nlohmann::json journal_json(const Scenario& scenario, const RunRecord& record,
                            const Verdict* verdict);

}  // namespace faultline
