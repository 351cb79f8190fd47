#include "injectors/memory_pressure/memory_pressure.h"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <mutex>

#include "core/byte_size.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/memory_pressure/memory_plan.h"
#include "injectors/memory_pressure/memory_spec.h"
#include "injectors/memory_pressure/memory_views.h"
#include "injectors/memory_pressure/memory_worker.h"

namespace faultline {
namespace {

// Resident within this share of the request confirms the fault (basis points).
constexpr int64_t kConfirmBasisPoints = 200;

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

std::string bytes_text(int64_t bytes) {
  return human_bytes(static_cast<double>(bytes));
}

bool within(int64_t value, int64_t want) {
  return std::llabs(value - want) <= static_cast<int64_t>(static_cast<__int128>(want) *
                                                           kConfirmBasisPoints / 10000);
}

// A PSI file watched over the fault: its name in observed and its totals at the start.
struct PressureWatch {
  std::string name;
  std::string file;
  Pressure at_start;
};

// One reading of everything the fault reports.
struct Reading {
  int64_t fill_resident = 0;  // the workers' fill mappings (/proc/PID/smaps Rss)
  int64_t vm_rss = 0;         // the workers' VmRSS
  std::optional<int64_t> cgroup_usage;
  std::optional<int64_t> target_usage;
  int64_t oom_kills_ours = 0;
  int64_t oom_kills_target = 0;
  int64_t target_limit_hits = 0;
  bool reached = false;
  std::optional<int64_t> reached_after_ns;
  nlohmann::json workers = nlohmann::json::array();
  nlohmann::json pressure = nlohmann::json::object();
};

class MemoryPressure final : public Fault {
 public:
  explicit MemoryPressure(FaultRequest request) : request_(std::move(request)) {}
  ~MemoryPressure() override { (void)revert(); }

  // Plans (refusing what the host cannot give) and names the workers' cgroup, so the undo plan
  // holds it before it exists.
  Result<void> prepare() override {
    plan_ = FL_TRY(plan_memory_pressure(request_));
    planned_cgroup_ = OwnedCgroup::reserve_path_under(plan_->parent_dir, "mem");
    return {};
  }

  Result<void> apply(TimePoint) override {
    if (!plan_) FL_TRY_VOID(prepare());
    reverted_ = false;
    const CgroupHierarchy& h = plan_->hierarchy;
    if (plan_->target) {
      target_usage_at_start_ = cgroup_memory_usage(h, plan_->target->dir).value_or(0);
      target_oom_at_start_ = cgroup_oom_kills(h, plan_->target->dir).value_or(0);
      target_hits_at_start_ = cgroup_limit_hits(h, plan_->target->dir).value_or(0);
    }
    // fill_to: the target's usage may have moved since prepare.
    to_add_ = plan_->fill_to ? std::max<int64_t>(0, plan_->level - target_usage_at_start_)
                             : plan_->to_add;
    watch_pressure();
    if (!plan_->into_target) FL_TRY_VOID(enable_controller_below(h, plan_->parent_dir));
    cgroup_.emplace(FL_TRY(OwnedCgroup::create_at(planned_cgroup_)));
    if (!plan_->into_target) {
      const int64_t limit = own_cgroup_limit(to_add_, request_.params.integer("workers"));
      FL_TRY_VOID(write_cgroup_file(planned_cgroup_ + "/" + cgroup_memory_limit_file(h),
                                    std::to_string(limit)));
      limit_ = limit;
    }
    // One OOM kill takes every worker, not one at a time while the rest hold on.
    if (h.v2() && ::access((planned_cgroup_ + "/memory.oom.group").c_str(), F_OK) == 0)
      oom_group_ = write_cgroup_file(planned_cgroup_ + "/memory.oom.group", "1").has_value();
    const int64_t workers = request_.params.integer("workers");
    const Duration ramp =
        request_.params.has("ramp") ? request_.params.duration("ramp") : Duration::zero();
    const int64_t share = (to_add_ / workers) & ~int64_t{4095};
    std::lock_guard lock(mutex_);
    for (int64_t i = 0; i < workers && to_add_ > 0; ++i) {
      const int64_t bytes = i + 1 < workers ? share : to_add_ - share * (workers - 1);
      const uint64_t seed = static_cast<uint64_t>(monotonic_ns()) ^
                            (static_cast<uint64_t>(getpid()) << 32) ^ (request_.seed + i);
      MemoryWorker w = FL_TRY(spawn_memory_worker(bytes, ramp, seed));
      pids_.push_back(w.pid);
      workers_.push_back(w);
      if (auto added = cgroup_->add(w.pid); !added) return fail("{}", added.error().message);
    }
    for (MemoryWorker& w : workers_) start_memory_worker(w);
    return {};
  }

  Result<void> revert() override {
    {
      std::lock_guard lock(mutex_);
      if (!final_ && (cgroup_ || !workers_.empty())) final_ = read_now();
      for (MemoryWorker& w : workers_) stop_memory_worker(w);
    }
    if (cgroup_) {
      FL_TRY_VOID(cgroup_->destroy());
      cgroup_.reset();
    }
    reverted_ = true;
    return {};
  }

  // Removing the workers' cgroup kills them; they die with faultline anyway (PR_SET_PDEATHSIG).
  nlohmann::json undo_plan() const override {
    nlohmann::json plan = nlohmann::json::array();
    if (!reverted_ && !planned_cgroup_.empty()) plan.push_back(remove_cgroup_step(planned_cgroup_));
    return plan;
  }

  nlohmann::json observed() const override {
    const Reading r = reading();
    nlohmann::json out = {{"requested_bytes", requested()},
                          {"mode", plan_ && plan_->fill_to ? "fill_to" : "add"},
                          {"into", plan_ && plan_->into_target ? "target" : "own"},
                          {"workers_resident_bytes", r.fill_resident},
                          {"workers_vm_rss_bytes", r.vm_rss},
                          {"reached", r.reached},
                          {"workers", r.workers},
                          {"pressure", r.pressure}};
    if (!plan_) return out;
    out["hierarchy"] = plan_->hierarchy.describe();
    out["cgroup"] = planned_cgroup_;
    out["added_bytes"] = to_add_;
    if (limit_) out["cgroup_limit_bytes"] = *limit_;
    if (r.cgroup_usage) out["cgroup_bytes"] = *r.cgroup_usage;
    if (request_.params.has("ramp"))
      out["ramp_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                           request_.params.duration("ramp"))
                           .count();
    if (r.reached_after_ns) out["reached_after_ms"] = *r.reached_after_ns / 1'000'000;
    out["oom_kills"] = {{"ours", r.oom_kills_ours}};
    if (plan_->target) {
      out["oom_kills"]["the target's"] = r.oom_kills_target;
      out["target"] = {{"what", plan_->target->what},
                       {"cgroup", plan_->target->dir},
                       {"usage_at_start_bytes", target_usage_at_start_},
                       {"limit_hits", r.target_limit_hits}};
      if (plan_->target->limit) out["target"]["limit_bytes"] = *plan_->target->limit;
      if (r.target_usage) out["target"]["usage_bytes"] = *r.target_usage;
    }
    if (plan_->hierarchy.v2())
      out["oom_group"] = oom_group_;
    else
      out["oom_group"] =
          "cgroup v1 has no memory.oom.group: the OOM killer takes one worker at a time";
    if (const std::string named = oom_named(r); !named.empty()) out["oom"] = named;
    return out;
  }

  std::string summary() const override {
    const Reading r = reading();
    std::string out = fmt::format(
        "requested {}{}: resident {} (workers' pages; VmRSS {})", bytes_text(requested()),
        plan_ && plan_->fill_to ? fmt::format(" in the target (added {})", bytes_text(to_add_))
                                : "",
        bytes_text(r.fill_resident), bytes_text(r.vm_rss));
    if (r.cgroup_usage) out += fmt::format(", cgroup {}", bytes_text(*r.cgroup_usage));
    if (r.target_usage) out += fmt::format(", target's cgroup {}", bytes_text(*r.target_usage));
    if (r.reached_after_ns)
      out += fmt::format(", reached in {:.2f} s", static_cast<double>(*r.reached_after_ns) / 1e9);
    else
      out += ", level not reached";
    if (const std::string named = oom_named(r); !named.empty()) out += "; " + named;
    if (plan_) out += fmt::format(" ({})", plan_->hierarchy.describe());
    return out;
  }

  bool confirmed() const override {
    if (!plan_) return false;
    const Reading r = reading();
    // The target's limit was what got tested, and it answered with the OOM killer.
    if (plan_->into_target && r.oom_kills_target > 0) return true;
    if (r.oom_kills_ours > 0 || !r.reached) return false;
    if (plan_->fill_to) return r.target_usage && within(*r.target_usage, plan_->level);
    return within(r.fill_resident, to_add_) &&
           (!r.cgroup_usage || plan_->into_target || within(*r.cgroup_usage, to_add_));
  }

 private:
  int64_t requested() const { return plan_ ? plan_->level : 0; }

  void watch_pressure() {
    const CgroupHierarchy& h = plan_->hierarchy;
    if (h.v2() && plan_->target)
      pressure_.push_back({"the target's", plan_->target->dir + "/memory.pressure", {}});
    if (auto v2 = cgroup2_mount()) pressure_.push_back({"the host's (cgroup v2 root)", *v2 + "/memory.pressure", {}});
    for (PressureWatch& w : pressure_) w.at_start = read_pressure(w.file).value_or(Pressure{});
  }

  // "the target's limit (96.0 MiB) OOM-killed 1 process(es): worker 123": who killed what.
  std::string oom_named(const Reading& r) const {
    if (!plan_) return "";
    std::string killed_workers;
    for (const auto& w : r.workers)
      if (w.value("state", "") == "killed by SIGKILL")
        killed_workers += fmt::format(" {}", w.value("pid", 0));
    if (plan_->target && r.oom_kills_target > 0)
      return fmt::format("the target's limit ({}) OOM-killed {} process(es) in its cgroup{}",
                         plan_->target->limit ? bytes_text(*plan_->target->limit) : "none",
                         r.oom_kills_target,
                         killed_workers.empty() ? "" : ", our worker(s)" + killed_workers);
    if (r.oom_kills_ours > 0)
      return fmt::format("our own cgroup's OOM killer killed {} worker(s){}", r.oom_kills_ours,
                         killed_workers);
    return "";
  }

  Reading reading() const {
    std::lock_guard lock(mutex_);
    if (final_) return *final_;
    return read_now();
  }

  // Called with mutex_ held.
  Reading read_now() const {
    Reading r;
    if (!plan_) return r;
    const CgroupHierarchy& h = plan_->hierarchy;
    bool all_done = !workers_.empty();
    int64_t first_start = 0, last_done = 0;
    for (size_t i = 0; i < workers_.size(); ++i) {
      MemoryWorker& w = workers_[i];
      poll_memory_worker(w);
      nlohmann::json j = {{"pid", pids_[i]}, {"bytes", w.bytes}};
      std::string state = "starting";
      if (w.last) {
        j["touched_bytes"] = w.last->touched;
        j["address"] = w.first->address;
        state = w.last->error ? fmt::format("mmap failed: {}", std::strerror(w.last->error))
                : w.last->done ? "holding"
                               : "filling";
        if (first_start == 0 || w.first->at_ns < first_start) first_start = w.first->at_ns;
        if (w.last->done) last_done = std::max(last_done, w.last->at_ns);
      }
      all_done = all_done && w.last && w.last->done;
      if (w.exit_status) {
        const int s = *w.exit_status;
        // A SIGKILL that revert did not send (it reads before it kills): the OOM killer's, when
        // an oom_kill counter says so (oom_named).
        state = WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL ? "killed by SIGKILL"
                : WIFSIGNALED(s) ? fmt::format("killed by signal {}", WTERMSIG(s))
                                 : fmt::format("exited {}", WEXITSTATUS(s));
        all_done = false;
      } else if (w.pid > 0 && w.first) {
        const int64_t resident = mapping_resident_bytes(w.pid, w.first->address).value_or(0);
        j["resident_bytes"] = resident;
        r.fill_resident += resident;
        r.vm_rss += process_vm_rss(w.pid).value_or(0);
      }
      j["state"] = state;
      r.workers.push_back(std::move(j));
    }
    r.reached = all_done || (workers_.empty() && cgroup_ && to_add_ == 0);
    if (all_done) r.reached_after_ns = last_done - first_start;
    if (cgroup_) {
      r.cgroup_usage = cgroup_memory_usage(h, cgroup_->path());
      r.oom_kills_ours = cgroup_oom_kills(h, cgroup_->path()).value_or(0);
    }
    if (plan_->target) {
      r.target_usage = cgroup_memory_usage(h, plan_->target->dir);
      r.oom_kills_target =
          cgroup_oom_kills(h, plan_->target->dir).value_or(0) - target_oom_at_start_;
      // v1 counts a kill in the victim's own cgroup only: ours is below the target's.
      if (!h.v2() && plan_->into_target) r.oom_kills_target += r.oom_kills_ours;
      r.target_limit_hits =
          cgroup_limit_hits(h, plan_->target->dir).value_or(0) - target_hits_at_start_;
    }
    for (const PressureWatch& w : pressure_) {
      const auto now = read_pressure(w.file);
      if (!now) continue;
      r.pressure[w.name] = {{"file", w.file},
                            {"some_avg10", now->some.avg10},
                            {"full_avg10", now->full.avg10},
                            {"some_total_us", now->some.total_us - w.at_start.some.total_us},
                            {"full_total_us", now->full.total_us - w.at_start.full.total_us}};
    }
    return r;
  }

  const FaultRequest request_;
  std::optional<MemoryPlan> plan_;
  std::string planned_cgroup_;
  std::optional<OwnedCgroup> cgroup_;
  std::optional<int64_t> limit_;
  bool oom_group_ = false;
  bool reverted_ = false;
  int64_t to_add_ = 0;
  int64_t target_usage_at_start_ = 0;
  int64_t target_oom_at_start_ = 0;
  int64_t target_hits_at_start_ = 0;
  std::vector<PressureWatch> pressure_;
  mutable std::mutex mutex_;
  mutable std::vector<MemoryWorker> workers_;  // polled (reports read, exits reaped) when read
  std::vector<pid_t> pids_;
  std::optional<Reading> final_;  // read by revert, before the workers are killed
};

Support supported() {
  if (auto h = find_cgroup_hierarchy("memory"); !h) return {false, h.error().message};
  return {};
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  return std::make_unique<MemoryPressure>(std::move(request));
}

Result<std::string> reach_check(const FaultRequest& request) {
  const MemoryPlan plan = FL_TRY(plan_memory_pressure(request));
  return plan.line();
}

}  // namespace

InjectorDescriptor memory_pressure_descriptor() {
  return {.kind = "memory_pressure",
          .summary = "hold memory in a cgroup of its own or the target's",
          .params = memory_pressure_params(),
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = memory_pressure_cross_check,
          .create = create,
          .reach_check = reach_check};
}

}  // namespace faultline
