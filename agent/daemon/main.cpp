// faultline-agent: the per-host daemon. Start-up is a list of steps in order; any failing step
// stops the start before the host is touched or a port is opened. Teardown (revert everything)
// always runs. Signals only set a flag (core/stop_signal.cpp); the main loop acts on it.
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "agent/daemon/agent_config.h"
#include "agent/daemon/fault_service.h"
#include "agent/daemon/grpc_service.h"
#include "agent/daemon/metrics/agent_metrics.h"
#include "agent/daemon/metrics/metrics_server.h"
#include "agent/local/state_file.h"
#include "agent/daemon/server_credentials.h"
#include "agent/daemon/service_manager.h"
#include "agent/local/undo_keeper.h"
#include "agent/wire/wire.h"
#include "core/stop_signal.h"
#include "injectors/injector.h"
#include "injectors/linux/cgroup.h"
#include "injectors/network/lifelines.h"

namespace faultline {
namespace {

constexpr int kExitInvalid = 2;
constexpr int kExitFailed = 1;
// How often leases and deadlines are looked at: a lease ends within this of its time.
constexpr Duration kTick = std::chrono::milliseconds(100);
// How long a starting agent waits for the guardian of a killed one to finish undoing.
constexpr Duration kWaitForGuardian = std::chrono::seconds(30);

void setup_logging() {
  // One event a line, key=value pairs after the level: easy for people and for log shippers.
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z level=%l %v");
  spdlog::flush_on(spdlog::level::info);
}

// Step: put the host back from what a previous agent left in the state file.
bool recover_leftovers(StateFile& state, AgentMetrics& metrics) {
  auto recovered = recover(state);
  if (!recovered) {
    spdlog::critical("event=recovery_failed error=\"{}\"", recovered.error().message);
    return false;
  }
  for (const StateEntry& e : recovered->undone) {
    metrics.fault_reverted(e.kind, RevertReason::Recovery);
    spdlog::warn("event=recovered owner={} fault={} kind={} steps={} written_at={}", e.owner,
                 e.fault_id, e.kind, e.undo.size(), e.written_at);
  }
  for (const StateEntry& e : recovered->kept)
    spdlog::critical("event=recovery_failed owner={} fault={} kind={} errors=\"{}\"", e.owner,
                     e.fault_id, e.kind, fmt::join(e.undo_errors, "; "));
  if (!recovered->kept.empty()) {
    spdlog::critical(
        "event=refusing_to_serve reason=\"some faults left by a previous agent could "
        "not be reverted; see the lines above and {}\"",
        state.path());
    return false;
  }
  return true;
}

// Step: the state file's directory exists and takes a write, or no fault could ever be applied.
bool state_directory_ready(const std::string& state_file) {
  const std::filesystem::path dir = std::filesystem::path(state_file).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || access(dir.c_str(), W_OK) != 0) {
    spdlog::critical(
        "event=state_dir_unusable dir={} error=\"{}\" fix=\"create it, writable by "
        "the agent, or set state_file in the config\"",
        dir.string(), ec ? ec.message() : std::strerror(errno));
    return false;
  }
  return true;
}

int serve(const AgentConfig& config) {
  if (!state_directory_ready(config.state_file)) return kExitFailed;
  // The state file's lock: one agent per file, and a restarted agent waits here while the
  // guardian of the one that was killed is still undoing its faults.
  auto keeper = UndoKeeper::open(config.state_file, kWaitForGuardian, false);
  if (!keeper) {
    spdlog::critical("event=state_locked error=\"{}\"", keeper.error().message);
    return kExitFailed;
  }
  StateFile& state = (*keeper)->file();
  AgentMetrics metrics(injector_kinds(), FAULTLINE_VERSION);
  if (!recover_leftovers(state, metrics)) return kExitFailed;
  // A fork: before the actuator and gRPC start any thread.
  (*keeper)->start_guardian();

  auto credentials = server_credentials(config);
  if (!credentials) {
    spdlog::critical("event=tls_failed error=\"{}\"", credentials.error().message);
    return kExitInvalid;
  }
  if (!config.tls)
    spdlog::warn(
        "event=plaintext listen={} warning=\"no TLS: anyone on this host can inject "
        "faults through this agent; use only for tests on loopback\"",
        config.listen);

  // No network fault of this agent may cut its own control connection (lifelines.h).
  const std::string port = config.listen.substr(config.listen.rfind(':') + 1);
  const LifelinePort control_port(static_cast<uint16_t>(std::stoi(port)));

  FaultService faults(config, **keeper, metrics);
  AgentGrpcService service(config, faults, metrics);
  // The metrics port before the control port: an agent that cannot serve what it was configured
  // to serve does not start. Its threads start after the guardian's fork, as gRPC's do.
  std::unique_ptr<MetricsServer> metrics_server;
  if (config.metrics) {
    auto started = MetricsServer::start(
        config.metrics->listen, [&] { return metrics.exposition(faults.active_by_kind()); });
    if (!started) {
      spdlog::critical("event=metrics_listen_failed listen={} error=\"{}\"", config.metrics->listen,
                       started.error().message);
      return kExitFailed;
    }
    metrics_server = std::move(*started);
  }
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(config.listen, *credentials, &bound_port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(wire::kMaxMessageBytes);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    spdlog::critical(
        "event=listen_failed listen={} error=\"cannot listen there (in use, or not "
        "an address of this host)\"",
        config.listen);
    return kExitFailed;
  }
  spdlog::info("event=ready host={} listen={} tls={} scope={} state_file={} metrics={}",
               config.host, config.listen, config.tls ? "mutual" : "off",
               config.scope_own_netns ? "own-netns" : "all", config.state_file,
               config.metrics ? config.metrics->listen : "off");
  notify_service_manager("READY=1");

  while (stop_signal().load() == 0) {
    faults.tick(Clock::now());
    std::this_thread::sleep_for(kTick);
  }

  notify_service_manager("STOPPING=1");
  spdlog::info("event=stopping signal={}", signal_name(stop_signal().load()));
  // Faults first: a slow RPC must not keep the host faulted.
  std::vector<std::string> errors = faults.revert_everything("shutdown");
  for (const std::string& e : errors) spdlog::critical("event=revert_failed {}", e);
  // What is still in the state file was not put back: the next start tries again.
  if (auto left = state.load(); !left || !left->empty())
    errors.push_back(left ? fmt::format("{} fault(s) still in {}", left->size(), state.path())
                          : left.error().message);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  metrics_server.reset();  // stops its threads, after a scrape in progress is answered
  // With nothing left, the guardian leaves; otherwise it tries once more when we exit.
  (*keeper)->close();
  spdlog::info("event=stopped reverted_all={}", errors.empty());
  return errors.empty() ? 0 : kExitFailed;
}

}  // namespace
}  // namespace faultline

int main(int argc, char** argv) {
  using namespace faultline;
  // The name is given, not taken from argv[0]: the usage line and the man page (help2man reads
  // --help and --version) name the program, not the path it was started by.
  CLI::App app{"faultline-agent: injects faults on this host for a faultline controller",
               "faultline-agent"};
  std::string config_path = "/etc/faultline/agent.yaml";
  bool check_only = false;
  app.add_option("-c,--config", config_path, "the agent's config file (docs/agent.md)");
  app.add_flag("--check", check_only, "check the config file and exit");
  app.set_version_flag("--version", std::string("faultline-agent ") + FAULTLINE_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;
  }
  const AgentConfigResult read = read_agent_config(config_path);
  if (!read.config) {
    for (const Diagnostic& d : read.errors)
      std::fprintf(stderr, "%s\n", format_diagnostic(d).c_str());
    return kExitInvalid;
  }
  if (check_only) {
    const std::string metrics =
        read.config->metrics ? ", metrics on " + read.config->metrics->listen : "";
    std::printf("%s: ok (host %s, listen %s, %s%s)\n", config_path.c_str(),
                read.config->host.c_str(), read.config->listen.c_str(),
                read.config->tls ? "mutual TLS" : "plaintext", metrics.c_str());
    return 0;
  }
  setup_logging();
  // Debian's abseil records the lock order of every absl::Mutex gRPC takes, to find deadlocks:
  // CPU on every call that a production daemon need not spend.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  remove_stale_cgroups();
  install_stop_handlers();
  return serve(*read.config);
}
