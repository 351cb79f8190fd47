#pragma once
// Starting one lab host's faultline-agent inside its namespace, and waiting until it listens.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "core/result.h"

namespace faultline::lab {

// The faultline-agent to start: `explicit_path` if given; else next to this executable
// (installed side by side), or ../agent/faultline-agent (the build tree). The error says where
// it looked and how to proceed.
Result<std::string> find_agent_binary(const std::optional<std::string>& explicit_path);

struct AgentLaunch {
  std::string binary;
  std::string config;
  std::string netns;  // fl-lab-i
  std::string log_file;
  std::string pid_file;
  std::string address;  // where it listens, to wait for
  uint16_t port = 0;
  std::chrono::milliseconds ready_timeout = std::chrono::seconds(10);
};

// Forks, enters the namespace (setns in the child), execs `binary --config CONFIG` with output
// to the log file, writes the pid file, then waits until ADDRESS:PORT accepts a TCP connection.
// The agent is its own session: it outlives `lab up`. On failure it is killed and the error
// quotes the end of its log.
Result<pid_t> start_agent(const AgentLaunch& launch);

}  // namespace faultline::lab
