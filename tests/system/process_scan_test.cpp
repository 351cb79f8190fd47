// How a fault finds its processes in /proc: lazily (stat for every process, the command line only
// where the selector needs it), with the same answers as reading everything.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "injectors/process/proc.h"
#include "injectors/process/targets.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using faultline::test::ChildProcess;

namespace {

// A child of this test whose comm (its kernel name) is `comm`, different from its argv[0] (this
// test binary's): it renames itself, as nginx workers or JVM threads do.
class RenamedChild {
 public:
  explicit RenamedChild(const char* comm) {
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      prctl(PR_SET_NAME, comm);
      (void)!write(ready[1], "x", 1);
      for (;;) pause();
    }
    close(ready[1]);
    char c = 0;
    REQUIRE(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    // Until it sleeps in pause(): its state is 'R' for the moment after the write.
    for (int i = 0; i < 400; ++i) {
      const auto p = read_process_stat(pid_);
      if (p && p->state == 'S') break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ~RenamedChild() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  RenamedChild(const RenamedChild&) = delete;
  RenamedChild& operator=(const RenamedChild&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = 0;
};

ProcessSelector selector(const char* key, const std::string& value) {
  ProcessSelector s;
  s.set(key, value);
  return s;
}

Resolution resolve(const ProcessSelector& s) {
  Result<Resolution> r = resolve_processes(s, Protection{});
  REQUIRE_OK(r);
  return std::move(*r);
}

std::vector<pid_t> matched_pids(const ProcessSelector& s) {
  const Resolution r = resolve(s);
  std::vector<pid_t> out;
  for (const ProcessInfo& p : r.matched) out.push_back(p.pid);
  return out;
}

}  // namespace

TEST_CASE("/proc/PID/stat is read right when comm holds spaces and parentheses", "[process]") {
  RenamedChild child("fl t) (x");
  const std::optional<ProcessInfo> p = read_process_stat(child.pid());
  REQUIRE(p);
  CHECK(p->comm == "fl t) (x");
  CHECK(p->ppid == getpid());
  CHECK(p->state == 'S');
  CHECK_FALSE(p->kernel_thread);
  CHECK(p->start_ticks > 0);
  CHECK(p->cmdline.empty());  // stat only
  const std::optional<ProcessInfo> whole = read_process(child.pid());
  REQUIRE(whole);
  CHECK(whole->start_ticks == p->start_ticks);
  CHECK_FALSE(whole->cmdline.empty());
}

TEST_CASE("a name selector matches comm or argv[0]'s base name, and a match has its command line",
          "[process]") {
  RenamedChild renamed("fl-scan-comm");
  ChildProcess by_argv0("/bin/sleep", "/some/dir/fl-test-scan-argv0", {"1000"});
  // comm is "sleep" until exec has run: wait for it, as a fault would see the process after.
  for (int i = 0; i < 200; ++i) {
    auto p = read_process_stat(by_argv0.pid());
    if (p && p->comm == "sleep") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // By comm: no command line is needed to decide, and the match still carries it.
  const Resolution r = resolve(selector("name", "fl-scan-comm"));
  REQUIRE(r.matched.size() == 1);
  CHECK(r.matched[0].pid == renamed.pid());
  CHECK(r.matched[0].comm == "fl-scan-comm");
  CHECK_FALSE(r.matched[0].cmdline.empty());

  // By argv[0]'s base name, when comm says something else.
  CHECK(matched_pids(selector("name", "fl-test-scan-argv0")) == std::vector<pid_t>{by_argv0.pid()});
  CHECK(matched_pids(selector("cmdline", "^/some/dir/fl-test-scan-argv0 1000$")) ==
        std::vector<pid_t>{by_argv0.pid()});
  // A pattern that an empty command line passes is still no way to a kernel thread (their
  // command line is empty; stat, read after the pattern, says what they are).
  CHECK(matched_pids(selector("cmdline", "^$")).empty());
  // The whole argv[0] is not a name, nor is a prefix of comm.
  CHECK(matched_pids(selector("name", "/some/dir/fl-test-scan-argv0")).empty());
  CHECK(matched_pids(selector("name", "fl-scan-com")).empty());
  // A name and a parent together: both must hold, and the parent is decided from stat.
  ProcessSelector both = selector("name", "fl-scan-comm");
  const std::string pid_file = "/tmp/fl-test-scan-parent-" + std::to_string(getpid());
  { std::ofstream(pid_file) << getpid() << "\n"; }
  both.parent_pidfile = pid_file;
  CHECK(matched_pids(both) == std::vector<pid_t>{renamed.pid()});
  { std::ofstream(pid_file) << by_argv0.pid() << "\n"; }
  CHECK(matched_pids(both).empty());
  unlink(pid_file.c_str());
}
