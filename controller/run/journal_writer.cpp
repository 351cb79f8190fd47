#include "controller/run/journal_writer.h"

#include <fmt/format.h>

#include "controller/report/journal.h"
#include "core/atomic_file.h"

namespace faultline {
namespace {

// Progress is written to the journal at least this often while probes run.
constexpr Duration kJournalEvery = std::chrono::seconds(1);

}  // namespace

JournalWriter::JournalWriter(std::optional<std::string> path, RunLog log)
    : path_(std::move(path)), log_(std::move(log)) {}

bool JournalWriter::due(TimePoint now) const { return now - last_ >= kJournalEvery; }

std::string JournalWriter::render(const Scenario& scenario, const RunRecord& record,
                                  const Verdict* verdict) const {
  // Process names and command output need not be UTF-8; replace what is not.
  return journal_json(scenario, record, verdict)
             .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

void JournalWriter::store(const std::string& text) {
  last_ = Clock::now();
  if (!path_) return;
  if (auto w = write_file_atomically(*path_, text); !w && !warned_) {
    warned_ = true;
    log_(fmt::format("cannot write the journal: {}", w.error().message));
  }
}

}  // namespace faultline
