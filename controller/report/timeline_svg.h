#pragma once
// The run drawn as an SVG timeline: one lane per probe (its checks, passed and failed, and its
// latency against `max_latency`), each fault's window per host, the phases and their verdicts,
// the longest outage, the time to recover and the agents' events.
//
// Long runs are drawn smaller without hiding anything: a lane with more checks than the plot
// has room for keeps each time bucket's lowest and highest latency, and every failed check is
// drawn on its own. Runs of passing checks become one bar. Nothing is averaged, so an outage
// of one check still shows.
#include <string>

#include "controller/report/run_journal.h"

namespace faultline {

struct TimelineOptions {
  int width = 1100;          // of the whole drawing, in CSS pixels
  size_t max_points = 1000;  // per lane before latency is bucketed
};

std::string timeline_svg(const RunJournal& run, const TimelineOptions& options = {});

}  // namespace faultline
