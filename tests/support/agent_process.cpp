#include "tests/support/agent_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/child_process.h"
#include "tls/certs.h"

namespace faultline::test {

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port");
  close(fd);
  return ntohs(a.sin_port);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ClusterCerts::ClusterCerts(const std::string& dir, const std::vector<std::string>& agents)
    : dir_(dir) {
  tls::IssueOptions options;
  options.dir = dir;
  for (const std::string& a : agents) options.agents.push_back({a, "127.0.0.1"});
  options.days = 2;
  if (auto issued = tls::issue_cluster_certs(options); !issued)
    throw std::runtime_error("cannot make certificates in " + dir + ": " + issued.error().message);
}

std::string ClusterCerts::agent_config(const std::string& agent,
                                       const std::vector<std::string>& allowed_clients) const {
  std::string out =
      "tls:\n  ca: " + ca() + "\n  cert: " + cert(agent) + "\n  key: " + key(agent) + "\n";
  if (!allowed_clients.empty()) {
    out += "  allowed_clients: [";
    for (size_t i = 0; i < allowed_clients.size(); ++i) out += (i ? ", " : "") + allowed_clients[i];
    out += "]\n";
  }
  return out;
}

namespace {
bool port_accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}
}  // namespace

AgentProcess::AgentProcess(const TempDir& dir, const std::string& name,
                           const std::string& config_body, bool metrics)
    : name_(name) {
  const int port = free_port();
  address_ = "127.0.0.1:" + std::to_string(port);
  std::string metrics_section;
  if (metrics) {
    int metrics_port = free_port();
    // The config refuses the gRPC port for the metrics.
    while (metrics_port == port) metrics_port = free_port();
    metrics_address_ = "127.0.0.1:" + std::to_string(metrics_port);
    metrics_section = "metrics: {listen: " + metrics_address_ + "}\n";
  }
  config_file_ = dir.file(name + ".yaml");
  state_file_ = dir.file(name + "-state.json");
  log_file_ = dir.file(name + ".log");
  write_text(config_file_, "host: " + name + "\nlisten: " + address_ + "\nstate_file: " +
                               state_file_ + "\n" + config_body + metrics_section);
}

AgentProcess::~AgentProcess() {
  stop();
}

Result<void> AgentProcess::start(const std::vector<std::string>& environment) {
  // Made before the fork: the child only calls what is safe between fork and exec.
  std::vector<std::string> entries = environment;
  for (char** e = environ; *e != nullptr; ++e) entries.emplace_back(*e);
  std::vector<char*> envp;
  for (std::string& e : entries) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* const argv[] = {const_cast<char*>("faultline-agent"), const_cast<char*>("--config"),
                        config_file_.data(), nullptr};
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int log = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(FAULTLINE_AGENT_BINARY, argv, envp.data());
    _exit(127);
  }
  const int port = std::stoi(address_.substr(address_.rfind(':') + 1));
  // Generous: an agent on a loaded machine (a parallel build, a full suite) starts slowly.
  constexpr auto kLimit = std::chrono::seconds(20);
  const auto until = std::chrono::steady_clock::now() + kLimit;
  while (std::chrono::steady_clock::now() < until) {
    if (port_accepts(port)) return {};
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      return fail("the agent {} {} before its port {} accepted connections; its log:\n{}", name_,
                  WIFEXITED(status) ? fmt::format("exited {}", WEXITSTATUS(status))
                                    : fmt::format("was killed by signal {}", WTERMSIG(status)),
                  port, log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fail(
      "the agent {} (pid {}) did not accept connections on port {} within {} s; its "
      "log:\n{}",
      name_, pid_, port, kLimit.count(), log());
}

int AgentProcess::stop() {
  return terminate_child(pid_);
}

void AgentProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

std::string AgentProcess::log() const {
  return read_text(log_file_);
}

}  // namespace faultline::test
