#include "agent/local/guardian.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string_view>

#include "agent/local/state_file.h"

namespace faultline {
namespace {

[[noreturn]] void guardian_main(int read_fd, int keep_fd, const std::string& state_path,
                                bool remove_when_empty) {
  // A process group of its own: `kill -9 -PGID` of faultline's group (a test harness, a
  // supervisor stopping a job) must not take the guardian with it. Ctrl-C reaches the
  // terminal's foreground group only; the signals are ignored all the same.
  (void)setpgid(0, 0);
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  prctl(PR_SET_NAME, "faultline-guard");
  for (int fd = 3; fd < 1024; ++fd)
    if (fd != read_fd && fd != keep_fd) ::close(fd);
  std::string received;
  char chunk[64];
  for (;;) {
    const ssize_t n = ::read(read_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    received.append(chunk, static_cast<size_t>(n));
  }
  if (received.find("bye\n") != std::string::npos) _exit(0);
  // The parent is gone. Everything it may have applied is in the file, written before the act.
  StateFile file(state_path);
  auto report = recover(file);
  if (!report) {
    std::fprintf(stderr, "faultline-guard: could not undo what was left in %s: %s\n",
                 state_path.c_str(), report.error().message.c_str());
    _exit(1);
  }
  for (const StateEntry& e : report->kept)
    for (const std::string& error : e.undo_errors)
      std::fprintf(stderr, "faultline-guard: %s %s/%s: %s (kept in %s)\n", e.kind.c_str(),
                   e.owner.c_str(), e.fault_id.c_str(), error.c_str(), state_path.c_str());
  if (report->kept.empty() && remove_when_empty) {
    (void)::unlink(state_path.c_str());
    (void)::unlink((state_path + ".lock").c_str());
  }
  _exit(report->kept.empty() ? 0 : 1);
}

}  // namespace

Guardian start_guardian(const std::string& state_path, int keep_fd, bool remove_when_empty) {
  signal(SIGPIPE, SIG_IGN);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {};
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {};
  }
  if (pid == 0) {
    ::close(fds[1]);
    guardian_main(fds[0], keep_fd, state_path, remove_when_empty);
  }
  ::close(fds[0]);
  (void)setpgid(pid, pid);  // as the child does: whichever runs first, no window in between
  // Never reaped while we run; the kernel reaps it once we are gone (or dismiss_guardian does).
  return {pid, fds[1]};
}

void dismiss_guardian(Guardian& guardian) {
  if (guardian.pipe < 0) return;
  (void)!::write(guardian.pipe, "bye\n", 4);
  ::close(guardian.pipe);
  guardian.pipe = -1;
  // It exits at once on "bye"; reaping it leaves no zombie for the rest of our life.
  if (guardian.pid > 0) (void)::waitpid(guardian.pid, nullptr, 0);
  guardian.pid = -1;
}

}  // namespace faultline
