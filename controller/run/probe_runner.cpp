#include "controller/run/probe_runner.h"

#include <fmt/format.h>

namespace faultline {

ProbeRunner::ProbeRunner(const Scenario& scenario, RunState& state, TimePoint run_start,
                         RunLog log)
    : scenario_(scenario),
      state_(state),
      run_start_(run_start),
      log_(std::move(log)),
      stops_(scenario.stop_when) {}

ProbeRunner::~ProbeRunner() { stop(); }

void ProbeRunner::start(MakeProbe make) {
  make_ = std::move(make);
  for (size_t i = 0; i < scenario_.steady_state.size(); ++i)
    threads_.emplace_back([this, i] { loop(i); });
}

void ProbeRunner::stop() {
  {
    std::lock_guard lock(state_.mutex);
    state_.probes_stop = true;
  }
  state_.wake.notify_all();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
}

void ProbeRunner::loop(size_t index) {
  const ProbeSpec& spec = scenario_.steady_state[index];
  const std::unique_ptr<Probe> probe = make_(index);
  TimePoint next = run_start_;
  std::optional<bool> last_ok;
  for (;;) {
    {
      std::unique_lock lock(state_.mutex);
      if (state_.wake.wait_until(lock, next, [this] { return state_.probes_stop; })) return;
    }
    next += spec.interval;
    if (!spec.phases.contains(state_.phase.load())) continue;
    const Duration t = Clock::now() - run_start_;
    CheckResult r = probe->check();
    if (next < Clock::now()) next = Clock::now();
    // A check that straddles a phase change observed the later phase (a fault that started
    // meanwhile is what it saw), so it counts there, or not at all if the probe skips it.
    const Phase phase = state_.phase.load();
    if (!spec.phases.contains(phase)) continue;
    std::lock_guard lock(state_.mutex);
    RunRecord& record = state_.record;
    record.probes[index].checks.push_back(
        {t, phase, r.ok && !r.could_not_run, r.observed, r.latency, r.could_not_run});
    if (r.could_not_run) {
      log_(fmt::format("probe {} COULD NOT RUN ({}): {}", spec.name, phase_name(phase),
                       r.observed));
      if (record.error.empty()) {
        record.error = fmt::format("probe '{}' could not run: {}", spec.name, r.observed);
        state_.wake.notify_all();
      }
      continue;  // neither passed nor failed: stop conditions count what was observed
    }
    if (last_ok != r.ok)
      log_(fmt::format("probe {} {} ({}): {}", spec.name, r.ok ? "passes" : "FAILS",
                       phase_name(phase), r.observed));
    last_ok = r.ok;
    if (auto reason = stops_.observe(spec.name, r.ok); reason && !record.stop_reason) {
      record.stop_reason = *reason;
      state_.wake.notify_all();
    }
  }
}

}  // namespace faultline
