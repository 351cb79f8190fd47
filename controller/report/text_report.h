#pragma once
// The report printed at the end of a run, and `faultline report --format text`: per probe and
// phase, expected against observed; per fault, requested against observed; then the verdict.
// Made from the journal alone, so a saved journal gives back the run's summary exactly.
#include <string>

#include "controller/report/run_journal.h"

namespace faultline {

std::string format_text(const RunJournal& run);

// "before 20/20 ok, p95 12.0 ms" for one phase.
std::string format_phase(const JournalPhase& result);

}  // namespace faultline
