#pragma once
// What the fleet benchmarks share: real faultline-agent processes on loopback ports with mutual
// TLS, harmless `sleep` targets to pause, and the clean-up of all of it. Every process started
// here dies with the benchmark (PR_SET_PDEATHSIG) and is stopped by its handle's destructor, so
// an error or Ctrl-C leaves no agent, target or temporary directory behind.
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controller/inventory/inventory.h"
#include "injectors/process/selector.h"

namespace faultline::bench {

// SIGINT/SIGTERM only set a flag; throw_if_interrupted() turns it into an exception, so that
// every destructor runs.
void install_interrupt_flag();
void throw_if_interrupted();

// The binaries under test: the build tree's, or $FAULTLINE_BIN / $FAULTLINE_AGENT_BIN.
std::string faultline_binary();
std::string agent_binary();

// A fresh directory under $TMPDIR (default /tmp), removed with its contents by the destructor.
// It holds the certificates and the agents' configs, logs and state files.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `faultline certs --out DIR/certs --agents NAMES`; the certs directory. Throws with the
// command's output when it fails.
std::string make_certs(const std::string& dir, const std::vector<std::string>& agent_names);

// A `sleep` whose argv[0] is `name`, so that a selector `name=NAME` finds exactly it.
class Target {
 public:
  explicit Target(const std::string& name);
  ~Target();
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  pid_t pid_ = 0;
};

// The state letter of /proc/PID/stat ('S', 'R', 'T', ...), or '?' when the process is gone.
char process_state(pid_t pid);

// "load 1.23": the 1-minute load average, printed with the figures since other work on the
// machine moves them.
std::string load_note();

// Resident memory (VmRSS) in KiB and CPU time (utime + stime) in clock ticks of one process.
long rss_kib(pid_t pid);
long cpu_ticks(pid_t pid);

// One faultline-agent with mutual TLS on a free 127.0.0.1 port, its state file and log in
// `dir`. `extra_config` is appended to the generated config (lease:, policy:, ...).
class BenchAgent {
 public:
  BenchAgent(const std::string& dir, const std::string& certs, const std::string& name,
             const std::string& extra_config);
  ~BenchAgent();  // SIGTERM (the agent reverts its faults), then SIGKILL after 5 s
  BenchAgent(const BenchAgent&) = delete;
  BenchAgent& operator=(const BenchAgent&) = delete;

  void start();  // does not wait
  // Polls (every `poll_ms`) until the port accepts connections; false if the agent exited or
  // time ran out.
  bool ready(int timeout_ms, int poll_ms = 10);
  void stop();
  pid_t pid() const { return pid_; }
  // The controller's view of this agent, as an inventory would give it.
  Agent inventory_entry() const;
  std::string log_tail() const;

 private:
  std::string name_;
  std::string certs_;
  int port_ = 0;
  std::string config_file_;
  std::string log_file_;
  pid_t pid_ = 0;
};

// Starts one agent per name and waits until all listen (an agent that fails is started again
// on another port, once). Throws with the agent's log when one cannot start.
std::vector<std::unique_ptr<BenchAgent>> start_agents(
    const std::string& dir, const std::string& certs, const std::vector<std::string>& names,
    const std::function<std::string(size_t index)>& extra_config);

// A group of agents on one machine, agent i (from 1) owning the target "PREFIX-i". All agents
// see the same processes, so the one fault that a controller sends to every host (the
// selector of group_selector) would find all N targets on each; the agent's policy protects
// every target but its own (policy.protected_processes), so each pauses exactly its own, as
// it would on a host of its own. The config allows only process_pause.
std::string group_agent_config(const std::string& prefix, size_t index,
                               const std::string& lease_default);
ProcessSelector group_selector(const std::string& prefix);
std::vector<std::string> numbered(const std::string& prefix, size_t n);

}  // namespace faultline::bench
