#include "controller/run/engine.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "agent/local/local_agent.h"
#include "controller/plan/timeline.h"
#include "controller/fleet/agent_probe.h"
#include "probes/probe.h"
#include "controller/report/journal.h"
#include "controller/run/remote_faults.h"
#include "controller/run/stop_conditions.h"
#include "core/atomic_file.h"

namespace faultline {
namespace {

// Targets are found this long before a fault's start, so the fault itself fires on time.
constexpr Duration kPrepareAhead = std::chrono::milliseconds(50);
// How often the main loop looks at signals, deadlines and the status line.
constexpr Duration kTick = std::chrono::milliseconds(50);
// A fault's deadline is its scheduled end plus this; the agent reverts it then on its own.
constexpr Duration kDeadlineGrace = std::chrono::seconds(5);
// No periodic work (journal, status) this close to a scheduled event.
constexpr Duration kQuietBeforeEvent = std::chrono::milliseconds(20);
// Progress is written to the journal at least this often while probes run.
constexpr Duration kJournalEvery = std::chrono::seconds(1);

class Engine {
 public:
  Engine(const Scenario& s, const RunOptions& o)
      : s_(s),
        o_(o),
        timeline_(plan_timeline(s)),
        stops_(s.stop_when),
        // Unique per run, even for a replay with the same seed or a faultline that is pid 1 in
        // its container: agents key faults by owner.
        owner_(fmt::format("run-{}-{}-{:08x}", getpid(), o.seed,
                           static_cast<uint32_t>(std::random_device{}()))),
        agent_(o.keeper) {}

  RunResult run() {
    start_ = Clock::now();
    record_.scenario_file = s_.file;
    record_.title = s_.title;
    record_.seed = o_.seed;
    record_.started_wall = std::chrono::system_clock::now();
    for (const ProbeSpec& p : s_.steady_state)
      record_.probes.push_back({p.name, describe_expectation(p), {}});
    if (o_.hosts && o_.hosts->remote())
      remote_ = std::make_unique<RemoteFaults>(owner_, o_.lease, start_, o_.log);
    records_of_.resize(s_.faults.size());
    for (size_t fi = 0; fi < s_.faults.size(); ++fi) {
      const FaultSpec& f = s_.faults[fi];
      FaultRecord r{.name = f.name,
                    .kind = f.kind,
                    .target = f.target.empty() ? "local" : f.target,
                    .requested = f.params.to_json(),
                    .duration = f.duration,
                    .scheduled_at = s_.before + f.at};
      // One record per host the fault acts on.
      for (const std::string& host : hosts_of(fi)) {
        records_of_[fi].push_back(record_.faults.size());
        record_.faults.push_back(r);
        record_.faults.back().host = host;
      }
    }
    write_journal(nullptr);
    o_.log(fmt::format("run '{}' (seed {}): {} probe(s), {} fault(s), {} in all", s_.title, o_.seed,
                       s_.steady_state.size(), s_.faults.size(), format_duration(timeline_.total)));
    for (size_t i = 0; i < s_.steady_state.size(); ++i)
      probe_threads_.emplace_back([this, i] { probe_loop(i); });
    // TLS handshakes with every host during the before phase, not at the first fault.
    std::thread connector;
    if (remote_) connector = std::thread([this] { remote_->connect(agents_of_run()); });

    run_phases();

    // Teardown always runs: every fault is reverted first (a probe stuck on the paused service
    // must not delay that), then the probes stop, then the verdict is written.
    for (const Error& e : agent_.revert_all(owner_))
      o_.log(fmt::format("REVERT FAILED: {}", e.message));
    if (remote_)
      for (const std::string& e : remote_->revert_all())
        o_.log(fmt::format("REVERT NOT CONFIRMED: {}", e));
    // After the reverts: a slow connection attempt must not delay them.
    if (connector.joinable()) connector.join();
    {
      std::lock_guard lock(mutex_);
      probes_stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : probe_threads_) t.join();
    collect_fault_states();
    if (remote_)
      for (const HostEvent& e : remote_->events())
        record_.host_events.push_back({e.host, e.at, e.what});
    record_.ended_at = Clock::now() - start_;
    Verdict verdict = judge_run(s_, record_);
    write_journal(&verdict);
    return {std::move(record_), std::move(verdict)};
  }

 private:
  void run_phases() {
    set_phase(Phase::Before);
    if (!wait_until(start_ + s_.before)) return;
    {
      // Only what was seen counts: a probe without a completed check here is no evidence that
      // the steady state held, so nothing is injected and the run is an error that says why.
      std::lock_guard lock(mutex_);
      const BeforeGate gate = judge_before(s_, record_);
      if (gate.outcome == BeforeGate::Outcome::NoEvidence) {
        if (record_.error.empty()) record_.error = gate.reason;
        o_.log(fmt::format("no fault will be injected: {}", gate.reason));
        return;
      }
      if (gate.outcome == BeforeGate::Outcome::Deviated) {
        record_.faults_skipped = true;
        o_.log("the steady state did not hold before the faults: no fault will be injected");
        return;
      }
    }
    record_.during_start = Clock::now() - start_;
    set_phase(Phase::During);
    for (const TimelineEvent& e : timeline_.events) {
      if (e.type == EventType::FaultApply) {
        if (!apply_fault(e)) return;
      } else if (e.type == EventType::FaultRevert) {
        if (!wait_until(start_ + e.at)) return;
        revert_fault(e.fault);
      }
    }
    record_.during_end = Clock::now() - start_;
    set_phase(Phase::After);
    wait_until(start_ + *record_.during_end + s_.after);
  }

  // Every inventory host a fault or a probe of this run acts on, once each.
  std::vector<Agent> agents_of_run() const {
    std::vector<Agent> out;
    auto add = [&](const Agent& a) {
      if (std::none_of(out.begin(), out.end(), [&](const Agent& b) { return b.name == a.name; }))
        out.push_back(a);
    };
    for (const FaultHosts& f : o_.hosts->faults)
      for (const Agent& a : f.agents) add(a);
    for (const ProbeHost& p : o_.hosts->probes)
      if (p.agent) add(*p.agent);
    return out;
  }

  // "local", or the inventory hosts a fault acts on.
  std::vector<std::string> hosts_of(size_t fault) const {
    if (!remote_fault(fault)) return {"local"};
    std::vector<std::string> out;
    for (const Agent& a : o_.hosts->faults[fault].agents) out.push_back(a.name);
    return out;
  }

  bool remote_fault(size_t fault) const {
    return o_.hosts && fault < o_.hosts->faults.size() && !o_.hosts->faults[fault].local;
  }

  bool apply_remote_fault(const TimelineEvent& e) {
    const FaultSpec& f = s_.faults[e.fault];
    const TimePoint scheduled = start_ + e.at;
    RemoteFault rf;
    rf.owner = owner_;
    rf.fault_id = f.name;
    rf.kind = f.kind;
    const nlohmann::json written = f.params.to_json();  // as the user wrote them
    for (const auto& [k, v] : written.items())
      rf.params[k] = v.is_string() ? v.get<std::string>() : v.dump();
    if (const TargetGroup* g = s_.target(f.target)) rf.selector = g->processes;
    rf.duration = f.duration;
    rf.lease = o_.lease;
    rf.seed = o_.seed + e.fault * 0x9E3779B97F4A7C15ULL;
    rf.max_processes = s_.blast_radius.max_processes;
    rf.protected_processes = s_.blast_radius.protection.selectors;
    if (!wait_until(scheduled)) return false;
    const auto results = remote_->apply(o_.hosts->faults[e.fault].agents, rf);
    std::vector<std::string> failed;
    {
      std::lock_guard lock(mutex_);
      for (size_t i = 0; i < results.size(); ++i) {
        FaultRecord& r = record_.faults[records_of_[e.fault][i]];
        if (results[i].error) {
          r.apply_error = results[i].error->message;
          failed.push_back(results[i].error->message);
        } else {
          update_from_report(r, *results[i].report);
        }
      }
    }
    o_.log(fmt::format("applied {} ({}) on {} of {} hosts{}", f.name, f.kind,
                       results.size() - failed.size(), results.size(),
                       f.duration ? " for " + format_duration(*f.duration) : ""));
    for (const std::string& m : failed) o_.log(fmt::format("apply FAILED: {}", m));
    write_journal(nullptr);
    if (failed.empty() || s_.on_host_failure == HostFailurePolicy::Continue) return true;
    std::lock_guard lock(mutex_);
    record_.error = fmt::format(
        "fault '{}' could not be applied on {} of {} hosts ({}); "
        "on_host_failure is abort: reverting everywhere",
        f.name, failed.size(), results.size(), fmt::join(failed, "; "));
    return false;
  }

  void update_from_report(FaultRecord& r, const FaultReport& report) {
    const auto since_start = [&](std::chrono::system_clock::time_point t) {
      return std::chrono::duration_cast<Duration>(t - record_.started_wall);
    };
    if (report.applied_at) r.applied_at = since_start(*report.applied_at);
    if (report.reverted_at) r.reverted_at = since_start(*report.reverted_at);
    r.ended_by = report.ended_by;
    r.reverted_by_deadline = report.ended_by == "deadline" || report.ended_by == "lease";
    if (!report.apply_error.empty()) r.apply_error = report.apply_error;
    r.revert_error = report.revert_error;
    r.observed = report.observed;
    r.summary = report.summary;
    r.confirmed = report.confirmed;
  }

  bool apply_fault(const TimelineEvent& e) {
    if (remote_fault(e.fault)) return apply_remote_fault(e);
    const FaultSpec& f = s_.faults[e.fault];
    const TimePoint scheduled = start_ + e.at;
    if (!wait_until(scheduled - kPrepareAhead)) return false;
    FaultRequest request;
    request.id = f.name;
    request.kind = f.kind;
    request.params = f.params;
    if (const TargetGroup* g = s_.target(f.target)) request.selector = g->processes;
    request.duration = f.duration;
    request.seed = o_.seed + e.fault * 0x9E3779B97F4A7C15ULL;
    request.max_processes = s_.blast_radius.max_processes;
    request.protection = s_.blast_radius.protection;
    const TimePoint end = f.duration ? scheduled + *f.duration : start_ + timeline_.total;
    auto prepared = agent_.prepare(std::move(request), owner_, end + kDeadlineGrace);
    if (!prepared) return fault_failed(e.fault, prepared.error().message);
    if (!wait_until(scheduled)) return false;
    auto applied = agent_.apply(f.name, scheduled);
    if (!applied) return fault_failed(e.fault, applied.error().message);
    o_.log(fmt::format("applied {} ({}{})", f.name, f.kind,
                       f.duration ? " for " + format_duration(*f.duration) : ""));
    write_journal(nullptr);
    return true;
  }

  bool fault_failed(size_t index, const std::string& message) {
    std::lock_guard lock(mutex_);
    record_.faults[records_of_[index].front()].apply_error = message;
    record_.error =
        fmt::format("fault '{}' could not be injected: {}", s_.faults[index].name, message);
    return false;
  }

  void revert_fault(size_t index) {
    const std::string& name = s_.faults[index].name;
    if (remote_fault(index)) {
      const auto results = remote_->revert(name);
      std::vector<std::string> failed;
      for (const auto& r : results) {
        if (r.error) failed.push_back(r.error->message);
        if (r.report && !r.report->revert_error.empty())
          failed.push_back(fmt::format("agent {}: {}", r.host, r.report->revert_error));
      }
      o_.log(fmt::format(
          "reverted {} on {} hosts{}", name, results.size() - failed.size(),
          failed.empty() ? "" : ": NOT CONFIRMED: " + fmt::format("{}", fmt::join(failed, "; "))));
      write_journal(nullptr);
      return;
    }
    auto reverted = agent_.revert(name);
    if (auto st = agent_.state(name))
      o_.log(fmt::format("reverted {}{}", name,
                         reverted ? "" : ": REVERT FAILED: " + reverted.error().message));
    write_journal(nullptr);
  }

  // Sleeps until `until`, doing the periodic work; false when the run must stop.
  bool wait_until(TimePoint until) {
    for (;;) {
      if (const std::atomic<int>* sig = o_.interrupt_signal; sig && sig->load() != 0) {
        std::lock_guard lock(mutex_);
        if (!record_.stop_reason)
          record_.stop_reason = fmt::format("interrupted by {}", signal_name(sig->load()));
      }
      {
        std::unique_lock lock(mutex_);
        if (record_.stop_reason || !record_.error.empty()) {
          o_.log(fmt::format("stopping: {}; reverting every fault",
                             record_.stop_reason ? *record_.stop_reason : record_.error));
          return false;
        }
      }
      TimePoint now = Clock::now();
      if (now >= until) return true;
      // Periodic work only while the next event is not imminent, so that it starts on time.
      if (until - now > kQuietBeforeEvent) {
        for (const Error& e : agent_.expire(now))
          o_.log(fmt::format("REVERT FAILED at deadline: {}", e.message));
        if (now - last_journal_ >= kJournalEvery) write_journal(nullptr);
        if (o_.status) o_.status(live_status(now));
        now = Clock::now();
      }
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, std::min(until, now + kTick),
                       [this] { return record_.stop_reason || !record_.error.empty(); });
    }
  }

  void probe_loop(size_t index) {
    const ProbeSpec& spec = s_.steady_state[index];
    std::unique_ptr<Probe> probe;
    if (o_.hosts && index < o_.hosts->probes.size() && o_.hosts->probes[index].agent)
      probe = make_agent_probe(spec, remote_->client(*o_.hosts->probes[index].agent));
    else
      probe = make_probe(spec);
    TimePoint next = start_;
    std::optional<bool> last_ok;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        if (wake_.wait_until(lock, next, [this] { return probes_stop_; })) return;
      }
      next += spec.interval;
      if (!spec.phases.contains(phase_.load())) continue;
      const Duration t = Clock::now() - start_;
      CheckResult r = probe->check();
      if (next < Clock::now()) next = Clock::now();
      // A check that straddles a phase change observed the later phase (a fault that started
      // meanwhile is what it saw), so it counts there, or not at all if the probe skips it.
      const Phase phase = phase_.load();
      if (!spec.phases.contains(phase)) continue;
      std::lock_guard lock(mutex_);
      record_.probes[index].checks.push_back(
          {t, phase, r.ok && !r.could_not_run, r.observed, r.latency, r.could_not_run});
      if (r.could_not_run) {
        o_.log(fmt::format("probe {} COULD NOT RUN ({}): {}", spec.name, phase_name(phase),
                           r.observed));
        if (record_.error.empty()) {
          record_.error = fmt::format("probe '{}' could not run: {}", spec.name, r.observed);
          wake_.notify_all();
        }
        continue;  // neither passed nor failed: stop conditions count what was observed
      }
      if (last_ok != r.ok)
        o_.log(fmt::format("probe {} {} ({}): {}", spec.name, r.ok ? "passes" : "FAILS",
                           phase_name(phase), r.observed));
      last_ok = r.ok;
      if (auto reason = stops_.observe(spec.name, r.ok); reason && !record_.stop_reason) {
        record_.stop_reason = *reason;
        wake_.notify_all();
      }
    }
  }

  void set_phase(Phase p) {
    phase_.store(p);
    o_.log(
        fmt::format("phase {} (+{:.1f} s)", phase_name(p), to_ms(Clock::now() - start_) / 1000.0));
    wake_.notify_all();
  }

  LiveStatus live_status(TimePoint now) {
    LiveStatus st;
    st.phase = phase_.load();
    st.elapsed = now - start_;
    st.total = timeline_.total;
    st.active_faults = agent_.active_count() + (remote_ ? remote_->active_count() : 0);
    std::lock_guard lock(mutex_);
    for (const ProbeRecord& p : record_.probes) {
      size_t passed = 0;
      for (const CheckRecord& c : p.checks) passed += c.ok ? 1 : 0;
      st.probes.push_back({p.name, {passed, p.checks.size() - passed}});
    }
    return st;
  }

  void collect_fault_states() {
    for (FaultRecord& f : record_.faults) {
      if (f.host != "local") {
        if (auto report = remote_->report(f.host, f.name)) {
          const std::string apply_error = f.apply_error;
          update_from_report(f, *report);
          if (f.apply_error.empty()) f.apply_error = apply_error;
        }
        continue;
      }
      auto st = agent_.state(f.name);
      if (!st) continue;
      if (st->applied_at) f.applied_at = *st->applied_at - start_;
      if (st->reverted_at) f.reverted_at = *st->reverted_at - start_;
      f.reverted_by_deadline = st->reverted_by_deadline;
      if (!st->apply_error.empty()) f.apply_error = st->apply_error;
      f.revert_error = st->revert_error;
      f.observed = st->observed;
      f.summary = st->summary;
      f.confirmed = st->confirmed;
    }
  }

  void write_journal(const Verdict* verdict) {
    last_journal_ = Clock::now();
    if (!o_.journal_path) return;
    std::string text;
    {
      std::lock_guard lock(mutex_);
      if (verdict == nullptr) collect_live_faults();
      // Process names and command output need not be UTF-8; replace what is not.
      text = journal_json(s_, record_, verdict)
                 .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n";
    }
    if (auto w = write_file_atomically(*o_.journal_path, text); !w && !journal_warned_) {
      journal_warned_ = true;
      o_.log(fmt::format("cannot write the journal: {}", w.error().message));
    }
  }

  // While running, the journal shows faults as they are now (mutex_ held).
  void collect_live_faults() {
    for (FaultRecord& f : record_.faults) {
      if (f.host != "local") continue;  // updated from the agents' replies as they come
      auto st = agent_.state(f.name);
      if (!st) continue;
      if (st->applied_at) f.applied_at = *st->applied_at - start_;
      if (st->reverted_at) f.reverted_at = *st->reverted_at - start_;
      f.observed = st->observed;
      f.summary = st->summary;
      f.confirmed = st->confirmed;
    }
  }

  const Scenario& s_;
  const RunOptions& o_;
  const Timeline timeline_;
  StopConditions stops_;
  const std::string owner_;
  LocalAgent agent_;
  std::unique_ptr<RemoteFaults> remote_;         // faults and probes on inventory hosts
  std::vector<std::vector<size_t>> records_of_;  // fault index -> its records (one per host)
  TimePoint start_{};
  TimePoint last_journal_{};
  bool journal_warned_ = false;
  std::atomic<Phase> phase_{Phase::Before};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool probes_stop_ = false;
  RunRecord record_;
  std::vector<std::thread> probe_threads_;
};

}  // namespace

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  return Engine(scenario, options).run();
}

}  // namespace faultline
