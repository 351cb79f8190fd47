// process_kill against real child processes: who dies, who must not, and what is observed.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "core/defer.h"
#include "injectors/injector.h"
#include "injectors/process/pidfd.h"
#include "tests/support/child_process.h"
#include "tests/support/require_ok.h"

using namespace faultline;
using faultline::test::ChildProcess;

namespace {

FaultRequest kill_request(ProcessSelector selector, const std::string& count = "1") {
  FaultRequest r;
  r.id = "kill";
  r.kind = "process_kill";
  r.selector = std::move(selector);
  r.params.set("signal", SignalNumber{SIGKILL});
  r.params.set("count", std::get<Count>(*parse_param_value(
                            {.name = "count", .type = ParamType::Count, .max = 1000}, count)));
  r.params.set("replacement_window", Duration(std::chrono::seconds(2)));
  r.max_processes = 10;
  return r;
}

ProcessSelector by_name(const std::string& name) {
  ProcessSelector s;
  s.name = name;
  return s;
}

std::string temp_pid_file(pid_t pid) {
  const std::string path =
      "/tmp/fl-test-pidfile-" + std::to_string(getpid()) + "-" + std::to_string(pid);
  std::ofstream(path) << pid << "\n";
  return path;
}

}  // namespace

TEST_CASE("process_kill kills exactly count of the matching processes and sees them exit") {
  ChildProcess a("/bin/sleep", "fl-test-kill-a", {"1000"});
  ChildProcess b("/bin/sleep", "fl-test-kill-a", {"1000"});
  ChildProcess bystander("/bin/sleep", "fl-test-bystander", {"1000"});
  auto fault = create_fault(kill_request(by_name("fl-test-kill-a")));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  REQUIRE_OK((*fault)->apply(Clock::now()));
  const bool a_died = a.wait_exit(2000) || b.wait_exit(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(a_died);
  CHECK(a.exited() + b.exited() == 1);  // count=1: one of the two, never both
  CHECK_FALSE(bystander.exited());
  REQUIRE_OK((*fault)->revert());
  const nlohmann::json observed = (*fault)->observed();
  REQUIRE(observed["rounds"].size() == 1);
  REQUIRE(observed["rounds"][0]["victims"].size() == 1);
  CHECK(observed["rounds"][0]["victims"][0]["exited"] == true);
  const pid_t victim = observed["rounds"][0]["victims"][0]["pid"];
  CHECK((victim == a.pid() || victim == b.pid()));
  CHECK(observed["signal"] == "SIGKILL");
  CHECK((*fault)->confirmed());
}

TEST_CASE("process_kill count=all takes every match and nothing outside the selector") {
  ChildProcess a("/bin/sleep", "fl-test-kill-b", {"1000"});
  ChildProcess b("/bin/sleep", "fl-test-kill-b", {"1000"});
  ChildProcess bystander("/bin/sleep", "fl-test-kill-bx", {"1000"});
  auto fault = create_fault(kill_request(by_name("fl-test-kill-b"), "all"));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->apply(Clock::now()));
  CHECK(a.wait_exit(2000));
  CHECK(b.wait_exit(2000));
  CHECK_FALSE(bystander.exited());
  REQUIRE_OK((*fault)->revert());
}

TEST_CASE("a protected process is never killed, and the refusal says why") {
  ChildProcess guarded("/bin/sleep", "fl-test-guarded", {"1000"});
  FaultRequest r = kill_request(by_name("fl-test-guarded"));
  r.protection.selectors.push_back(by_name("fl-test-guarded"));
  auto fault = create_fault(std::move(r));
  REQUIRE_OK(fault);
  const std::string refusal = fmt::format(
      "name='fl-test-guarded' matches only protected processes (pid {}: protected "
      "by blast_radius.protected: name='fl-test-guarded')",
      guarded.pid());
  auto prepared = (*fault)->prepare();
  REQUIRE_FALSE(prepared);
  CHECK(prepared.error().message == refusal);
  // The engine applies what it prepared; an apply on its own must refuse just the same.
  auto applied = (*fault)->apply(Clock::now());
  REQUIRE_FALSE(applied);
  CHECK(applied.error().message == refusal);
  CHECK_FALSE(guarded.wait_exit(100));
}

TEST_CASE("count=all kills every match but the protected one, which lives on") {
  ChildProcess guarded("/bin/sleep", "fl-test-mixed", {"1000"});
  ChildProcess exposed("/bin/sleep", "fl-test-mixed", {"1000"});
  const std::string pidfile = temp_pid_file(guarded.pid());
  Defer remove_pidfile([&] { std::remove(pidfile.c_str()); });
  FaultRequest r = kill_request(by_name("fl-test-mixed"), "all");
  r.protection.selectors.push_back(ProcessSelector{.pidfile = pidfile});
  auto fault = create_fault(std::move(r));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  REQUIRE_OK((*fault)->apply(Clock::now()));
  // The fault did act: the unprotected match is killed, so the survival below means something.
  CHECK(exposed.wait_exit(2000));
  CHECK(exposed.killed_by() == SIGKILL);
  CHECK_FALSE(guarded.wait_exit(100));
  REQUIRE_OK((*fault)->revert());
  const nlohmann::json observed = (*fault)->observed();
  REQUIRE(observed["rounds"].size() == 1);
  REQUIRE(observed["rounds"][0]["victims"].size() == 1);
  CHECK(observed["rounds"][0]["victims"][0]["pid"] == exposed.pid());
}

TEST_CASE("faultline itself and the shell that started it are always protected") {
  ProcessSelector self;
  self.pidfile = temp_pid_file(getpid());
  auto r1 = resolve_processes(self, {});
  REQUIRE_OK(r1);
  CHECK(r1->matched.empty());
  REQUIRE(r1->excluded.size() == 1);
  CHECK(r1->excluded[0].reason == "faultline itself is always protected");

  ProcessSelector parent;
  parent.pidfile = temp_pid_file(getppid());
  auto r2 = resolve_processes(parent, {});
  REQUIRE_OK(r2);
  CHECK(r2->matched.empty());
  REQUIRE(r2->excluded.size() == 1);
  CHECK(r2->excluded[0].reason ==
        "an ancestor of faultline (such as the shell that started it) is always protected");

  ProcessSelector pid1;
  pid1.pidfile = temp_pid_file(1);
  auto r3 = resolve_processes(pid1, {});
  REQUIRE_OK(r3);
  CHECK(r3->matched.empty());
  REQUIRE(r3->excluded.size() == 1);
  CHECK(r3->excluded[0].process.pid == 1);
  CHECK(r3->excluded[0].reason == "pid 1 (init) is always protected");
  std::remove(self.pidfile->c_str());
  std::remove(parent.pidfile->c_str());
  std::remove(pid1.pidfile->c_str());
}

TEST_CASE("the blast radius refuses a count that selects more than max_processes") {
  ChildProcess a("/bin/sleep", "fl-test-many", {"1000"});
  ChildProcess b("/bin/sleep", "fl-test-many", {"1000"});
  ChildProcess c("/bin/sleep", "fl-test-many", {"1000"});
  FaultRequest r = kill_request(by_name("fl-test-many"), "all");
  r.max_processes = 2;
  auto fault = create_fault(std::move(r));
  REQUIRE_OK(fault);
  const std::string refusal =
      "refused by the blast radius: count all selects 3 processes (name='fl-test-many'), more "
      "than max_processes 2; lower the count or raise blast_radius.max_processes";
  auto prepared = (*fault)->prepare();
  REQUIRE_FALSE(prepared);
  CHECK(prepared.error().message == refusal);
  // An apply on its own (no prepare first) must refuse just the same, before any signal.
  auto applied = (*fault)->apply(Clock::now());
  REQUIRE_FALSE(applied);
  CHECK(applied.error().message == refusal);
  CHECK_FALSE(a.wait_exit(100));
  CHECK_FALSE(b.exited());
  CHECK_FALSE(c.exited());
  // The same fault within the bound kills all three: the refusal above was the bound's doing.
  FaultRequest within = kill_request(by_name("fl-test-many"), "all");
  within.max_processes = 3;
  auto allowed = create_fault(std::move(within));
  REQUIRE_OK(allowed);
  REQUIRE_OK((*allowed)->apply(Clock::now()));
  CHECK(a.wait_exit(2000));
  CHECK(b.wait_exit(2000));
  CHECK(c.wait_exit(2000));
  REQUIRE_OK((*allowed)->revert());
}

TEST_CASE("a killed process that a supervisor restarts is seen replaced") {
  // A tiny supervisor: the shell restarts its sleeping child whenever it dies.
  ChildProcess supervisor("/bin/sh", "fl-test-supervisor",
                          {"-c", "while :; do /bin/sleep 1000; done"});
  const std::string pidfile = temp_pid_file(supervisor.pid());
  ProcessSelector children;
  children.parent_pidfile = pidfile;
  // Wait for the first child.
  for (int i = 0; i < 200; ++i) {
    auto r = resolve_processes(children, {});
    if (r && !r->matched.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto fault = create_fault(kill_request(children));
  REQUIRE_OK(fault);
  REQUIRE_OK((*fault)->prepare());
  REQUIRE_OK((*fault)->apply(Clock::now()));
  nlohmann::json observed;
  for (int i = 0; i < 200; ++i) {
    observed = (*fault)->observed();
    if (!observed["rounds"][0]["replacements"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE_OK((*fault)->revert());
  REQUIRE(observed["rounds"][0]["victims"][0]["exited"] == true);
  REQUIRE(observed["rounds"][0]["replacements"].size() == 1);
  const double after_ms = observed["rounds"][0]["replacements"][0]["after_ms"];
  CHECK(after_ms >= 0.0);
  CHECK(after_ms < 1000.0);
  CHECK(observed["rounds"][0]["replacements"][0]["pid"] !=
        observed["rounds"][0]["victims"][0]["pid"]);
  std::remove(pidfile.c_str());
}

TEST_CASE("a pidfd is refused for a pid whose start time does not match (pid reuse)") {
  ChildProcess child("/bin/sleep", "fl-test-reuse", {"1000"});
  auto info = read_process_stat(child.pid());
  REQUIRE(info);
  auto wrong = PidFd::open(child.pid(), info->start_ticks + 1);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message ==
        fmt::format("pid {} exited before it could be targeted", child.pid()));
  auto right = PidFd::open(child.pid(), info->start_ticks);
  REQUIRE_OK(right);
  REQUIRE(right->send_signal(SIGKILL));
  CHECK(right->wait_exit(std::chrono::seconds(2)));
  // After it exited the pidfd still names it: a signal now fails instead of reaching another.
  CHECK(child.wait_exit(1000));
  CHECK_FALSE(right->send_signal(SIGKILL));
}

TEST_CASE("a zombie is never a target: the fault reports that nothing runs, and does not hang") {
  // A child that exits at once and is not reaped stays a zombie until the handle reaps it.
  ChildProcess zombie("/bin/sh", "fl-test-zombie", {"-c", "exit 0"});
  for (int i = 0; i < 200 && zombie.state() != 'Z'; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(zombie.state() == 'Z');
  auto fault = create_fault(kill_request(by_name("fl-test-zombie")));
  REQUIRE_OK(fault);
  auto prepared = (*fault)->prepare();
  REQUIRE_FALSE(prepared);
  CHECK(prepared.error().message == "name='fl-test-zombie' matches no running process");
}

TEST_CASE("signals that stop a process are refused by process_kill") {
  for (int sig : {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}) {
    FaultRequest r = kill_request(by_name("fl-test-x"));
    r.params.set("signal", SignalNumber{sig});
    auto fault = create_fault(std::move(r));
    REQUIRE_FALSE(fault);
    CHECK(fault.error().message ==
          fmt::format("process_kill does not send {}; use process_pause to pause and resume "
                      "processes",
                      signal_name(sig)));
  }
}
