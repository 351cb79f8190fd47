#pragma once
// The report printed at the end of a run: per probe and phase, expected against observed; per
// fault, requested against observed; then the verdict.
#include <string>

#include "controller/verdict/record.h"
#include "controller/verdict/verdict.h"

namespace faultline {

std::string format_summary(const Scenario& scenario, const RunRecord& record,
                           const Verdict& verdict);

// "before 20/20 ok, p95 12.0 ms" for one phase.
std::string format_phase(Phase phase, const PhaseResult& result);

}  // namespace faultline
