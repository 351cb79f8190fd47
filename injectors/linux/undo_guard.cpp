#include "injectors/linux/undo_guard.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

#include "injectors/linux/undo_steps.h"

namespace faultline {
namespace {

int g_pipe = -1;
std::mutex g_mutex;
std::atomic<uint64_t> g_next_token{1};

void send_line(const std::string& line) {
  std::lock_guard lock(g_mutex);
  if (g_pipe < 0) return;
  // Lines are shorter than PIPE_BUF, so each write lands whole. A guardian that died is gone
  // for good (EPIPE, with SIGPIPE ignored): the reverts go on without it.
  if (::write(g_pipe, line.data(), line.size()) < 0 && errno == EPIPE) {
    ::close(g_pipe);
    g_pipe = -1;
  }
}

void perform(const std::string& action) {
  const auto step = nlohmann::json::parse(action, nullptr, false);
  if (!step.is_discarded()) (void)perform_undo_step(step);
}

// The guardian: reads "+ TOKEN STEP" (STEP: one line of JSON), "- TOKEN" and "bye" lines until the
// pipe closes.
[[noreturn]] void guardian_main(int read_fd) {
  // Ctrl-C reaches the whole process group; the guardian must outlive it to be of use.
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  prctl(PR_SET_NAME, "faultline-guard");
  for (int fd = 3; fd < 1024; ++fd)
    if (fd != read_fd) ::close(fd);
  std::map<uint64_t, std::string> outstanding;
  std::string buffer;
  bool clean = false;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(read_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
    size_t end;
    while ((end = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, end);
      buffer.erase(0, end + 1);
      if (line == "bye") {
        clean = true;
        continue;
      }
      std::istringstream in(line);
      char op = 0;
      uint64_t token = 0;
      in >> op >> token;
      if (op == '+') {
        std::string action;
        std::getline(in >> std::ws, action);
        outstanding[token] = action;
      } else if (op == '-') {
        outstanding.erase(token);
      }
    }
  }
  if (!clean)
    for (const auto& [token, action] : outstanding) perform(action);
  _exit(0);
}

}  // namespace

void UndoGuard::start() {
  std::lock_guard lock(g_mutex);
  if (g_pipe >= 0) return;
  signal(SIGPIPE, SIG_IGN);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return;
  }
  if (pid == 0) {
    ::close(fds[1]);
    guardian_main(fds[0]);
  }
  ::close(fds[0]);
  g_pipe = fds[1];
  // Never reaped while we run; the kernel reaps it once we are gone (or stop() does).
}

void UndoGuard::stop() {
  std::lock_guard lock(g_mutex);
  if (g_pipe < 0) return;
  (void)!::write(g_pipe, "bye\n", 4);
  ::close(g_pipe);
  g_pipe = -1;
}

uint64_t UndoGuard::perform_later(const nlohmann::json& step) {
  {
    std::lock_guard lock(g_mutex);
    if (g_pipe < 0) return 0;
  }
  const uint64_t token = g_next_token++;
  send_line(fmt::format("+ {} {}\n", token, undo_text(step)));
  return token;
}

void UndoGuard::withdraw(uint64_t token) {
  if (token != 0) send_line(fmt::format("- {}\n", token));
}

}  // namespace faultline
