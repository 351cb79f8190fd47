// Command checks: run through /bin/sh, compare the exit code and optionally stdout. The command
// runs in its own process group so that a timeout kills everything it started.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "probes/probe.h"
#include "core/user_regex.h"

extern char** environ;

namespace faultline {
namespace {

constexpr size_t kMaxOutput = 64 * 1024;

// False at the end of the output (or a read error); EAGAIN and EINTR are not an end.
bool append_output(int fd, std::string& output) {
  char buffer[4096];
  const ssize_t n = read(fd, buffer, sizeof buffer);
  if (n > 0 && output.size() < kMaxOutput) output.append(buffer, static_cast<size_t>(n));
  return n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN));
}

// Whether the shell has exited, without reaping it: while it is a zombie its pid stays the
// process group's id, so the group can be killed by that id and no other.
bool has_exited(pid_t shell) {
  siginfo_t info{};
  return waitid(P_PID, static_cast<id_t>(shell), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == shell;
}

// Reads the command's stdout until its shell exits or `deadline` passes. The shell itself is
// watched, not only the pipe: a command that closes stdout and keeps running must not outlive
// its timeout. Either way the whole process group is killed then: a check leaves nothing
// running, or every interval would add another leftover. False when the deadline passed first.
bool wait_for(pid_t shell, int out, TimePoint deadline, std::string& output) {
  // Wakes the poll when the shell exits; without pidfds (Linux < 5.3) the poll wakes every
  // 10 ms to look.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, shell, 0));
  bool out_open = true;
  bool in_time = true;
  while (!has_exited(shell)) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      in_time = false;
      break;
    }
    pollfd fds[2] = {{pidfd, POLLIN, 0}, {out_open ? out : -1, POLLIN, 0}};
    const int64_t wait_ms = pidfd >= 0 ? left : std::min<int64_t>(left, 10);
    if (poll(fds, 2, static_cast<int>(std::min<int64_t>(wait_ms, INT32_MAX))) <= 0) continue;
    if (fds[1].revents != 0) out_open = append_output(out, output);
  }
  kill(-shell, SIGKILL);
  if (pidfd >= 0) close(pidfd);
  if (in_time && out_open) {
    // What the shell wrote before it exited is still in the pipe: take what is there now.
    fcntl(out, F_SETFL, O_NONBLOCK);
    char buffer[4096];
    for (ssize_t n; output.size() < kMaxOutput && (n = read(out, buffer, sizeof buffer)) > 0;)
      output.append(buffer, static_cast<size_t>(n));
  }
  return in_time;
}

class CommandProbeImpl final : public Probe {
 public:
  explicit CommandProbeImpl(const ProbeSpec& spec) : spec_(spec) {
    // Validated with the same compile (controller/scenario/parse_probe.cpp, agent/wire/wire.cpp).
    if (spec.expect.stdout_matches) {
      auto re = UserRegex::compile(*spec.expect.stdout_matches, "stdout_matches");
      if (re)
        stdout_re_ = std::move(*re);
      else
        regex_error_ = re.error().message;
    }
  }

  CheckResult check() override {
    if (!regex_error_.empty()) return {false, regex_error_, std::nullopt, true};
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
    const bool timed_out = !wait_for(pid, out[0], deadline, output);
    close(out[0]);
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
    if (stdout_re_ && !stdout_re_->search(output)) {
      r.ok = false;
      r.observed += ", stdout does not match";
    }
    return r;
  }

 private:
  const ProbeSpec spec_;
  std::optional<UserRegex> stdout_re_;
  std::string regex_error_;  // set when stdout_matches did not compile: no check can run
};

}  // namespace

std::unique_ptr<Probe> make_command_probe(const ProbeSpec& spec) {
  return std::make_unique<CommandProbeImpl>(spec);
}

}  // namespace faultline
