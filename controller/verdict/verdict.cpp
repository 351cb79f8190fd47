#include "controller/verdict/verdict.h"

#include <algorithm>
#include <cmath>

namespace faultline {

bool within_tolerance(size_t checks, size_t passed, Percent allowed_failed) {
  const auto failed = static_cast<int64_t>(checks - passed);
  return failed * 10000 <= allowed_failed.basis_points * static_cast<int64_t>(checks);
}

std::optional<double> p95(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(values.size())));
  return values[std::max<size_t>(rank, 1) - 1];
}

namespace {

// The field that bounds one check of the probe, and its value; nullopt for process probes.
std::optional<std::pair<std::string_view, Duration>> check_timeout(const ProbeSpec& s) {
  switch (s.type) {
    case ProbeType::Http:
      return std::pair{"http.timeout", s.http.timeout};
    case ProbeType::Tcp:
      return std::pair{"tcp.timeout", s.tcp.timeout};
    case ProbeType::Command:
      return std::pair{"command.timeout", s.command.timeout};
    case ProbeType::Process:
      break;
  }
  return std::nullopt;
}

// The checks that were made, without those that could not run.
ProbeRecord completed(const ProbeRecord& record) {
  ProbeRecord out{record.name, record.expected, {}};
  for (const CheckRecord& c : record.checks)
    if (!c.could_not_run) out.checks.push_back(c);
  return out;
}

}  // namespace

BeforeGate judge_before(const Scenario& s, const RunRecord& record) {
  BeforeGate gate;
  for (size_t i = 0; i < s.steady_state.size() && i < record.probes.size(); ++i) {
    const ProbeSpec& spec = s.steady_state[i];
    if (!spec.phases.contains(Phase::Before)) continue;
    size_t checks = 0, passed = 0;
    for (const CheckRecord& c : record.probes[i].checks) {
      if (c.phase != Phase::Before || c.could_not_run) continue;
      ++checks;
      passed += c.ok ? 1 : 0;
    }
    if (checks == 0) {
      const auto timeout = check_timeout(spec);
      gate.outcome = BeforeGate::Outcome::NoEvidence;
      gate.reason = fmt::format(
          "probe '{}' completed no check in the before phase, so the steady state was never seen "
          "and no fault was injected; {}",
          spec.name,
          timeout ? fmt::format("make phases.before ({}) longer than its {} ({}), or shorten the "
                                "timeout",
                                format_duration(s.before), timeout->first,
                                format_duration(timeout->second))
                  : fmt::format("make phases.before ({}) longer", format_duration(s.before)));
      return gate;
    }
    if (!within_tolerance(checks, passed, spec.tolerance_before))
      gate.outcome = BeforeGate::Outcome::Deviated;
  }
  return gate;
}

ProbeVerdict judge_probe(const ProbeSpec& spec, const ProbeRecord& all_checks,
                         std::optional<Duration> during_end, Duration recovery_within) {
  const ProbeRecord record = completed(all_checks);
  ProbeVerdict v;
  v.name = spec.name;
  // Recovery: the first passing check after the faults ended. Failures before it are judged by
  // the recovery window, not by the after-phase tolerance.
  std::optional<size_t> first_pass_after;
  if (during_end && spec.phases.contains(Phase::After)) {
    v.judged_recovery = true;
    // A probe whose last check under the faults passed never needed to recover.
    bool degraded_at_end = false;
    for (const CheckRecord& c : record.checks)
      if (c.phase == Phase::During) degraded_at_end = !c.ok;
    for (size_t i = 0; i < record.checks.size(); ++i) {
      const CheckRecord& c = record.checks[i];
      if (c.phase == Phase::After && c.ok) {
        first_pass_after = i;
        break;
      }
    }
    v.needed_recovery = degraded_at_end;
    if (first_pass_after && !degraded_at_end) {
      v.time_to_recover = Duration::zero();
      v.recovered = true;
    } else if (first_pass_after) {
      const Duration ttr = record.checks[*first_pass_after].t - *during_end;
      v.time_to_recover = std::max(ttr, Duration::zero());
      v.recovered = *v.time_to_recover <= recovery_within;
    }
  }
  for (Phase phase : spec.phases) {
    PhaseResult r;
    r.allowed_failed = spec.tolerance(phase);
    std::vector<double> latencies;
    for (size_t i = 0; i < record.checks.size(); ++i) {
      const CheckRecord& c = record.checks[i];
      if (c.phase != phase) continue;
      if (phase == Phase::After && v.judged_recovery &&
          (!first_pass_after || i < *first_pass_after)) {
        ++r.recovering;
        continue;
      }
      ++r.checks;
      r.passed += c.ok ? 1 : 0;
      if (c.ok && c.latency) latencies.push_back(to_ms(*c.latency));
    }
    r.p95_ms = p95(latencies);
    r.ok = within_tolerance(r.checks, r.passed, r.allowed_failed);
    v.phases[phase] = r;
  }
  v.longest_outage = longest_outage(record);
  return v;
}

std::optional<Outage> longest_outage(const ProbeRecord& record) {
  std::optional<Outage> longest;
  Outage current;
  bool in_outage = false;
  auto close = [&] {
    if (in_outage && (!longest || current.length > longest->length)) longest = current;
    in_outage = false;
  };
  for (const CheckRecord& c : record.checks) {
    if (c.phase == Phase::Before || c.could_not_run) continue;
    if (!c.ok) {
      if (!in_outage) current = Outage{c.t, Duration::zero(), 0, false, c.observed};
      in_outage = true;
      ++current.failed_checks;
      current.length = c.t + c.latency.value_or(Duration::zero()) - current.start;
    } else if (in_outage) {
      current.length = c.t - current.start;
      current.ended = true;
      close();
    }
  }
  close();
  return longest;
}

Verdict judge_run(const Scenario& s, const RunRecord& record) {
  Verdict v;
  bool deviated = false;
  std::string deviation;
  for (size_t i = 0; i < s.steady_state.size(); ++i) {
    const ProbeSpec& spec = s.steady_state[i];
    ProbeVerdict pv = judge_probe(spec, record.probes[i], record.during_end, s.recovery.within);
    for (const auto& [phase, r] : pv.phases) {
      if (!r.ok && !deviated) {
        deviated = true;
        deviation = fmt::format("probe '{}' failed {}/{} checks {} the faults (allowed {})",
                                spec.name, r.checks - r.passed, r.checks, phase_name(phase),
                                format_percent(r.allowed_failed));
      }
    }
    if (pv.judged_recovery && !pv.recovered && !record.stop_reason && !deviated) {
      deviated = true;
      deviation = pv.time_to_recover
                      ? fmt::format("probe '{}' recovered after {}, later than recovery.within {}",
                                    spec.name, format_duration(*pv.time_to_recover),
                                    format_duration(s.recovery.within))
                      : fmt::format("probe '{}' did not recover after the faults", spec.name);
    }
    if (pv.time_to_recover)
      v.time_to_recover =
          std::max(v.time_to_recover.value_or(Duration::zero()), *pv.time_to_recover);
    v.probes.push_back(std::move(pv));
  }
  // A check that could not run observed nothing: the run cannot say whether the steady state
  // held, so it is an error, never a deviation.
  std::string could_not_run;
  for (const ProbeRecord& p : record.probes) {
    const auto first = std::find_if(p.checks.begin(), p.checks.end(),
                                    [](const CheckRecord& c) { return c.could_not_run; });
    if (first == p.checks.end() || !could_not_run.empty()) continue;
    const auto n = std::count_if(p.checks.begin(), p.checks.end(),
                                 [](const CheckRecord& c) { return c.could_not_run; });
    could_not_run = fmt::format("probe '{}' could not run {} of its {} checks: {}", p.name, n,
                                p.checks.size(), first->observed);
  }
  std::string revert_errors;
  for (const FaultRecord& f : record.faults)
    if (!f.revert_error.empty())
      revert_errors += fmt::format("{}fault '{}': {}", revert_errors.empty() ? "" : "; ", f.name,
                                   f.revert_error);
  // Faults on agents that did not end as the run meant: the agent became unreachable, so the
  // fault ended by its lease (early), or the run could not confirm its end at all.
  std::string lost;
  for (const FaultRecord& f : record.faults) {
    if (f.host == "local" || !f.applied_at || !f.apply_error.empty()) continue;
    std::string what;
    if (!f.reverted_at)
      what = "its revert was not confirmed (the agent did not answer); the agent reverts it "
             "when its lease runs out";
    else if (f.ended_by == "lease")
      what = fmt::format("ended by its lease at +{:.1f} s: the agent lost contact with this run",
                         to_ms(*f.reverted_at) / 1000.0);
    if (what.empty()) continue;
    lost += fmt::format("{}fault '{}' on {}: {}", lost.empty() ? "" : "; ", f.name, f.host, what);
  }
  for (const RunRecord::HostEvent& e : record.host_events)
    v.host_events.push_back(
        fmt::format("+{:.1f} s agent {}: {}", to_ms(e.at) / 1000.0, e.host, e.what));
  if (!revert_errors.empty()) {
    v.status = RunStatus::RevertFailed;
    v.reason = "could not revert: " + revert_errors;
  } else if (!lost.empty() && !record.stop_reason) {
    v.status = RunStatus::Error;
    v.reason = lost;
  } else if (record.stop_reason) {
    v.status = RunStatus::Aborted;
    v.reason = *record.stop_reason;
  } else if (!record.error.empty()) {
    v.status = RunStatus::Error;
    v.reason = record.error;
  } else if (!could_not_run.empty()) {
    v.status = RunStatus::Error;
    v.reason = could_not_run;
  } else if (const BeforeGate gate = judge_before(s, record);
             gate.outcome == BeforeGate::Outcome::NoEvidence) {
    v.status = RunStatus::Error;
    v.reason = gate.reason;
  } else if (record.faults_skipped) {
    v.status = RunStatus::Deviated;
    v.reason =
        "the steady state did not hold before the faults, so none was injected: " + deviation;
  } else if (deviated) {
    v.status = RunStatus::Deviated;
    v.reason = deviation;
  } else {
    v.status = RunStatus::Held;
    v.reason = "the steady-state hypothesis held before, during and after the faults";
  }
  return v;
}

}  // namespace faultline
