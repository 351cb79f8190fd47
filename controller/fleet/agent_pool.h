#pragma once
// The agents of one controller process: a client per inventory host, made on first use and
// kept, so that its connection (TCP, TLS handshake, HTTP/2) is made once and then serves the
// preflight, the faults, their renewals and the probes of a run.
#include <cstddef>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "controller/fleet/agent_client.h"
#include "controller/inventory/inventory.h"

namespace faultline {

AgentEndpoint endpoint_of(const Agent& agent);

class AgentPool {
 public:
  // Raises this process's soft limit of open files to its hard limit (no privilege needed):
  // every agent's connection is a descriptor, and the usual soft limit of 1,024 is less than
  // the connections of a thousand-host fleet plus gRPC's own.
  AgentPool();
  std::shared_ptr<AgentClient> client(const Agent& agent);

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<AgentClient>> clients_;
};

// Starts n calls at once and returns when every one has answered: `start(i, answered)` begins
// call i, whose answer must call `answered()` last. No thread per call: the answers come on
// gRPC's threads, and the calls' deadlines bound the wait.
template <typename Start>
void all_at_once(size_t n, Start&& start) {
  std::latch pending(static_cast<std::ptrdiff_t>(n));
  for (size_t i = 0; i < n; ++i) start(i, [&pending] { pending.count_down(); });
  pending.wait();
}

}  // namespace faultline
