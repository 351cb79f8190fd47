#include "controller/run/engine.h"

#include <unistd.h>

#include <random>

#include "controller/fleet/agent_probe.h"
#include "controller/plan/timeline.h"
#include "controller/run/agent_site.h"
#include "controller/run/journal_writer.h"
#include "controller/run/local_site.h"
#include "controller/run/probe_runner.h"
#include "controller/run/run_state.h"

namespace faultline {
namespace {

// How often the main loop looks at signals, deadlines and the status line.
constexpr Duration kTick = std::chrono::milliseconds(50);
// No periodic work (journal, status) this close to a scheduled event.
constexpr Duration kQuietBeforeEvent = std::chrono::milliseconds(20);

class Engine {
 public:
  Engine(const Scenario& s, const RunOptions& o)
      : s_(s),
        o_(o),
        timeline_(plan_timeline(s)),
        // Unique per run, even for a replay with the same seed or a faultline that is pid 1 in
        // its container: agents key faults by owner.
        owner_(fmt::format("run-{}-{}-{:08x}", getpid(), o.seed,
                           static_cast<uint32_t>(std::random_device{}()))),
        start_(Clock::now()),
        journal_(o.journal_path, o.log),
        probes_(s, state_, start_, o.log) {}

  RunResult run() {
    RunRecord& record = state_.record;
    record.scenario_file = s_.file;
    record.title = s_.title;
    record.seed = o_.seed;
    record.started_wall = std::chrono::system_clock::now();
    for (const ProbeSpec& p : s_.steady_state)
      record.probes.push_back({p.name, describe_expectation(p), {}});
    make_sites();
    for (size_t fi = 0; fi < s_.faults.size(); ++fi) {
      const FaultSpec& f = s_.faults[fi];
      FaultRecord r{.name = f.name,
                    .kind = f.kind,
                    .target = f.target.empty() ? "local" : f.target,
                    .requested = f.params.to_json(),
                    .duration = f.duration,
                    .scheduled_at = s_.before + f.at};
      // One record per host the fault acts on.
      for (const std::string& host : site(fi).hosts(run_fault(fi))) {
        records_of_[fi].push_back(record.faults.size());
        record.faults.push_back(r);
        record.faults.back().host = host;
      }
    }
    write_journal(nullptr);
    o_.log(fmt::format("run '{}' (seed {}): {} probe(s), {} fault(s), {} in all", s_.title, o_.seed,
                       s_.steady_state.size(), s_.faults.size(), format_duration(timeline_.total)));
    probes_.start([this](size_t i) -> std::unique_ptr<Probe> {
      const ProbeSpec& spec = s_.steady_state[i];
      if (o_.hosts && i < o_.hosts->probes.size() && o_.hosts->probes[i].agent)
        return make_agent_probe(spec, agents_->client(*o_.hosts->probes[i].agent));
      return make_probe(spec);
    });
    for (const std::unique_ptr<FaultSite>& s : sites_) s->start();

    run_phases();

    // Teardown always runs: every fault is reverted first (a probe stuck on the paused service
    // must not delay that), then the probes stop, then the verdict is written.
    for (const std::unique_ptr<FaultSite>& s : sites_) s->revert_all();
    probes_.stop();
    {
      std::lock_guard lock(state_.mutex);
      update_fault_records();
      for (const std::unique_ptr<FaultSite>& s : sites_)
        for (RunRecord::HostEvent& e : s->events()) record.host_events.push_back(std::move(e));
      record.ended_at = Clock::now() - start_;
    }
    Verdict verdict = judge_run(s_, record);
    std::string journal = write_journal(&verdict);
    return {std::move(record), std::move(verdict), std::move(journal)};
  }

 private:
  // The one place that knows which faults act where: in process, or on inventory hosts.
  void make_sites() {
    sites_.push_back(
        std::make_unique<LocalSite>(owner_, s_.blast_radius, start_, o_.keeper, o_.log));
    local_ = sites_.back().get();
    if (o_.hosts && o_.hosts->remote()) {
      auto agents = std::make_unique<AgentSite>(
          o_.agents ? o_.agents : std::make_shared<AgentPool>(), owner_, s_, *o_.hosts, o_.lease,
          start_, state_.record.started_wall, o_.log);
      agents_ = agents.get();
      sites_.push_back(std::move(agents));
    }
    records_of_.resize(s_.faults.size());
  }

  FaultSite& site(size_t fault) const {
    const bool on_agents =
        o_.hosts && fault < o_.hosts->faults.size() && !o_.hosts->faults[fault].local;
    return on_agents ? *agents_ : *local_;
  }

  RunFault run_fault(size_t index) const {
    const FaultSpec& f = s_.faults[index];
    RunFault out{.index = index, .spec = &f};
    if (const TargetGroup* g = s_.target(f.target)) {
      out.selector = g->processes;
      out.containers = g->containers;
    }
    out.seed = o_.seed + index * 0x9E3779B97F4A7C15ULL;
    const TimelineEvent* apply = nullptr;
    for (const TimelineEvent& e : timeline_.events)
      if (e.type == EventType::FaultApply && e.fault == index) apply = &e;
    out.scheduled = start_ + (apply ? apply->at : s_.before + f.at);
    out.end = f.duration ? out.scheduled + *f.duration : start_ + timeline_.total;
    return out;
  }

  void run_phases() {
    RunRecord& record = state_.record;
    set_phase(Phase::Before);
    if (!wait_until(start_ + s_.before)) return;
    {
      // Only what was seen counts: a probe without a completed check here is no evidence that
      // the steady state held, so nothing is injected and the run is an error that says why.
      std::lock_guard lock(state_.mutex);
      const BeforeGate gate = judge_before(s_, record);
      if (gate.outcome == BeforeGate::Outcome::NoEvidence) {
        if (record.error.empty()) record.error = gate.reason;
        o_.log(fmt::format("no fault will be injected: {}", gate.reason));
        return;
      }
      if (gate.outcome == BeforeGate::Outcome::Deviated) {
        record.faults_skipped = true;
        o_.log("the steady state did not hold before the faults: no fault will be injected");
        return;
      }
    }
    record.during_start = Clock::now() - start_;
    set_phase(Phase::During);
    for (const TimelineEvent& e : timeline_.events) {
      if (e.type == EventType::FaultApply) {
        if (!apply_fault(e.fault)) return;
      } else if (e.type == EventType::FaultRevert) {
        if (!wait_until(start_ + e.at)) return;
        site(e.fault).revert(run_fault(e.fault));
        write_journal(nullptr);
      }
    }
    record.during_end = Clock::now() - start_;
    set_phase(Phase::After);
    wait_until(start_ + *record.during_end + s_.after);
  }

  bool apply_fault(size_t index) {
    const RunFault fault = run_fault(index);
    FaultSite& where = site(index);
    const SiteApply outcome =
        where.apply(fault, [this](TimePoint until) { return wait_until(until); });
    if (outcome.stopped) return false;
    {
      std::lock_guard lock(state_.mutex);
      for (size_t i = 0; i < outcome.errors.size() && i < records_of_[index].size(); ++i) {
        FaultRecord& r = state_.record.faults[records_of_[index][i]];
        if (outcome.errors[i])
          r.apply_error = *outcome.errors[i];
        else
          where.update(fault, i, r);
      }
      if (outcome.run_error) state_.record.error = *outcome.run_error;
    }
    write_journal(nullptr);
    return !outcome.run_error;
  }

  // Sleeps until `until`, doing the periodic work; false when the run must stop.
  bool wait_until(TimePoint until) {
    for (;;) {
      if (const std::atomic<int>* sig = o_.interrupt_signal; sig && sig->load() != 0) {
        std::lock_guard lock(state_.mutex);
        if (!state_.record.stop_reason)
          state_.record.stop_reason = fmt::format("interrupted by {}", signal_name(sig->load()));
      }
      {
        std::unique_lock lock(state_.mutex);
        if (state_.must_stop()) {
          const RunRecord& record = state_.record;
          o_.log(fmt::format("stopping: {}; reverting every fault",
                             record.stop_reason ? *record.stop_reason : record.error));
          return false;
        }
      }
      TimePoint now = Clock::now();
      if (now >= until) return true;
      // Periodic work only while the next event is not imminent, so that it starts on time.
      if (until - now > kQuietBeforeEvent) {
        for (const std::unique_ptr<FaultSite>& s : sites_) s->tick(now);
        if (journal_.due(now)) write_journal(nullptr);
        if (o_.status) o_.status(live_status(now));
        now = Clock::now();
      }
      std::unique_lock lock(state_.mutex);
      state_.wake.wait_until(lock, std::min(until, now + kTick),
                             [this] { return state_.must_stop(); });
    }
  }

  void set_phase(Phase p) {
    state_.phase.store(p);
    o_.log(
        fmt::format("phase {} (+{:.1f} s)", phase_name(p), to_ms(Clock::now() - start_) / 1000.0));
    state_.wake.notify_all();
  }

  LiveStatus live_status(TimePoint now) {
    LiveStatus st;
    st.phase = state_.phase.load();
    st.elapsed = now - start_;
    st.total = timeline_.total;
    for (const std::unique_ptr<FaultSite>& s : sites_) st.active_faults += s->active_count();
    std::lock_guard lock(state_.mutex);
    for (const ProbeRecord& p : state_.record.probes) {
      size_t passed = 0;
      for (const CheckRecord& c : p.checks) passed += c.ok ? 1 : 0;
      st.probes.push_back({p.name, {passed, p.checks.size() - passed}});
    }
    return st;
  }

  // Every fault record as its site knows it now (state_.mutex held).
  void update_fault_records() {
    for (size_t fi = 0; fi < s_.faults.size(); ++fi) {
      const RunFault fault = run_fault(fi);
      for (size_t i = 0; i < records_of_[fi].size(); ++i)
        site(fi).update(fault, i, state_.record.faults[records_of_[fi][i]]);
    }
  }

  // The final journal (with a verdict) is rendered even without a file: the summary and the
  // reports are made from it.
  std::string write_journal(const Verdict* verdict) {
    std::string text;
    if (journal_.enabled() || verdict != nullptr) {
      std::lock_guard lock(state_.mutex);
      if (verdict == nullptr) update_fault_records();
      text = journal_.render(s_, state_.record, verdict);
    }
    journal_.store(text);
    return text;
  }

  const Scenario& s_;
  const RunOptions& o_;
  const Timeline timeline_;
  const std::string owner_;
  const TimePoint start_;
  RunState state_;
  JournalWriter journal_;
  ProbeRunner probes_;
  std::vector<std::unique_ptr<FaultSite>> sites_;  // the local site first: reverted first
  FaultSite* local_ = nullptr;
  AgentSite* agents_ = nullptr;                  // faults and probes on inventory hosts
  std::vector<std::vector<size_t>> records_of_;  // fault index -> its records (one per host)
};

}  // namespace

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  return Engine(scenario, options).run();
}

}  // namespace faultline
