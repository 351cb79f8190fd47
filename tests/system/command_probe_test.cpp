// Command probes with real shells: the timeout holds whatever the command does with its stdout,
// and a check leaves no process of its own behind.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "probes/probe.h"
#include "tests/support/temp_dir.h"

using namespace faultline;
using faultline::test::TempDir;

namespace {

// Live (not zombie) processes whose process group is `pgid`, from /proc/PID/stat.
std::vector<pid_t> live_members(pid_t pgid) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;  // gone while being read
    char state = '?';
    int ppid = 0, pgrp = 0;
    if (std::sscanf(stat.c_str() + paren + 1, " %c %d %d", &state, &ppid, &pgrp) != 3) continue;
    if (pgrp == pgid && state != 'Z') out.push_back(std::stoi(name));
  }
  return out;
}

// The shell's pid, which is its process group's id, as the command wrote it.
pid_t read_pgid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

// Kills what a failed check left behind, so that a failing test leaves nothing either.
struct GroupReaper {
  std::string pid_file;
  ~GroupReaper() {
    if (const pid_t pgid = read_pgid(pid_file); pgid > 1) kill(-pgid, SIGKILL);
  }
};

// Waits up to `bound` for the group to have no live process (SIGKILL is delivered
// asynchronously); returns those still alive.
std::vector<pid_t> wait_group_gone(pid_t pgid, Duration bound) {
  const TimePoint until = Clock::now() + bound;
  std::vector<pid_t> alive = live_members(pgid);
  while (!alive.empty() && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    alive = live_members(pgid);
  }
  return alive;
}

ProbeSpec command_probe(const std::string& run, Duration timeout) {
  ProbeSpec spec;
  spec.name = "cmd";
  spec.type = ProbeType::Command;
  spec.command.run = run;
  spec.command.timeout = timeout;
  spec.expect.exit_code = 0;
  return spec;
}

}  // namespace

TEST_CASE("a command that closes stdout and keeps running is killed at its timeout",
          "[command_probe]") {
  TempDir dir;
  const std::string pid_file = dir.file("pgid");
  GroupReaper reaper{pid_file};
  const Duration timeout = std::chrono::milliseconds(300);
  auto probe =
      make_probe(command_probe(fmt::format("echo $$ > {}; exec >&-; sleep 10", pid_file), timeout));

  const TimePoint start = Clock::now();
  const CheckResult r = probe->check();
  const Duration took = Clock::now() - start;

  INFO("observed: " << r.observed << ", took " << to_ms(took) << " ms");
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.could_not_run);
  CHECK(r.observed == "timed out after 300ms");
  CHECK(took < 10 * timeout);
  const pid_t pgid = read_pgid(pid_file);
  REQUIRE(pgid > 1);
  const std::vector<pid_t> alive = wait_group_gone(pgid, 10 * timeout);
  INFO("still alive in process group " << pgid << ": "
                                       << fmt::format("{}", fmt::join(alive, ", ")));
  CHECK(alive.empty());
}

TEST_CASE("a command's background processes do not outlive its check", "[command_probe]") {
  TempDir dir;
  const std::string pid_file = dir.file("pgid");
  GroupReaper reaper{pid_file};
  const Duration timeout = std::chrono::seconds(5);
  // The background sleep keeps stdout open after the shell exits.
  ProbeSpec spec =
      command_probe(fmt::format("echo $$ > {}; sleep 10 & echo started", pid_file), timeout);
  spec.expect.stdout_matches = "^started";
  auto probe = make_probe(spec);

  const TimePoint start = Clock::now();
  const CheckResult r = probe->check();
  const Duration took = Clock::now() - start;

  INFO("observed: " << r.observed << ", took " << to_ms(took) << " ms");
  CHECK(r.ok);
  CHECK_THAT(r.observed, Catch::StartsWith("exit 0 in "));
  CHECK(took < timeout / 2);
  const pid_t pgid = read_pgid(pid_file);
  REQUIRE(pgid > 1);
  const std::vector<pid_t> alive = wait_group_gone(pgid, timeout);
  INFO("still alive in process group " << pgid << ": "
                                       << fmt::format("{}", fmt::join(alive, ", ")));
  CHECK(alive.empty());
}

TEST_CASE("a command's exit code and stdout are judged once it exits", "[command_probe]") {
  ProbeSpec spec = command_probe("printf 'ready\\n'; exit 3", std::chrono::seconds(5));
  spec.expect.exit_code = 3;
  spec.expect.stdout_matches = "^ready\n$";
  CheckResult r = make_probe(spec)->check();
  INFO(r.observed);
  CHECK(r.ok);
  CHECK_THAT(r.observed, Catch::StartsWith("exit 3 in "));

  spec.expect.stdout_matches = "^not this$";
  r = make_probe(spec)->check();
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.observed, Catch::EndsWith(", stdout does not match"));
}
