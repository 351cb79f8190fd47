#pragma once
// One self-contained HTML file: no network, no external script, font or style (its Content
// Security Policy forbids loading any). Per scenario a timeline (timeline_svg.h) and under it
// the expected-vs-observed tables; a game day adds a summary of its scenarios and their history.
#include <string>

#include "controller/report/report_set.h"

namespace faultline {

std::string format_html(const ReportSet& set);

}  // namespace faultline
