#pragma once
// Phrases every report format shares, so that the text summary, JUnit messages, Markdown and
// HTML say the same thing the same way.
#include <string>

#include "controller/report/run_journal.h"

namespace faultline {

// "longest outage 2.00 s from +4.00 s: 3 failed checks"
std::string describe_outage(const JournalOutage& outage);
// "probe 'db' during 'slow-db': latency +101.2 ms (requested delay 100ms), 0% of 9 checks failed"
std::string describe_effect(const JournalNetworkEffect& effect);
// "+4.0 s agent web-1: UNREACHABLE ..."
std::string describe_event(const JournalHostEvent& event);
// "before the faults", "during the faults", "after the faults"
std::string phase_words(Phase phase);
// "4/9 checks failed during the faults, allowed 0%; longest outage 2.00 s from +4.00 s"
std::string describe_phase_failure(const JournalProbe& probe, const JournalPhase& phase);
// "held", "DEVIATED", ... as a headline word.
std::string status_headline(const RunJournal& run);
// A probe's phase result in a few words: "20/20 ok, p95 12.0 ms".
std::string phase_cell(const JournalPhase& phase);

}  // namespace faultline
