#include "bench/fleet_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/user_regex.h"

namespace faultline::bench {
namespace {

std::atomic<int> g_interrupt{0};

void on_interrupt(int sig) {
  g_interrupt.store(sig);
}

// In a forked child before exec: die with the benchmark, with this signal.
void die_with_parent(int sig, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, sig);
  if (getppid() != parent) _exit(127);  // the parent is already gone
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A loopback TCP port that was free a moment ago and that this process has not handed out.
int free_port() {
  static std::set<int> given;
  for (;;) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      close(fd);
      throw std::runtime_error("no free loopback port");
    }
    close(fd);
    const int port = ntohs(a.sin_port);
    if (given.insert(port).second) return port;
  }
}

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

// SIGTERM, up to `grace`, then SIGKILL; always reaps.
void stop_process(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 1) return;
  kill(pid, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// The fields after "(comm)" of /proc/PID/stat; empty when the process is gone.
std::vector<std::string> stat_fields(pid_t pid) {
  const std::string text = read_all("/proc/" + std::to_string(pid) + "/stat");
  const size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return {};
  std::istringstream rest(text.substr(close_paren + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;  // fields[0] is field 3 (state)
}

}  // namespace

void install_interrupt_flag() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void throw_if_interrupted() {
  if (const int sig = g_interrupt.load())
    throw std::runtime_error(fmt::format("interrupted by signal {}", sig));
}

std::string faultline_binary() {
  if (const char* e = std::getenv("FAULTLINE_BIN")) return e;
  return FAULTLINE_BINARY;
}

std::string agent_binary() {
  if (const char* e = std::getenv("FAULTLINE_AGENT_BIN")) return e;
  return FAULTLINE_AGENT_BINARY;
}

ScratchDir::ScratchDir() {
  const char* root = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(root != nullptr && *root != '\0' ? root : "/tmp") + "/fl-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + tmpl);
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string make_certs(const std::string& dir, const std::vector<std::string>& agent_names) {
  const std::string out = dir + "/certs";
  const std::string log = dir + "/certs.log";
  const std::string names = fmt::format("{}", fmt::join(agent_names, ","));
  const std::string tool = faultline_binary();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    die_with_parent(SIGKILL, parent);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(tool.c_str(), "faultline", "certs", "--out", out.c_str(), "--agents", names.c_str(),
          nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(fmt::format("{} certs failed: {}", tool, read_all(log)));
  return out;
}

Target::Target(const std::string& name) : name_(name) {
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    die_with_parent(SIGKILL, parent);
    setpgid(0, 0);  // not in the benchmark's process group: a Ctrl-C is the benchmark's to handle
    execl("/bin/sleep", name_.c_str(), "100000", nullptr);
    _exit(127);
  }
  // Until the exec is done the child is a copy of the benchmark, not yet the named target.
  for (int i = 0; i < 1000; ++i) {
    const std::string cmdline = read_all("/proc/" + std::to_string(pid_) + "/cmdline");
    if (cmdline.starts_with(name_ + '\0')) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  throw std::runtime_error("target " + name_ + " did not start");
}

Target::~Target() {
  // A paused target must be resumed to die by SIGTERM; SIGKILL needs no resume.
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

char process_state(pid_t pid) {
  const std::vector<std::string> f = stat_fields(pid);
  return f.empty() || f[0].empty() ? '?' : f[0][0];
}

std::string load_note() {
  std::istringstream in(read_all("/proc/loadavg"));
  std::string one;
  in >> one;
  return "load " + one;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return 0;
}

long cpu_ticks(pid_t pid) {
  const std::vector<std::string> f = stat_fields(pid);
  if (f.size() < 13) return 0;
  return std::stol(f[11]) + std::stol(f[12]);  // fields 14 (utime) and 15 (stime)
}

BenchAgent::BenchAgent(const std::string& dir, const std::string& certs, const std::string& name,
                       const std::string& extra_config)
    : name_(name),
      certs_(certs),
      config_file_(dir + "/" + name + ".yaml"),
      log_file_(dir + "/" + name + ".log") {
  port_ = free_port();
  std::ofstream(config_file_) << fmt::format(
      "host: {0}\nlisten: 127.0.0.1:{1}\ntls: {{ca: {2}/ca.pem, cert: {2}/{0}.pem, key: "
      "{2}/{0}.key}}\nstate_file: {3}/{0}-state.json\n{4}",
      name, port_, certs, dir, extra_config);
}

BenchAgent::~BenchAgent() {
  stop();
}

void BenchAgent::start() {
  const std::string binary = agent_binary();
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // SIGTERM: an agent left behind by a crashed benchmark still reverts its faults.
    die_with_parent(SIGTERM, parent);
    setpgid(0, 0);
    const int log = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    execl(binary.c_str(), "faultline-agent", "--config", config_file_.c_str(), nullptr);
    _exit(127);
  }
}

bool BenchAgent::ready(int timeout_ms, int poll_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (pid_ <= 0) return false;
    if (port_accepts(port_)) return true;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = 0;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
  return false;
}

void BenchAgent::stop() {
  if (pid_ > 0) stop_process(pid_, std::chrono::seconds(5));
  pid_ = 0;
}

Agent BenchAgent::inventory_entry() const {
  Agent a;
  a.name = name_;
  a.address = fmt::format("127.0.0.1:{}", port_);
  a.host = "127.0.0.1";
  a.port = static_cast<uint16_t>(port_);
  a.tls = TlsFiles{certs_ + "/ca.pem", certs_ + "/controller.pem", certs_ + "/controller.key"};
  return a;
}

std::string BenchAgent::log_tail() const {
  const std::string log = read_all(log_file_);
  return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
}

std::vector<std::unique_ptr<BenchAgent>> start_agents(
    const std::string& dir, const std::string& certs, const std::vector<std::string>& names,
    const std::function<std::string(size_t index)>& extra_config) {
  std::vector<std::unique_ptr<BenchAgent>> agents;
  for (size_t i = 0; i < names.size(); ++i) {
    agents.push_back(std::make_unique<BenchAgent>(dir, certs, names[i], extra_config(i)));
    agents.back()->start();
  }
  for (size_t i = 0; i < agents.size(); ++i) {
    throw_if_interrupted();
    if (agents[i]->ready(20000)) continue;
    // Most likely its port was taken in between: once more on another one.
    agents[i]->stop();
    agents[i] = std::make_unique<BenchAgent>(dir, certs, names[i], extra_config(i));
    agents[i]->start();
    if (!agents[i]->ready(20000))
      throw std::runtime_error(
          fmt::format("agent {} did not start: {}", names[i], agents[i]->log_tail()));
  }
  return agents;
}

std::string group_agent_config(const std::string& prefix, size_t index,
                               const std::string& lease_default) {
  // The command line is argv joined by spaces: "PREFIX-17 100000".
  return fmt::format(
      "lease: {{default: {}, max: 60s}}\n"
      "policy:\n"
      "  allowed_kinds: [process_pause]\n"
      "  max_duration: 1h\n"
      "  max_faults: 8\n"
      "  protected_processes: [{{cmdline: '^{}-{}'}}]\n",
      lease_default, prefix, regex_not_starting_with(fmt::format("{} ", index)));
}

ProcessSelector group_selector(const std::string& prefix) {
  ProcessSelector s;
  s.cmdline = fmt::format("^{}-[0-9]+ ", prefix);
  return s;
}

std::vector<std::string> numbered(const std::string& prefix, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 1; i <= n; ++i) out.push_back(fmt::format("{}-{}", prefix, i));
  return out;
}

}  // namespace faultline::bench
