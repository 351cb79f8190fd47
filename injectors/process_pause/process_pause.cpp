#include "injectors/process_pause/process_pause.h"

#include <csignal>
#include <fstream>
#include <thread>

#include "core/poll.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/process/pidfd.h"

namespace faultline {
namespace {

constexpr std::string_view kMethods[] = {"signal", "freezer"};

constexpr ParamSpec kParams[] = {
    {.name = "count",
     .type = ParamType::Count,
     .default_value = "1",
     .max = 100000,
     .help = "how many of the matching processes: a number, 'all' or a share like 50%"},
    {.name = "method",
     .type = ParamType::Choice,
     .default_value = "signal",
     .choices = kMethods,
     .help = "signal (SIGSTOP/SIGCONT) or freezer (cgroup v2 freezer of the target's cgroup)"},
};

// How long to wait for the kernel to report a process stopped or a cgroup frozen.
constexpr Duration kSettle = std::chrono::milliseconds(500);

bool wait_until(const auto& condition) {
  return poll_until(condition, kSettle);
}

bool cgroup_frozen(const std::string& dir) {
  std::ifstream events(dir + "/cgroup.events");
  std::string key, value;
  while (events >> key >> value)
    if (key == "frozen") return value == "1";
  return false;
}

struct Paused {
  ProcessInfo process;
  PidFd fd;
  std::optional<Duration> stopped_after;  // from the scheduled time, state seen as 'T'
  bool resumed = false;
  bool gone = false;  // exited while paused
};

class ProcessPause final : public Fault {
 public:
  explicit ProcessPause(FaultRequest request)
      : request_(std::move(request)),
        freezer_(request_.params.text("method") == "freezer"),
        rng_(request_.seed) {}
  ~ProcessPause() override { (void)revert(); }

  Result<void> prepare() override {
    Resolution r = FL_TRY(resolve_processes(request_.selector, request_.protection));
    if (freezer_) {
      // Every process of the cgroup is checked, since every one of them will be paused.
      ProcessSelector whole;
      whole.cgroup = request_.selector.cgroup;
      r = FL_TRY(resolve_processes(whole, request_.protection));
      // The freezer pauses the whole cgroup, so the whole cgroup must fit the blast radius.
      Count all;
      all.mode = Count::Mode::All;
      targets_ = FL_TRY(choose_targets(r, all, request_.max_processes, rng_, request_.selector));
      if (!r.excluded.empty())
        return fail(
            "cgroup {} holds a protected process (pid {}: {}); the freezer would pause "
            "it too",
            *request_.selector.cgroup, r.excluded.front().process.pid, r.excluded.front().reason);
      cgroup_dir_ = FL_TRY(cgroup2_directory(*request_.selector.cgroup));
      // Thawing at the end must not undo a freeze that someone else made.
      if (cgroup_frozen(cgroup_dir_))
        return refuse(
            "cgroup {} is frozen already; faultline will not freeze (and later thaw) "
            "what it did not freeze",
            *request_.selector.cgroup);
    } else {
      targets_ = FL_TRY(choose_targets(r, request_.params.count("count"), request_.max_processes,
                                       rng_, request_.selector));
    }
    return {};
  }

  Result<void> apply(TimePoint scheduled) override {
    if (targets_.empty()) FL_TRY_VOID(prepare());
    scheduled_ = scheduled;
    applied_ = true;
    if (freezer_) {
      // Marked before acting, so a failure half-way is still reverted.
      frozen_ = true;
      FL_TRY_VOID(write_cgroup_file(cgroup_dir_ + "/cgroup.freeze", "1"));
      if (!wait_until([&] { return cgroup_frozen(cgroup_dir_); }))
        return fail("cgroup {} did not report frozen within {}", cgroup_dir_,
                    format_duration(kSettle));
      frozen_after_ = Clock::now() - scheduled;
      return {};
    }
    for (ProcessInfo& p : targets_) {
      PidFd fd = FL_TRY(PidFd::open(p.pid, p.start_ticks));
      paused_.push_back({p, std::move(fd), std::nullopt, false, false});
      FL_TRY_VOID(paused_.back().fd.send_signal(SIGSTOP));
    }
    for (Paused& p : paused_) {
      if (wait_until([&] {
            auto s = read_process_stat(p.process.pid);
            return s && s->state == 'T';
          }))
        p.stopped_after = Clock::now() - scheduled;
    }
    return {};
  }

  Result<void> revert() override {
    std::string errors;
    if (freezer_ && frozen_) {
      if (auto r = write_cgroup_file(cgroup_dir_ + "/cgroup.freeze", "0"); !r)
        errors = r.error().message;
      else if (!wait_until([&] { return !cgroup_frozen(cgroup_dir_); }))
        errors = fmt::format("cgroup {} still reports frozen", cgroup_dir_);
      else {
        frozen_ = false;
        thawed_after_ = Clock::now() - scheduled_;
      }
    }
    for (Paused& p : paused_) {
      if (p.resumed || p.gone) continue;
      if (p.fd.exited()) {
        p.gone = true;
        continue;
      }
      if (auto r = p.fd.send_signal(SIGCONT); !r) {
        errors += (errors.empty() ? "" : "; ") + r.error().message;
        continue;
      }
      p.resumed = wait_until([&] {
        auto s = read_process_stat(p.process.pid);
        return !s || s->state != 'T';
      });
      if (!p.resumed)
        errors += fmt::format("{}pid {} is still stopped after SIGCONT", errors.empty() ? "" : "; ",
                              p.process.pid);
    }
    if (!errors.empty()) return fail("{}", errors);
    return {};
  }

  nlohmann::json undo_plan() const override {
    nlohmann::json plan = nlohmann::json::array();
    if (freezer_) {
      // prepare() refused a cgroup that was frozen already, so a freeze there now is ours.
      if (!cgroup_dir_.empty() && (!applied_ || frozen_))
        plan.push_back(thaw_cgroup_step(cgroup_dir_));
      return plan;
    }
    // Before apply: every target; after: only those sent SIGSTOP and not resumed since, so a
    // process that someone else stops later is never resumed by us.
    if (!applied_)
      for (const ProcessInfo& p : targets_) plan.push_back(resume_step(p.pid, p.start_ticks));
    else
      for (const Paused& p : paused_)
        if (!p.resumed && !p.gone)
          plan.push_back(resume_step(p.process.pid, p.process.start_ticks));
    return plan;
  }

  nlohmann::json observed() const override {
    nlohmann::json out = {{"method", freezer_ ? "freezer" : "signal"}};
    if (freezer_) {
      out["cgroup"] = cgroup_dir_;
      out["processes"] = targets_.size();
      if (frozen_after_) out["frozen_after_ms"] = to_ms(*frozen_after_);
      out["thawed"] = !frozen_;
      return out;
    }
    nlohmann::json list = nlohmann::json::array();
    for (const Paused& p : paused_) {
      nlohmann::json j = {{"pid", p.process.pid},
                          {"comm", p.process.comm},
                          {"stopped", p.stopped_after.has_value()},
                          {"resumed", p.resumed},
                          {"exited_while_paused", p.gone}};
      if (p.stopped_after) j["stopped_after_ms"] = to_ms(*p.stopped_after);
      list.push_back(std::move(j));
    }
    out["processes"] = list;
    return out;
  }

  std::string summary() const override {
    if (freezer_)
      return fmt::format("froze cgroup {} ({} processes){}; {}", *request_.selector.cgroup,
                         targets_.size(),
                         frozen_after_ ? fmt::format(" in {:.2f} ms", to_ms(*frozen_after_)) : "",
                         frozen_ ? "NOT thawed" : "thawed");
    size_t stopped = 0, resumed = 0;
    for (const Paused& p : paused_) {
      stopped += p.stopped_after ? 1 : 0;
      resumed += p.resumed ? 1 : 0;
    }
    return fmt::format("SIGSTOP to {} ({}): {}/{} seen stopped, {}/{} resumed",
                       request_.params.count("count").text(), request_.selector.describe(), stopped,
                       paused_.size(), resumed, paused_.size());
  }

  bool confirmed() const override {
    if (freezer_) return frozen_after_.has_value();
    if (paused_.empty()) return false;
    for (const Paused& p : paused_)
      if (!p.stopped_after) return false;
    return true;
  }

 private:
  const FaultRequest request_;
  const bool freezer_;
  std::mt19937_64 rng_;
  std::vector<ProcessInfo> targets_;
  std::vector<Paused> paused_;
  std::string cgroup_dir_;
  TimePoint scheduled_{};
  bool applied_ = false;
  bool frozen_ = false;
  std::optional<Duration> frozen_after_;
  std::optional<Duration> thawed_after_;
};

Support supported() {
  if (!PidFd::supported())
    return {false, "pidfds are not available (Linux 5.3 or later is needed)"};
  return {};
}

std::vector<std::string> cross_check(const Params& params, std::optional<Duration>,
                                     const ProcessSelector& selector) {
  std::vector<std::string> problems;
  if (params.text("method") != "freezer") return problems;
  if (!selector.empty() && !selector.cgroup)
    problems.push_back("method freezer pauses a whole cgroup: select the target with 'cgroup'");
  else if (selector.cgroup &&
           (selector.name || selector.cmdline || selector.pidfile || selector.parent_pidfile))
    // Other keys would narrow what is checked against the blast radius, not what is paused.
    problems.push_back(
        "method freezer pauses every process of the cgroup: select it with "
        "'cgroup' alone");
  if (!cgroup2_mount())
    problems.push_back("method freezer needs cgroup v2, which is not mounted on this host");
  return problems;
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  return std::make_unique<ProcessPause>(std::move(request));
}

}  // namespace

InjectorDescriptor process_pause_descriptor() {
  return {.kind = "process_pause",
          .summary = "pause matching processes (SIGSTOP or cgroup freezer), resume at the end",
          .params = kParams,
          .targets_processes = true,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create};
}

}  // namespace faultline
