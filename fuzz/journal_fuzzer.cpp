// libFuzzer target: a journal, as `faultline report` reads it, and every report made from it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "controller/report/report_files.h"
#include "controller/report/run_journal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;
  auto journal = faultline::read_journal(document, "/fuzz/journal.json");
  if (!journal) {
    if (journal.error().message.rfind("/fuzz/journal.json: ", 0) != 0) std::abort();
    return 0;
  }
  const faultline::ReportSet set = faultline::make_report_set({std::move(*journal)});
  for (faultline::ReportFormat f :
       {faultline::ReportFormat::Text, faultline::ReportFormat::Json, faultline::ReportFormat::Junit,
        faultline::ReportFormat::Html, faultline::ReportFormat::Markdown,
        faultline::ReportFormat::Metrics})
    if (faultline::render_report(set, f).empty() && f != faultline::ReportFormat::Metrics)
      std::abort();
  return 0;
}
