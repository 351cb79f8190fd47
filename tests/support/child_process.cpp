#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace faultline::test {

ChildProcess::ChildProcess(const std::string& program, const std::string& name,
                           const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(name.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // The child reports a failed exec through this pipe; a successful one closes it (CLOEXEC).
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error("cannot start " + program);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    close(report[0]);
    close(report[1]);
    throw std::runtime_error("cannot start " + program);
  }
  if (pid_ == 0) {
    // Only async-signal-safe calls until exec. Its own process group, so that whatever it
    // starts is killed with it; and killed when the test process dies without running its
    // destructors (a sanitizer's halt, a crash), or it would hold CTest's output pipe open and
    // CTest would wait for it. PR_SET_PDEATHSIG follows the thread that forked: tests start
    // children from their main thread.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(program.c_str(), argv.data());
    const int error = errno;
    (void)!write(report[1], &error, sizeof error);
    _exit(127);
  }
  close(report[1]);
  int exec_error = 0;
  const ssize_t n = read(report[0], &exec_error, sizeof exec_error);
  close(report[0]);
  if (n == static_cast<ssize_t>(sizeof exec_error)) {
    waitpid(pid_, nullptr, 0);
    reaped_ = true;
    throw std::runtime_error("cannot start " + program + ": " + std::strerror(exec_error));
  }
  // Wait until the exec has happened, so selectors see the new command line.
  for (int i = 0; i < 200; ++i) {
    std::ifstream cmdline("/proc/" + std::to_string(pid_) + "/cmdline");
    std::string first;
    std::getline(cmdline, first, '\0');
    if (first == name) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

ChildProcess::~ChildProcess() {
  ::kill(-pid_, SIGCONT);
  ::kill(-pid_, SIGKILL);
  if (!reaped_) waitpid(pid_, nullptr, 0);
}

bool ChildProcess::exited() {
  if (reaped_) return true;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return reaped_;
}

int ChildProcess::killed_by() const {
  return reaped_ && WIFSIGNALED(status_) ? WTERMSIG(status_) : 0;
}

int ChildProcess::exit_code() const {
  return reaped_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

bool ChildProcess::wait_exit(int ms) {
  for (int i = 0; i < ms; ++i) {
    if (exited()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return exited();
}

char ChildProcess::state() const {
  std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
  std::string text;
  std::getline(stat, text);
  const size_t close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() ? '?' : text[close + 2];
}

void skip_unless_root(const char* why) {
  if (geteuid() == 0) return;
  std::printf("SKIPPED: this test needs root (%s)\n", why);
  std::fflush(stdout);
  std::_Exit(77);
}

CommandResult run_command(const std::vector<std::string>& args, int timeout_ms) {
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, err[0]);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + args[0]);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  CommandResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int open = 2;
  while (open > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      } else {
        (i == 0 ? r.out : r.err).append(buffer, static_cast<size_t>(n));
      }
    }
  }
  for (pollfd& f : fds)
    if (f.fd >= 0) close(f.fd);
  if (open > 0) {
    kill(pid, SIGKILL);
    r.timed_out = true;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string describe_command(const std::vector<std::string>& argv, const CommandResult& r) {
  std::string text = "`";
  for (size_t i = 0; i < argv.size(); ++i) text += (i == 0 ? "" : " ") + argv[i];
  text += "` ";
  text += r.timed_out ? "timed out and was killed" : "exited " + std::to_string(r.exit_code);
  std::string said = r.err + r.out;
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  text += said.empty() ? " and printed nothing" : ": " + said;
  return text;
}

std::string run_or_throw(const std::vector<std::string>& argv, int timeout_ms) {
  const CommandResult r = run_command(argv, timeout_ms);
  if (r.exit_code != 0 || r.timed_out) throw std::runtime_error(describe_command(argv, r));
  return r.out;
}

int terminate_child(pid_t& pid) {
  if (pid <= 0) return -1;
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pid = 0;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  pid = 0;
  return -1;
}

}  // namespace faultline::test
