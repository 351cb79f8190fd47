#include <cstdio>

#include "controller/cli/commands.h"
#include "controller/report/report_files.h"
#include "core/atomic_file.h"

namespace faultline {

int report_command(const std::vector<std::string>& paths, const std::string& format_name,
                   const std::optional<std::string>& out) {
  const auto format = parse_report_format(format_name);
  if (!format) {
    std::fprintf(stderr, "faultline report: error: --format %s\n", format.error().message.c_str());
    return kExitInvalid;
  }
  auto set = load_report_set(paths);
  if (!set) {
    // One line per journal that could not be read.
    std::string_view problems = set.error().message;
    while (!problems.empty()) {
      const size_t end = std::min(problems.find('\n'), problems.size());
      std::fprintf(stderr, "faultline report: error: %.*s\n", static_cast<int>(end),
                   problems.data());
      problems.remove_prefix(std::min(end + 1, problems.size()));
    }
    return kExitInvalid;
  }
  const std::string text = render_report(*set, *format);
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
