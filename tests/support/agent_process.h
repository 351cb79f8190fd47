#pragma once
// A real faultline-agent for tests: a config written to a temporary directory, the agent
// started on a free loopback port, and stopped with SIGTERM (which reverts its faults) when the
// handle goes away, so a failing test leaves nothing behind.
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "controller/fleet/agent_client.h"
#include "core/result.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace faultline::test {

// A loopback TCP port that was free a moment ago.
int free_port();

void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);

// One cluster's mutual-TLS material, made with the tls library as `faultline certs` makes it: a
// CA, a server certificate per agent (SAN DNS:NAME and IP:127.0.0.1) and the client certificate
// of the controller (CN and SAN `controller`).
class ClusterCerts {
 public:
  ClusterCerts(const std::string& dir, const std::vector<std::string>& agents);
  const std::string& dir() const { return dir_; }
  std::string ca() const { return dir_ + "/ca.pem"; }
  std::string cert(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  // What a controller of this cluster presents.
  ClientTls controller() const { return {ca(), cert("controller"), key("controller")}; }
  // An agent config's tls section (and its allowed_clients, when given).
  std::string agent_config(const std::string& agent,
                           const std::vector<std::string>& allowed_clients = {}) const;

 private:
  std::string dir_;
};

class AgentProcess {
 public:
  // `config_body` is the config without `listen` and `state_file`, which the fixture adds.
  // With `metrics`, it adds a `metrics` section too, on a loopback port of its own.
  AgentProcess(const TempDir& dir, const std::string& name, const std::string& config_body,
               bool metrics = false);
  ~AgentProcess();

  // Starts the agent and waits until its port accepts connections; if it does not, the error
  // says whether the agent exited (and how) or kept the port closed, and quotes its log.
  // `environment`: NAME=VALUE entries added to the agent's environment (this process's own is
  // left alone: other threads may read it).
  Result<void> start(const std::vector<std::string>& environment = {});
  // SIGTERM and wait; the exit code, or -1.
  int stop();
  // SIGKILL, as a crash would.
  void kill_hard();

  const std::string& address() const { return address_; }
  // Where its metrics are served (IP:PORT); empty unless asked for.
  const std::string& metrics_address() const { return metrics_address_; }
  const std::string& state_file() const { return state_file_; }
  const std::string& config_file() const { return config_file_; }
  std::string log() const;
  pid_t pid() const { return pid_; }
  // A plaintext client (the config must say plaintext: true).
  AgentEndpoint endpoint() const { return {name_, address_, std::nullopt}; }
  // A mutual-TLS client that expects the agent's certificate to name `name` (the agent's own
  // name when empty), as an inventory entry does.
  AgentEndpoint endpoint(const ClientTls& tls, const std::string& name = "") const {
    return {name.empty() ? name_ : name, address_, tls};
  }

 private:
  std::string name_;
  std::string address_;
  std::string metrics_address_;
  std::string config_file_;
  std::string state_file_;
  std::string log_file_;
  pid_t pid_ = 0;
};

}  // namespace faultline::test
