#include "tests/support/prometheus_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"

namespace faultline::test {
namespace {

constexpr const char* kCurl = "/usr/bin/curl";

std::string seconds_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

}  // namespace

void PrometheusServer::skip_unless_installed() {
  for (const char* program : {kBinary, kCurl})
    if (access(program, X_OK) != 0) {
      std::printf("SKIPPED: %s is not installed (scripts/install-deps.sh installs it)\n", program);
      std::fflush(stdout);
      std::_Exit(77);
    }
}

PrometheusServer::PrometheusServer(const TempDir& dir, const std::string& job,
                                   const std::vector<std::string>& targets,
                                   Duration scrape_interval)
    : dir_(dir.file("prometheus")) {
  address_ = "127.0.0.1:" + std::to_string(free_port());
  config_file_ = dir.file("prometheus.yml");
  log_file_ = dir.file("prometheus.log");
  std::string list;
  for (const std::string& t : targets) list += (list.empty() ? "'" : ", '") + t + "'";
  // The timeout must not exceed the interval; each scrape of an agent takes about a millisecond.
  write_text(config_file_, "global:\n  scrape_interval: " + seconds_text(scrape_interval) +
                               "\n  scrape_timeout: " + seconds_text(scrape_interval) +
                               "\nscrape_configs:\n  - job_name: " + job +
                               "\n    static_configs:\n      - targets: [" + list + "]\n");
}

PrometheusServer::~PrometheusServer() {
  stop();
}

Result<void> PrometheusServer::start() {
  const std::string config_flag = "--config.file=" + config_file_;
  const std::string storage_flag = "--storage.tsdb.path=" + dir_;
  const std::string listen_flag = "--web.listen-address=" + address_;
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Dies with the test, however the test ends.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int log = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execl(kBinary, "prometheus", config_flag.c_str(), storage_flag.c_str(), listen_flag.c_str(),
          nullptr);
    _exit(127);
  }
  constexpr auto kLimit = std::chrono::seconds(30);
  const auto until = std::chrono::steady_clock::now() + kLimit;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      return fail("prometheus exited before it was ready; its log:\n{}", log());
    }
    const CommandResult r =
        run_command({kCurl, "-sf", "--max-time", "2", "http://" + address_ + "/-/ready"}, 5000);
    if (r.exit_code == 0) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fail("prometheus (pid {}) was not ready on {} within {} s; its log:\n{}", pid_, address_,
              kLimit.count(), log());
}

int PrometheusServer::stop() {
  return terminate_child(pid_);
}

Result<std::optional<double>> PrometheusServer::query(const std::string& promql) const {
  const CommandResult r = run_command({kCurl, "-sS", "--max-time", "5", "-G", "--data-urlencode",
                                       "query=" + promql, "http://" + address_ + "/api/v1/query"},
                                      10000);
  if (r.exit_code != 0) return fail("query {}: {}", promql, r.err);
  const nlohmann::json answer = nlohmann::json::parse(r.out, nullptr, false);
  if (answer.is_discarded() || answer.value("status", "") != "success")
    return fail("query {}: prometheus answered {}", promql, r.out);
  const nlohmann::json& result = answer["data"]["result"];
  if (result.empty()) return std::optional<double>();
  if (result.size() > 1)
    return fail("query {} selects {} series: {}", promql, result.size(), r.out);
  // A sample is [timestamp, "value"].
  return std::optional<double>(std::stod(result[0]["value"][1].get<std::string>()));
}

std::string PrometheusServer::log() const {
  return read_text(log_file_);
}

}  // namespace faultline::test
