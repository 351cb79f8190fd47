// Command checks: run through /bin/sh, compare the exit code and optionally stdout. The command
// runs in its own process group so that a timeout kills everything it started.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <regex>

#include "controller/probes/probe.h"
#include "injectors/process/selector.h"

extern char** environ;

namespace faultline {
namespace {

constexpr size_t kMaxOutput = 64 * 1024;

class CommandProbeImpl final : public Probe {
 public:
  explicit CommandProbeImpl(const ProbeSpec& spec) : spec_(spec) {
    if (spec.expect.stdout_matches)
      stdout_re_.emplace(*spec.expect.stdout_matches,
                     kRegexFlags);
  }

  CheckResult check() override {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
      return {false, fmt::format("cannot create a pipe: {}", std::strerror(errno)), std::nullopt};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    const char* argv[] = {"/bin/sh", "-c", spec_.command.run.c_str(), nullptr};
    pid_t pid = 0;
    const TimePoint start = Clock::now();
    const int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      return {false, fmt::format("cannot start /bin/sh: {}", std::strerror(rc)), std::nullopt,
              true};
    }
    std::string output;
    const TimePoint deadline = start + spec_.command.timeout;
    bool timed_out = false;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX))) <= 0) continue;
      char buffer[4096];
      const ssize_t n = read(out[0], buffer, sizeof buffer);
      if (n <= 0) break;
      if (output.size() < kMaxOutput) output.append(buffer, static_cast<size_t>(n));
    }
    close(out[0]);
    if (timed_out) kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const Duration took = Clock::now() - start;
    if (timed_out)
      return {false, fmt::format("timed out after {}", format_duration(spec_.command.timeout)),
              took};
    CheckResult r;
    r.latency = took;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.observed = fmt::format("exit {} in {:.1f} ms", code, to_ms(took));
    r.ok = code == spec_.expect.exit_code.value_or(0);
    if (stdout_re_ && !std::regex_search(output.substr(0, kMaxRegexInput), *stdout_re_)) {
      r.ok = false;
      r.observed += ", stdout does not match";
    }
    return r;
  }

 private:
  const ProbeSpec spec_;
  std::optional<std::regex> stdout_re_;
};

}  // namespace

std::unique_ptr<Probe> make_command_probe(const ProbeSpec& spec) {
  return std::make_unique<CommandProbeImpl>(spec);
}

}  // namespace faultline
