#include "injectors/cpu_stress/cpu_stress.h"

#include <unistd.h>

#include <cmath>
#include <map>
#include <set>

#include "injectors/cpu_stress/cpu_views.h"
#include "injectors/cpu_stress/worker.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/undo_steps.h"
#include "injectors/process/proc.h"

namespace faultline {
namespace {

constexpr std::string_view kChargeChoices[] = {"container", "own"};

constexpr ParamSpec kParams[] = {
    {.name = "load",
     .type = ParamType::Percent,
     .default_value = "100",
     .min = 100,
     .max = 10000,
     .help = "how busy each worker keeps its CPU, 1% to 100%"},
    {.name = "workers",
     .type = ParamType::Integer,
     .default_value = "1",
     .min = 1,
     .max = 1024,
     .help = "how many worker processes"},
    {.name = "cpus",
     .type = ParamType::CpuList,
     .optional = true,
     .help = "CPUs to pin the workers to, round robin, e.g. 0,2-3"},
    {.name = "charge",
     .type = ParamType::Choice,
     .optional = true,
     .choices = kChargeChoices,
     .help = "on a container target: container (the default: the workers run in a cgroup below "
             "the container's, so its CPU limit holds them) or own (beside it, in faultline's "
             "own cgroup)"},
};

// The container's cgroup directory in the hierarchy that holds the cpu controller: the v1 cpu
// hierarchy on a hybrid host, else the v2 tree.
Result<std::string> container_cpu_cgroup(const ContainerScope& c) {
  if (auto v1 = cgroup1_cpu_mount(); v1 && !c.cgroup_v1_cpu.empty())
    return *v1 + (c.cgroup_v1_cpu == "/" ? "" : c.cgroup_v1_cpu);
  if (c.cgroup.empty() || c.cgroup == "/")
    return fail("{} is in the root cgroup: its CPU limit cannot be charged", c.describe());
  return cgroup2_directory(c.cgroup);
}

// The load counts as reached when the measured load is within this many points of the request.
constexpr double kConfirmPoints = 5.0;

struct WorkerSample {
  CpuWorker worker;
  std::optional<int> cpu;
  Duration cpu_at_start{};
};

class CpuStress final : public Fault {
 public:
  explicit CpuStress(FaultRequest request)
      : request_(std::move(request)), load_(request_.params.percent("load")) {}
  ~CpuStress() override { (void)revert(); }

  // Names the workers' cgroup, so the undo plan holds it before it exists.
  Result<void> prepare() override {
    if (charges_container()) {
      // Below the container's cgroup, where its CPU limit (cpu.max, or cfs_quota on v1) holds.
      const std::string parent = FL_TRY(container_cpu_cgroup(*request_.container));
      planned_cgroup_ = OwnedCgroup::reserve_path_under(parent, "cpu");
      prepared_ = true;
      return {};
    }
    if (!request_.container && request_.params.has("charge"))
      return fail("charge is for container targets; this cpu_stress has none");
    if (auto path = OwnedCgroup::reserve_path("cpu"); path)
      planned_cgroup_ = std::move(*path);
    else
      unconfined_reason_ = path.error().message;
    prepared_ = true;
    return {};
  }

  Result<void> apply(TimePoint) override {
    if (!prepared_) FL_TRY_VOID(prepare());
    reverted_ = false;
    if (!planned_cgroup_.empty()) {
      if (auto cg = OwnedCgroup::create_at(planned_cgroup_); cg)
        cgroup_.emplace(std::move(*cg));
      else if (request_.container)  // running beside it would not test its limit
        return fail("{}", cg.error().message);
      else
        unconfined_reason_ = cg.error().message;
    }
    const auto workers = request_.params.integer("workers");
    const CpuList cpus = request_.params.has("cpus") ? request_.params.cpu_list("cpus") : CpuList{};
    for (int64_t i = 0; i < workers; ++i) {
      std::optional<int> cpu;
      if (!cpus.empty()) cpu = cpus[static_cast<size_t>(i) % cpus.size()];
      CpuWorker w = FL_TRY(spawn_cpu_worker(load_, cpu));
      workers_.push_back({w, cpu, {}});
      if (cgroup_) {
        if (auto added = cgroup_->add(w.pid); !added) return fail("{}", added.error().message);
      }
    }
    for (int cpu : cpus) pinned_cpus_.insert(cpu);
    started_ = Clock::now();
    for (int cpu : pinned_cpus_) busy_at_start_[cpu] = proc_stat_busy_seconds(cpu).value_or(0);
    if (cgroup_) cgroup_usage_at_start_ = cgroup2_usage_seconds(cgroup_->path()).value_or(0);
    for (WorkerSample& w : workers_) {
      w.cpu_at_start = read_cpu_time(w.worker.pid).value_or(Duration::zero());
      start_cpu_worker(w.worker);
    }
    return {};
  }

  Result<void> revert() override {
    if (!workers_.empty() && !measured_) measure();
    for (WorkerSample& w : workers_) stop_cpu_worker(w.worker);
    if (cgroup_) {
      FL_TRY_VOID(cgroup_->destroy());
      cgroup_.reset();
    }
    reverted_ = true;
    return {};
  }

  // The workers' cgroup: removing it kills them. Workers outside a cgroup (no cgroup v2 here)
  // need no step: they die with the process that forked them (PR_SET_PDEATHSIG).
  nlohmann::json undo_plan() const override {
    nlohmann::json plan = nlohmann::json::array();
    if (!reverted_ && !planned_cgroup_.empty()) plan.push_back(remove_cgroup_step(planned_cgroup_));
    return plan;
  }

  nlohmann::json observed() const override {
    nlohmann::json workers = nlohmann::json::array();
    const Loads loads = measured_ ? loads_ : current_loads();
    for (size_t i = 0; i < workers_.size(); ++i) {
      nlohmann::json j = {{"pid", pid_of(i)}, {"load_percent", round1(loads.workers[i])}};
      if (workers_[i].cpu) j["cpu"] = *workers_[i].cpu;
      workers.push_back(std::move(j));
    }
    nlohmann::json out = {
        {"workers", workers},
        {"mean_load_percent", round1(loads.mean)},
        {"load_source", loads.source},
        {"measured_over_ms", to_ms(measured_ ? measured_over_ : Clock::now() - started_)}};
    if (!loads.cpus_busy.empty()) {
      nlohmann::json busy = nlohmann::json::object();
      for (const auto& [cpu, percent] : loads.cpus_busy)
        busy[std::to_string(cpu)] = round1(percent);
      out["cpus_busy_percent"] = std::move(busy);
    }
    out["cgroup"] = cgroup_path_.empty() && cgroup_ ? cgroup_->path() : cgroup_path_;
    if (request_.container) out["charged_to"] = charges_container() ? "container" : "own";
    if (!unconfined_reason_.empty()) out["not_confined_because"] = unconfined_reason_;
    return out;
  }

  std::string summary() const override {
    const Loads loads = measured_ ? loads_ : current_loads();
    std::string out = fmt::format("{} worker(s) at {}: measured {:.1f}% mean ({})", workers_.size(),
                                  format_percent(load_), loads.mean, loads.source);
    if (loads.workers.size() > 1) {
      auto [lo, hi] = std::minmax_element(loads.workers.begin(), loads.workers.end());
      out += fmt::format(", workers {:.1f}-{:.1f}%", *lo, *hi);
    }
    for (const auto& [cpu, percent] : loads.cpus_busy)
      out += fmt::format(", CPU {} busy {:.1f}%", cpu, percent);
    if (!loads.cpus_busy.empty()) out += " (/proc/stat, with anything else on it)";
    if (charges_container() && !planned_cgroup_.empty())
      out += ", in a cgroup below the container's (charged to its CPU limit)";
    else
      out += unconfined_reason_.empty() ? ", in its own cgroup" : ", not in a cgroup";
    return out;
  }

  bool confirmed() const override {
    const Loads loads = measured_ ? loads_ : current_loads();
    return !loads.workers.empty() && std::abs(loads.mean - load_.as_percent()) <= kConfirmPoints;
  }

 private:
  // A container target's workers go below its cgroup unless `charge: own` says beside it.
  bool charges_container() const {
    return request_.container &&
           !(request_.params.has("charge") && request_.params.text("charge") == "own");
  }
  static double round1(double v) { return std::round(v * 10.0) / 10.0; }
  static double mean(const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
  }
  pid_t pid_of(size_t i) const { return measured_ ? pids_[i] : workers_[i].worker.pid; }

  // The load as monitoring shows it, since the workers started. The mean is the cgroup's CPU
  // accounting (cpu.stat usage_usec: what systemd-cgtop, cAdvisor and kubectl top read) when
  // the workers have one, else their run time (/proc/PID/schedstat, as top's per-process %CPU).
  // The pinned CPUs' busy share is /proc/stat's tick accounting (top's summary, mpstat,
  // node_exporter); it includes whatever else ran there.
  struct Loads {
    std::vector<double> workers;
    double mean = 0;
    std::string source;
    std::map<int, double> cpus_busy;
  };
  Loads current_loads() const {
    Loads out;
    const double wall_ns = static_cast<double>((Clock::now() - started_).count());
    for (const WorkerSample& w : workers_) {
      const auto now = read_cpu_time(w.worker.pid);
      const double used = now ? static_cast<double>((*now - w.cpu_at_start).count()) : 0.0;
      out.workers.push_back(wall_ns > 0 ? 100.0 * used / wall_ns : 0.0);
    }
    out.mean = mean(out.workers);
    out.source = "schedstat";
    const double wall_s = wall_ns / 1e9;
    if (cgroup_ && wall_s > 0 && !workers_.empty())
      if (auto usage = cgroup2_usage_seconds(cgroup_->path())) {
        out.mean = 100.0 * (*usage - cgroup_usage_at_start_) / wall_s /
                   static_cast<double>(workers_.size());
        out.source = "cgroup cpu.stat";
      }
    for (const auto& [cpu, at_start] : busy_at_start_)
      if (auto busy = proc_stat_busy_seconds(cpu); busy && wall_s > 0)
        out.cpus_busy[cpu] = 100.0 * (*busy - at_start) / wall_s;
    return out;
  }

  void measure() {
    loads_ = current_loads();
    measured_over_ = Clock::now() - started_;
    for (const WorkerSample& w : workers_) pids_.push_back(w.worker.pid);
    if (cgroup_) cgroup_path_ = cgroup_->path();
    measured_ = true;
  }

  const FaultRequest request_;
  const Percent load_;
  bool prepared_ = false;
  bool reverted_ = false;
  std::string planned_cgroup_;
  std::optional<OwnedCgroup> cgroup_;
  std::string cgroup_path_;
  std::string unconfined_reason_;
  std::vector<WorkerSample> workers_;
  TimePoint started_{};
  bool measured_ = false;
  Loads loads_;
  std::set<int> pinned_cpus_;
  std::map<int, double> busy_at_start_;
  double cgroup_usage_at_start_ = 0;
  std::vector<pid_t> pids_;
  Duration measured_over_{};
};

Support supported() {
  return {};
}

std::vector<std::string> cross_check(const Params& params, std::optional<Duration>,
                                     const ProcessSelector&) {
  std::vector<std::string> problems;
  if (!params.has("cpus")) return problems;
  const long online = sysconf(_SC_NPROCESSORS_CONF);
  for (int cpu : params.cpu_list("cpus"))
    if (cpu >= online)
      problems.push_back(fmt::format("cpus: CPU {} does not exist on this host (it has CPUs 0-{})",
                                     cpu, online - 1));
  return problems;
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  return std::make_unique<CpuStress>(std::move(request));
}

}  // namespace

InjectorDescriptor cpu_stress_descriptor() {
  return {.kind = "cpu_stress",
          .summary = "keep CPUs busy at a given load",
          .params = kParams,
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create};
}

}  // namespace faultline
