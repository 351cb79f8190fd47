#include "controller/lab/agent_launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "controller/lab/named_netns.h"
#include "core/defer.h"

namespace faultline::lab {
namespace {

bool is_executable(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

bool accepts_connection(const std::string& address, uint16_t port) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &to.sin_addr) != 1) return false;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  Defer close_fd([fd] { close(fd); });
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, 200) != 1) return false;
  int error = 0;
  socklen_t size = sizeof error;
  return getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0;
}

// The last lines of the agent's log, for an error message.
std::string log_tail(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const size_t from = lines.size() > 5 ? lines.size() - 5 : 0;
  std::string tail;
  for (size_t i = from; i < lines.size(); ++i) tail += "\n  | " + lines[i];
  return tail.empty() ? " (the log is empty)" : ":" + tail;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return "stopped";
}

}  // namespace

Result<std::string> find_agent_binary(const std::optional<std::string>& explicit_path) {
  if (explicit_path) {
    if (!is_executable(*explicit_path))
      return fail("--agent-binary '{}' is not an executable file", *explicit_path);
    return *explicit_path;
  }
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return fail("cannot find this executable (/proc/self/exe): {}", ec.message());
  const std::filesystem::path beside = self.parent_path() / "faultline-agent";
  const std::filesystem::path build_tree =
      self.parent_path().parent_path() / "agent" / "faultline-agent";
  for (const auto& candidate : {beside, build_tree})
    if (is_executable(candidate.string())) return candidate.string();
  return fail(
      "faultline-agent is not installed next to faultline ({} or {}); pass "
      "--agent-binary PATH, or --no-agents to make the network only",
      beside.string(), build_tree.string());
}

Result<pid_t> start_agent(const AgentLaunch& launch) {
  // Everything the child needs is made before fork: after it, only system calls.
  const std::string netns_path = std::string(kNetnsDir) + "/" + launch.netns;
  const int netns_fd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (netns_fd < 0) return fail("cannot open {}: {}", netns_path, std::strerror(errno));
  Defer close_netns([netns_fd] { close(netns_fd); });
  const int log_fd = open(launch.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) return fail("cannot open {}: {}", launch.log_file, std::strerror(errno));
  Defer close_log([log_fd] { close(log_fd); });
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return fail("cannot open /dev/null: {}", std::strerror(errno));
  Defer close_null([null_fd] { close(null_fd); });
  std::vector<std::string> args = {launch.binary, "--config", launch.config};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return fail("cannot fork: {}", std::strerror(errno));
  if (pid == 0) {
    static const char kCannotEnter[] = "faultline lab: cannot enter the lab namespace\n";
    static const char kCannotExec[] = "faultline lab: cannot execute faultline-agent\n";
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    if (setns(netns_fd, CLONE_NEWNET) != 0) {
      (void)!write(STDERR_FILENO, kCannotEnter, sizeof kCannotEnter - 1);
      _exit(126);
    }
    setsid();  // its own session: no terminal's hangup or Ctrl-C reaches it
    // Nothing else of ours: a descriptor inherited by faultline (a caller's pipe) would otherwise
    // stay open for the agent's whole life, and whoever reads that pipe would wait for it.
    close_range(3, ~0U, 0);
    execv(argv[0], argv.data());
    (void)!write(STDERR_FILENO, kCannotExec, sizeof kCannotExec - 1);
    _exit(127);
  }

  const auto kill_child = [pid] {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  };
  {
    std::ofstream out(launch.pid_file, std::ios::trunc);
    out << pid << "\n";
    if (!out.flush()) {
      kill_child();
      return fail("cannot write {}", launch.pid_file);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + launch.ready_timeout;
  while (!accepts_connection(launch.address, launch.port)) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return fail("the agent in {} {} before listening on {}:{}; its log {}{}", launch.netns,
                  describe_status(status), launch.address, launch.port, launch.log_file,
                  log_tail(launch.log_file));
    if (std::chrono::steady_clock::now() > deadline) {
      kill_child();
      return fail("the agent in {} did not listen on {}:{} within {} s; its log {}{}", launch.netns,
                  launch.address, launch.port,
                  std::chrono::duration_cast<std::chrono::seconds>(launch.ready_timeout).count(),
                  launch.log_file, log_tail(launch.log_file));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pid;
}

}  // namespace faultline::lab
