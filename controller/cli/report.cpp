#include <cstdio>

#include "controller/cli/commands.h"
#include "controller/report/report_files.h"
#include "controller/report/run_journal.h"
#include "core/atomic_file.h"

namespace faultline {

int report_command(const std::vector<std::string>& paths, const std::string& format_name,
                   const std::optional<std::string>& out) {
  const auto format = parse_report_format(format_name);
  if (!format) {
    std::fprintf(stderr, "faultline report: error: --format %s\n", format.error().message.c_str());
    return kExitInvalid;
  }
  std::vector<RunJournal> journals;
  bool bad = false;
  for (const std::string& path : paths) {
    auto journal = read_journal_file(path);
    if (!journal) {
      std::fprintf(stderr, "faultline report: error: %s\n", journal.error().message.c_str());
      bad = true;
      continue;
    }
    journals.push_back(std::move(*journal));
  }
  if (bad) return kExitInvalid;
  const std::string text = render_report(make_report_set(std::move(journals)), *format);
  if (!out) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  if (auto w = write_file_atomically(*out, text); !w) {
    std::fprintf(stderr, "faultline report: error: %s\n", w.error().message.c_str());
    return kExitError;
  }
  return 0;
}

}  // namespace faultline
