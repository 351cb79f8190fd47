#include "tests/support/guardian.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/poll.h"

namespace faultline::test {

std::optional<pid_t> guardian_of(pid_t parent) {
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = item.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(item.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ppid ...
    const size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    if (line.substr(open + 1, close - open - 1) != "faultline-guard") continue;
    char state = 0;
    long ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) != 2) continue;
    if (ppid == parent && state != 'Z') return static_cast<pid_t>(std::stol(name));
  }
  return std::nullopt;
}

bool kill_guardian_of(pid_t parent) {
  const std::optional<pid_t> guardian = guardian_of(parent);
  if (!guardian) return false;
  ::kill(*guardian, SIGKILL);
  // Its parent reaps it; gone from the running means it can no longer act.
  return poll_until([&] { return !guardian_of(parent); }, std::chrono::seconds(5));
}

}  // namespace faultline::test
