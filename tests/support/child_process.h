#pragma once
// Real processes for tests: started with a recognisable argv[0] ("fl-test-..."), killed and
// reaped when the handle goes away, so a failing test still leaves nothing behind.
#include <sys/types.h>

#include <string>
#include <vector>

namespace faultline::test {

class ChildProcess {
 public:
  // Runs `program` with argv {name, args...}.
  ChildProcess(const std::string& program, const std::string& name,
               const std::vector<std::string>& args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True once the child has exited (reaps it).
  bool exited();
  // Waits up to `ms` for the child to exit.
  bool wait_exit(int ms);
  // Once exited(): the signal that ended it, or 0 when it exited by itself; its exit code, or -1
  // when a signal ended it.
  int killed_by() const;
  int exit_code() const;
  char state() const;  // from /proc: 'S', 'R', 'T', ...

 private:
  pid_t pid_ = 0;
  bool reaped_ = false;
  int status_ = 0;  // from waitpid, once reaped
};

// A sleeping child named `name` (comm "sleep", argv[0] `name`).
inline std::vector<std::string> sleep_args() {
  return {"1000"};
}

// Exits the test as skipped (code 77, which CTest reports as "Skipped") with the reason.
void skip_unless_root(const char* why);

// Stops a child of ours: SIGTERM, up to 10 s for it to exit, then SIGKILL. Its exit code (128 +
// the signal if one ended it), or -1 if it had to be killed or `pid` was not a child; `pid` is
// set to 0.
int terminate_child(pid_t& pid);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool timed_out = false;  // killed at the timeout
};

// Runs a command (argv[0] is a path) and captures its output.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms = 60000);

// What a failed command was and what it said, for a test's failure message:
//   `ip netns add x` exited 1: Cannot create namespace file "/run/netns/x": File exists
std::string describe_command(const std::vector<std::string>& argv, const CommandResult& r);

// Runs a command that a test's setup needs; throws std::runtime_error with describe_command()
// unless it exits 0. Returns its standard output.
std::string run_or_throw(const std::vector<std::string>& argv, int timeout_ms = 10000);

}  // namespace faultline::test
