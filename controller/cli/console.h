#pragma once
// Output for a person: log lines, and on a terminal a live one-line status under them.
#include <mutex>
#include <string>

#include "controller/run/engine.h"

namespace faultline {

class Console {
 public:
  Console();
  // A timestamped event line on stderr.
  void log(const std::string& line);
  // Redraws the status line (on a terminal only; at most a few times a second).
  void status(const LiveStatus& status);
  // Removes the status line before the summary is printed.
  void finish();

 private:
  void clear_status_locked();
  std::mutex mutex_;
  bool tty_ = false;
  bool status_shown_ = false;
  std::string last_status_;
  TimePoint last_draw_{};
  TimePoint start_;
};

}  // namespace faultline
