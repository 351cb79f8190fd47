// libFuzzer target: a game-day suite file (scenarios, stop_on, the time window), and the window
// it accepts asked when it is open.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "controller/gameday/suite.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Relative paths start from /fuzz, which does not exist: only absolute paths of files that
  // do (/etc/hostname) can be accepted.
  const faultline::ParsedSuite parsed = faultline::parse_suite_text(text, "/fuzz/suite.yaml");
  if (parsed.suite.has_value() != parsed.errors.empty()) std::abort();
  for (const faultline::Diagnostic& d : parsed.errors) (void)faultline::format_diagnostic(d);
  if (!parsed.suite) return 0;
  const faultline::Suite& s = *parsed.suite;
  if (s.scenarios.empty() || s.max_duration < std::chrono::seconds(1)) std::abort();
  if (s.window) {
    const faultline::TimeWindow& w = *s.window;
    if (w.zone == nullptr || w.from == w.to) std::abort();
    // Every accepted window opens: within two weeks of any instant there is an opening.
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1796691600));
    const auto next = faultline::next_opening(w, now);
    if (!next || next->opens <= now || next->closes <= next->opens) std::abort();
    if (const auto current = faultline::current_opening(w, now))
      if (current->opens > now || current->closes <= now) std::abort();
    (void)faultline::describe_window(w);
    (void)faultline::format_wall_time(w, next->opens);
  }
  return 0;
}
