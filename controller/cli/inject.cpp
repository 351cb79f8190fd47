// One ad-hoc fault with the same guarantees as a scenario's: reverted at its end or on Ctrl-C.
#include <cstdio>
#include <random>
#include <thread>

#include "agent/local/local_agent.h"
#include "agent/local/local_undo.h"
#include "controller/cli/commands.h"
#include "core/stop_signal.h"
#include "controller/verdict/record.h"
#include "core/defer.h"
#include "core/suggest.h"
#include "injectors/linux/cgroup.h"

namespace faultline {

int inject_command(const std::string& kind, const std::optional<std::string>& duration_text,
                   const std::vector<std::string>& assignments, int64_t max_processes,
                   std::optional<uint64_t> seed) {
  const InjectorDescriptor* d = find_injector(kind);
  const std::vector<std::string_view> kinds = injector_kinds();
  if (d == nullptr) {
    std::fprintf(stderr, "faultline inject: error: unknown fault kind '%s'%s; known kinds: %s\n",
                 kind.c_str(), did_you_mean(kind, kinds).c_str(),
                 fmt::format("{}", fmt::join(kinds, ", ")).c_str());
    return kExitInvalid;
  }
  Diagnostics errors;
  FaultRequest request;
  request.id = "inject-" + kind;
  request.kind = kind;
  request.max_processes = max_processes;
  request.seed = seed.value_or(std::random_device{}());
  if (duration_text) {
    auto d2 = parse_duration(*duration_text);
    if (!d2)
      errors.push_back({{"--duration"}, d2.error().message});
    else if (*d2 <= Duration::zero())
      errors.push_back({{"--duration"}, "the duration must be positive"});
    else
      request.duration = *d2;
  }
  std::vector<RawParam> raw;
  for (size_t i = 0; i < assignments.size(); ++i) {
    const std::string& a = assignments[i];
    const SourceLocation at{fmt::format("argument '{}'", a)};
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      errors.push_back({at, "expected KEY=VALUE, e.g. load=80 or name=nginx"});
      continue;
    }
    std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    if (request.selector.set(key, value)) continue;
    raw.push_back({key, value, at, at});
  }
  ParsedParams parsed = parse_params(d->params, raw, {"faultline inject"}, kind);
  errors.insert(errors.end(), parsed.errors.begin(), parsed.errors.end());
  request.params = std::move(parsed.params);
  if (errors.empty()) {
    if (d->duration == DurationRule::Required && !request.duration)
      errors.push_back(
          {{"faultline inject"}, fmt::format("{} needs --duration, e.g. --duration 30s", kind)});
    if (d->targets_processes && request.selector.empty())
      errors.push_back({{"faultline inject"},
                        fmt::format("{} needs a process selector: name=, cmdline=, pidfile=, "
                                    "parent_pidfile= or cgroup=",
                                    kind)});
    for (const std::string& p : d->cross_check(request.params, request.duration, request.selector))
      errors.push_back({{"faultline inject"}, p});
  }
  if (!errors.empty()) {
    for (const Diagnostic& e : errors) std::fprintf(stderr, "%s\n", format_diagnostic(e).c_str());
    return kExitInvalid;
  }

  warn_about_leftovers(stderr);
  remove_stale_cgroups();
  // The fault's undo is on disk, and with the guardian, before it touches the host.
  auto keeper = open_local_keeper("inject");
  if (!keeper) {
    std::fprintf(stderr, "faultline inject: error: nothing was injected: %s\n",
                 keeper.error().message.c_str());
    return exit_code(RunStatus::Error);
  }
  (*keeper)->start_guardian();  // before any thread: it is a fork
  install_stop_handlers();
  LocalAgent agent(keeper->get());
  // However inject ends: with nothing left the file goes; what could not be reverted stays
  // (the guardian tries again as we exit, then `faultline recover`).
  const Defer close_keeper([&] {
    if ((*keeper)->close() > 0)
      std::fprintf(stderr, "faultline: undo kept in %s; `faultline recover` performs it\n",
                   (*keeper)->path().c_str());
  });
  const std::string id = request.id;
  const TimePoint start = Clock::now();
  const TimePoint end = request.duration ? start + *request.duration : start;
  if (auto p = agent.prepare(std::move(request), "inject", end + std::chrono::seconds(5)); !p) {
    std::fprintf(stderr, "faultline inject: error: %s\n", p.error().message.c_str());
    if (p.error().refused) {
      std::fprintf(stderr,
                   "(on the command line the limit is --max-processes; nothing was "
                   "changed)\n");
      return kExitInvalid;
    }
    return exit_code(RunStatus::Error);
  }
  if (auto a = agent.apply(id, Clock::now()); !a) {
    std::fprintf(stderr, "faultline inject: error: %s\n", a.error().message.c_str());
    auto st = agent.state(id);
    return st && !st->revert_error.empty() ? exit_code(RunStatus::RevertFailed)
                                           : exit_code(RunStatus::Error);
  }
  std::fprintf(stderr, "applied %s%s; Ctrl-C reverts it now\n", kind.c_str(),
               duration_text ? fmt::format(" for {}", *duration_text).c_str() : "");
  // A one-shot fault (a kill) is followed until its effect is seen, at most a few seconds.
  const TimePoint until = duration_text ? end : start + std::chrono::seconds(3);
  while (Clock::now() < until && stop_signal().load() == 0) {
    if (!duration_text && agent.state(id)->confirmed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const bool interrupted = stop_signal().load() != 0;
  auto reverted = agent.revert(id);
  const FaultState st = *agent.state(id);
  std::printf("%s: %s%s\n", kind.c_str(), st.summary.c_str(),
              st.confirmed ? "" : "  [NOT CONFIRMED]");
  std::printf("observed: %s\n",
              st.observed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  if (!reverted) {
    std::fprintf(stderr, "faultline inject: error: REVERT FAILED: %s\n",
                 reverted.error().message.c_str());
    return exit_code(RunStatus::RevertFailed);
  }
  if (interrupted) {
    std::fprintf(stderr, "interrupted by %s: reverted\n",
                 signal_name(stop_signal().load()).c_str());
    return exit_code(RunStatus::Aborted);
  }
  return 0;
}

}  // namespace faultline
