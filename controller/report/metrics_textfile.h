#pragma once
// A run's results for Prometheus's node_exporter textfile collector: status, time to recover,
// failure ratio per probe and phase, when the run ended. Batch runs (a nightly game day) have
// no endpoint to scrape; node_exporter reads this file from its --collector.textfile.directory.
#include <string>

#include "controller/report/report_set.h"

namespace faultline {

std::string format_metrics_textfile(const ReportSet& set);

}  // namespace faultline
