#pragma once
// The controller's side of the agent API: one client per agent, over mutual TLS, each call with
// a deadline so that an agent that stopped answering costs a bounded wait, never a hang.
//
// Every call has two forms. The `_async` one starts the call and returns at once; its `done`
// runs exactly once, on one of gRPC's threads, with the answer or the error. That is how the
// controller talks to a thousand hosts without a thread each: start every call, then wait for
// the answers (std::latch). `done` must not block, nor own the client (its destructor waits for
// `done`). The plain form waits for its own answer.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/local/fault_report.h"
#include "agent/wire/tls_credentials.h"
#include "probes/probe.h"
#include "controller/scenario/scenario.h"
#include "core/result.h"

namespace faultline {

struct AgentEndpoint {
  std::string name;     // must be a DNS name in the agent's certificate
  std::string address;  // host:port
  std::optional<ClientTls> tls;  // none: plaintext (loopback only; the inventory checks it)
};

struct AgentDescription {
  std::string host;
  std::map<std::string, std::string> labels;
  std::string version;
  struct Kind {
    std::string kind;
    bool supported = false;
    std::string reason;
  };
  std::vector<Kind> kinds;
  uint32_t max_faults = 0;
  Duration max_duration{};
  Duration max_lease{};
  uint32_t active_faults = 0;
};

struct RemoteFault {
  std::string owner;
  std::string fault_id;
  std::string kind;
  std::map<std::string, std::string> params;  // as written in the scenario
  ProcessSelector selector;
  std::optional<Duration> duration;
  Duration lease{};
  uint64_t seed = 0;
  int64_t max_processes = 0;
  // The scenario's blast_radius.protected: the agent protects these as well as its own policy's.
  std::vector<ProcessSelector> protected_processes;
  // The target group's `containers:`/`pods:`: the agent resolves them on its own host.
  std::optional<ContainerSelector> containers;
  int64_t max_containers = 0;  // the scenario's blast_radius.max_containers, per host
  // The scenario's blast_radius.protected_containers, beside the agent's own policy's.
  std::vector<ContainerSelector> protected_containers;
  // The scenario's blast_radius.max_memory as written ("" for none) and protected_paths.
  std::string max_memory;
  std::vector<std::string> protected_paths;
};

struct RenewResult {
  uint32_t renewed = 0;
  std::vector<FaultReport> ended;
};

template <typename T>
using Answer = std::function<void(Result<T>)>;

class AgentClient {
 public:
  // Makes the channel; it connects on the first call and stays connected while the client lives.
  explicit AgentClient(const AgentEndpoint& endpoint);
  // Cancels the calls still waiting for an answer and waits for their `done`, so that no
  // callback runs after the client is gone, and for their gRPC contexts to be released, so that
  // the channel is destroyed here, never on one of gRPC's threads.
  ~AgentClient();
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  const std::string& name() const { return name_; }

  // Each error message starts with what failed and names the agent.
  Result<AgentDescription> describe(Duration timeout);
  Result<FaultReport> apply(const RemoteFault& fault, Duration timeout);
  Result<RenewResult> renew(const std::string& owner, Duration lease, Duration timeout);
  Result<std::vector<FaultReport>> revert(const std::string& owner, const std::string& fault_id,
                                          Duration timeout);
  Result<std::vector<FaultReport>> list(const std::string& owner, Duration timeout);
  Result<CheckResult> run_probe(const ProbeSpec& spec, Duration timeout);

  void describe_async(Duration timeout, Answer<AgentDescription> done);
  void apply_async(const RemoteFault& fault, Duration timeout, Answer<FaultReport> done);
  void renew_async(const std::string& owner, Duration lease, Duration timeout,
                   Answer<RenewResult> done);
  void revert_async(const std::string& owner, const std::string& fault_id, Duration timeout,
                    Answer<std::vector<FaultReport>> done);
  void list_async(const std::string& owner, Duration timeout,
                  Answer<std::vector<FaultReport>> done);
  void run_probe_async(const ProbeSpec& spec, Duration timeout, Answer<CheckResult> done);

 private:
  struct Impl;
  std::string name_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline
