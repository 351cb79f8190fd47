#pragma once
// A real Prometheus server for tests (Debian's `prometheus`): its config and its storage in the
// test's directory, its web API on a free loopback port, scraping the targets it is given. It
// dies with the test process (PR_SET_PDEATHSIG) and is stopped (SIGTERM, then SIGKILL) when the
// handle goes away, so a failing test leaves nothing running.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/result.h"
#include "tests/support/temp_dir.h"

namespace faultline::test {

class PrometheusServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus";
  // Exits the test as skipped (77, with the reason) when Prometheus or curl is not installed.
  static void skip_unless_installed();

  // One scrape job named `job` over `targets` (HOST:PORT, plain HTTP, path /metrics).
  PrometheusServer(const TempDir& dir, const std::string& job,
                   const std::vector<std::string>& targets, Duration scrape_interval);
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  // Starts it and waits until /-/ready answers; the error quotes its log. Prometheus starts
  // scraping up to 5 s after that (its scrape manager applies new targets every 5 s).
  Result<void> start();
  // SIGTERM and wait; its exit code, or -1 when it had to be killed.
  int stop();

  // An instant query through the HTTP API (/api/v1/query) that selects at most one series: its
  // value, or nullopt when it selects none. An error when Prometheus cannot be asked, refuses
  // the query, or the query selects several series.
  Result<std::optional<double>> query(const std::string& promql) const;

  const std::string& address() const { return address_; }
  std::string log() const;

 private:
  std::string dir_;
  std::string address_;
  std::string config_file_;
  std::string log_file_;
  pid_t pid_ = 0;
};

}  // namespace faultline::test
