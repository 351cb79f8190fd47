#include "controller/cli/console.h"

#include <unistd.h>

#include <cstdio>

namespace faultline {

Console::Console() : tty_(isatty(STDERR_FILENO) == 1), start_(Clock::now()) {}

void Console::clear_status_locked() {
  if (tty_ && status_shown_) std::fputs("\r\033[K", stderr);
  status_shown_ = false;
}

void Console::log(const std::string& line) {
  std::lock_guard lock(mutex_);
  clear_status_locked();
  std::fprintf(stderr, "[%7.2fs] %s\n", to_ms(Clock::now() - start_) / 1000.0, line.c_str());
  if (tty_ && !last_status_.empty()) {
    std::fputs(last_status_.c_str(), stderr);
    status_shown_ = true;
  }
  std::fflush(stderr);
}

void Console::status(const LiveStatus& st) {
  if (!tty_) return;
  const TimePoint now = Clock::now();
  std::lock_guard lock(mutex_);
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  std::string line =
      fmt::format("[{}] {:.1f}/{:.1f} s | faults active: {} |", phase_name(st.phase),
                  to_ms(st.elapsed) / 1000.0, to_ms(st.total) / 1000.0, st.active_faults);
  for (const auto& [name, counts] : st.probes)
    line += fmt::format(" {} {} ok {} failed", name, counts.first, counts.second);
  clear_status_locked();
  last_status_ = line;
  std::fputs(line.c_str(), stderr);
  status_shown_ = true;
  std::fflush(stderr);
}

void Console::finish() {
  std::lock_guard lock(mutex_);
  clear_status_locked();
  last_status_.clear();
  std::fflush(stderr);
}

}  // namespace faultline
