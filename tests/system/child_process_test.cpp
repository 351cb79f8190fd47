// The test harness's own promise: a child a test starts never outlives the test process, even
// when that process ends without running destructors (a sanitizer halting it, a crash). Such a
// survivor held CTest's output pipe open, and the TSan run waited on a `sleep 1000` for minutes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "core/poll.h"
#include "tests/support/child_process.h"

namespace faultline::test {
namespace {

// Gone, or a zombie that only its new parent has yet to reap.
bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

TEST_CASE("a test's child dies with the test process, destructors or not", "[support]") {
  int pids[2];
  REQUIRE(pipe(pids) == 0);
  const pid_t test_process = fork();
  REQUIRE(test_process >= 0);
  if (test_process == 0) {
    // Stands for a test process that a sanitizer halts: it starts a child and _exits.
    close(pids[0]);
    auto* child = new ChildProcess("/bin/sleep", "fl-test-outlive", sleep_args());
    const pid_t pid = child->pid();
    (void)!write(pids[1], &pid, sizeof pid);
    _exit(0);
  }
  close(pids[1]);
  pid_t child = 0;
  const ssize_t n = read(pids[0], &child, sizeof child);
  close(pids[0]);
  int status = 0;
  REQUIRE(waitpid(test_process, &status, 0) == test_process);
  REQUIRE(n == static_cast<ssize_t>(sizeof child));
  REQUIRE(child > 0);
  const bool died = poll_until([&] { return gone(child); }, std::chrono::seconds(2));
  if (!died) ::kill(child, SIGKILL);
  CHECK(died);
}

TEST_CASE("a program that cannot be run is refused with its reason", "[support]") {
  CHECK_THROWS_WITH(ChildProcess("/nonexistent/prog", "fl-test-none", {}),
                    "cannot start /nonexistent/prog: No such file or directory");
}

}  // namespace
}  // namespace faultline::test
