#pragma once
// Markdown for a pull-request comment or $GITHUB_STEP_SUMMARY: the verdict first, then the
// probes and faults as tables.
#include <string>

#include "controller/report/report_set.h"

namespace faultline {

std::string format_markdown(const ReportSet& set);

}  // namespace faultline
