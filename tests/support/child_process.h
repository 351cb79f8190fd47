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
  char state() const;  // from /proc: 'S', 'R', 'T', ...

 private:
  pid_t pid_ = 0;
  bool reaped_ = false;
};

// A sleeping child named `name` (comm "sleep", argv[0] `name`).
inline std::vector<std::string> sleep_args() {
  return {"1000"};
}

// Exits the test as skipped (code 77, which CTest reports as "Skipped") with the reason.
void skip_unless_root(const char* why);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command (argv[0] is a path) and captures its output.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms = 60000);

}  // namespace faultline::test
