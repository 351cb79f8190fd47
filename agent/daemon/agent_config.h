#pragma once
// faultline-agent's own configuration: who it is, how it is reached, and the policy that no
// controller can override. Read once at start; immutable afterwards.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "core/duration.h"
#include "injectors/container/container_selector.h"
#include "injectors/process/selector.h"
#include "injectors/resource/resource_bounds.h"

namespace faultline {

struct AgentTls {
  std::string ca;    // PEM file: clients must chain to it
  std::string cert;  // PEM file: this agent's certificate
  std::string key;   // PEM file: its private key
  std::vector<std::string> allowed_clients;  // names (CN or DNS SAN); empty: any the CA signed
};

struct AgentPolicy {
  std::set<std::string> allowed_kinds;  // empty: every kind this build knows
  std::vector<ProcessSelector> protected_processes;
  // Containers no fault from any controller may touch (each entry: every criterion given
  // matches); they go with every request as ContainerProtection::agent_policy.
  std::vector<ContainerSelector> protected_containers;
  std::vector<std::string> protected_interfaces;
  // The resource kinds' bounds that no controller can loosen: the most memory one fault may
  // hold ("2GiB" or "50%" of the host's), and filesystems none may fill, stress or throttle.
  std::optional<MemoryBound> max_memory;
  std::vector<std::string> protected_paths;
  Duration max_duration = std::chrono::minutes(10);
  int64_t max_faults = 8;
  bool allow_command_probes = false;
};

// Where the agent serves its Prometheus metrics (docs/agent.md#metrics). Plain HTTP without
// authentication, so a loopback address unless the config opts in to more.
struct AgentMetricsConfig {
  std::string listen;         // IPV4:PORT, e.g. 127.0.0.1:9464; never listen's port
  bool allow_remote = false;  // required for an address other than loopback
};

struct AgentConfig {
  std::string file;
  std::string host;
  std::map<std::string, std::string> labels;
  std::string listen;  // host:port or [v6]:port
  std::optional<AgentTls> tls;
  bool plaintext = false;  // only for a loopback `listen`
  std::string state_file = "/var/lib/faultline/agent-state.json";
  bool scope_own_netns = false;  // act only on processes in the agent's network namespace
  Duration lease_default = std::chrono::seconds(5);
  Duration lease_max = std::chrono::seconds(60);
  AgentPolicy policy;
  std::optional<AgentMetricsConfig> metrics;  // none: no metrics endpoint
};

struct AgentConfigResult {
  std::optional<AgentConfig> config;
  Diagnostics errors;
};

AgentConfigResult read_agent_config(const std::string& path);
AgentConfigResult parse_agent_config(const std::string& text, const std::string& file);

}  // namespace faultline
