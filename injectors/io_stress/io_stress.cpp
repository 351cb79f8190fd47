#include "injectors/io_stress/io_stress.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cmath>

#include "injectors/block/block_device.h"
#include "injectors/block/direct_io.h"
#include "injectors/block/io_counters.h"
#include "injectors/io_stress/io_worker.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/cgroup_hierarchy.h"
#include "injectors/linux/undo_steps.h"

namespace faultline {
namespace {

constexpr ParamSpec kParams[] = {
    {.name = "path",
     .type = ParamType::Text,
     .help = "a directory on the filesystem whose disk is loaded"},
    {.name = "workers",
     .type = ParamType::Integer,
     .default_value = "1",
     .min = 1,
     .max = 64,
     .help = "how many worker processes, each with its own file"},
    {.name = "block_size",
     .type = ParamType::Bytes,
     .default_value = "4KiB",
     .min = kDirectAlign,
     .max = 16 * kMiB,
     .help = "bytes per read or write, a multiple of 4KiB (random I/O at 4KiB, as fio's default)"},
    {.name = "read_percent",
     .type = ParamType::Percent,
     .default_value = "50",
     .min = 0,
     .max = 10000,
     .help = "the share of operations that are reads; the rest are writes (0%: writes only)"},
    {.name = "bytes",
     .type = ParamType::Bytes,
     .default_value = "64MiB",
     .min = kMiB,
     .max = int64_t{1} << 40,
     .help = "the size of each worker's file, over which it reads and writes at random"},
};

// How long revert lets the workers finish their current operation before SIGKILL.
constexpr int kStopGraceMs = 2000;

double rounded(double v, double unit) {
  return std::round(v / unit * 100.0) / 100.0;
}

struct StressPlan {
  BlockDevice device;
  CgroupHierarchy hierarchy;
  int64_t total_bytes = 0;
  int64_t available = 0;
};

// Reads the host and changes nothing: the path, its disk, its bounds, direct I/O, the room.
Result<StressPlan> plan_stress(const FaultRequest& r) {
  const std::string& path = r.params.text("path");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail("path {}: {}", path, std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return fail("path {} is not a directory", path);
  StressPlan plan;
  plan.device = FL_TRY(block_device_of(path));
  FL_TRY_VOID(check_path_bound(path, r.resource_bounds));
  FL_TRY_VOID(check_direct_io(path));
  plan.hierarchy = FL_TRY(find_cgroup_hierarchy("io"));
  plan.total_bytes = r.params.integer("workers") * r.params.bytes("bytes");
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) != 0)
    return fail("cannot read the free space of {}: {}", path, std::strerror(errno));
  plan.available = static_cast<int64_t>(vfs.f_bavail * vfs.f_frsize);
  if (plan.total_bytes > plan.available)
    return refuse("io_stress: {} worker(s) x {} = {} does not fit in the {} free on {}; lower "
                  "bytes or workers",
                  r.params.integer("workers"), format_byte_size({r.params.bytes("bytes")}),
                  human_bytes(static_cast<double>(plan.total_bytes)),
                  human_bytes(static_cast<double>(plan.available)), path);
  return plan;
}

class IoStress final : public Fault {
 public:
  explicit IoStress(FaultRequest request) : request_(std::move(request)) {}
  ~IoStress() override { (void)revert(); }

  Result<void> prepare() override {
    plan_ = FL_TRY(plan_stress(request_));
    if (request_.container) {
      // Below the container's cgroup: its I/O limits hold the workers and its io.stat counts them.
      const std::string cgroup =
          FL_TRY(process_cgroup_path(request_.container->init_pid, plan_.hierarchy));
      if (cgroup == "/")
        return fail("{} is in the root cgroup: its I/O cannot be charged", request_.container->describe());
      planned_cgroup_ = OwnedCgroup::reserve_path_under(cgroup_directory(plan_.hierarchy, cgroup), "io");
    } else {
      planned_cgroup_ = reserve_owned_cgroup(plan_.hierarchy, "io");
    }
    prepared_ = true;
    return {};
  }

  Result<void> apply(TimePoint) override {
    if (!prepared_) FL_TRY_VOID(prepare());
    reverted_ = false;
    const std::string parent = planned_cgroup_.substr(0, planned_cgroup_.rfind('/'));
    // On v2, io.stat exists in our cgroup only where its parent enables io. Not in a container's
    // cgroup, which holds processes (v2 allows no controllers there): the workers' I/O is then
    // charged to the container's cgroup itself.
    if (!request_.container)
      enabled_in_ = FL_TRY(enable_controller_below(plan_.hierarchy, parent));
    cgroup_.emplace(FL_TRY(OwnedCgroup::create_at(planned_cgroup_)));
    const IoWorkerPlan plan{.dir = request_.params.text("path"),
                            .block = request_.params.bytes("block_size"),
                            .file_bytes = request_.params.bytes("bytes") /
                                          request_.params.bytes("block_size") *
                                          request_.params.bytes("block_size"),
                            .read_basis_points = request_.params.percent("read_percent").basis_points};
    workers_ = FL_TRY(IoWorkers::spawn(plan, static_cast<int>(request_.params.integer("workers"))));
    for (pid_t pid : workers_->pids())
      if (auto added = cgroup_->add(pid); !added) return fail("{}", added.error().message);
    before_ = read_io_counters(plan_.hierarchy, counted_dir(), plan_.device.numbers());
    workers_->start();
    return {};
  }

  Result<void> revert() override {
    if (reverted_) return {};
    if (workers_) {
      workers_->stop(kStopGraceMs);
      final_ = workers_->reports();
    }
    if (cgroup_) {
      if (before_) after_ = read_io_counters(plan_.hierarchy, counted_dir(), plan_.device.numbers());
      FL_TRY_VOID(cgroup_->destroy());
      cgroup_.reset();
    }
    reverted_ = true;
    return {};
  }

  // The workers' cgroup: removing it kills them, and their unnamed files go with them.
  nlohmann::json undo_plan() const override {
    nlohmann::json plan = nlohmann::json::array();
    if (prepared_ && !reverted_) plan.push_back(remove_cgroup_step(planned_cgroup_));
    return plan;
  }

  nlohmann::json observed() const override {
    const std::vector<IoWorkerReport> reports = current();
    nlohmann::json workers = nlohmann::json::array();
    Totals t;
    for (const IoWorkerReport& r : reports) {
      nlohmann::json w = {{"pid", r.pid},
                          {"phase", phase_name(r.phase)},
                          {"fill_seconds", rounded(r.fill_seconds, 1)},
                          {"running_seconds", rounded(r.running_seconds, 1)},
                          {"reads", r.reads},
                          {"writes", r.writes},
                          {"read_mib_per_s", rate_mib(r.read_bytes, r.running_seconds)},
                          {"write_mib_per_s", rate_mib(r.written_bytes, r.running_seconds)},
                          {"read_latency_us", latency_json(r.read_latency)},
                          {"write_latency_us", latency_json(r.write_latency)}};
      if (!r.problem.empty()) w["error"] = r.problem;
      workers.push_back(std::move(w));
      t.add(r);
    }
    nlohmann::json out = {{"device", plan_.device.describe()},
                          {"path", request_.params.text("path")},
                          {"direct_io", true},
                          {"block_size", request_.params.bytes("block_size")},
                          {"read_percent", format_percent(request_.params.percent("read_percent"))},
                          {"workers", workers},
                          {"read_mib_per_s", rate_mib(t.read_bytes, t.seconds)},
                          {"write_mib_per_s", rate_mib(t.written_bytes, t.seconds)},
                          {"reads", t.reads},
                          {"writes", t.writes},
                          {"read_latency_us", latency_json(t.read_latency)},
                          {"write_latency_us", latency_json(t.write_latency)},
                          {"hierarchy", plan_.hierarchy.describe()},
                          {"cgroup", planned_cgroup_}};
    if (!enabled_in_.empty()) out["io_controller_enabled_in"] = enabled_in_;
    if (before_) {
      auto now = after_;
      if (!now && cgroup_) now = read_io_counters(plan_.hierarchy, counted_dir(), plan_.device.numbers());
      if (now) out["io_stat_delta"] = (*now - *before_).to_json();
      out["io_stat_source"] = io_counters_source(plan_.hierarchy);
      // v1's blkio.throttle.io_service* are kept by blk-throttle, which on recent kernels
      // counts a cgroup's I/O only while some throttle rule is active on the device (seen
      // here: zeros with no rule anywhere, counts with one).
      if (!plan_.hierarchy.v2() && now && now->wbytes == before_->wbytes && now->rbytes == before_->rbytes)
        out["io_stat_note"] = "cgroup v1's blkio.throttle.io_service_bytes counted nothing: "
                              "blk-throttle counts only while a throttle rule is active on the "
                              "device";
    }
    return out;
  }

  std::string summary() const override {
    const std::vector<IoWorkerReport> reports = current();
    Totals t;
    for (const IoWorkerReport& r : reports) t.add(r);
    std::string out = fmt::format(
        "{} worker(s), {} blocks, {} reads, on {}: read {:.2f} MiB/s (p50 {} us, p99 {} us), "
        "wrote {:.2f} MiB/s (p50 {} us, p99 {} us), O_DIRECT, as the workers measured",
        reports.size(), format_byte_size({request_.params.bytes("block_size")}),
        format_percent(request_.params.percent("read_percent")), plan_.device.describe(),
        rate_mib(t.read_bytes, t.seconds), us(latency_quantile(t.read_latency, 500)),
        us(latency_quantile(t.read_latency, 990)), rate_mib(t.written_bytes, t.seconds),
        us(latency_quantile(t.write_latency, 500)), us(latency_quantile(t.write_latency, 990)));
    for (const IoWorkerReport& r : reports)
      if (!r.problem.empty()) out += fmt::format("; worker {} {}", r.pid, r.problem);
    return out;
  }

  // Every worker ran the mix (some operations done) and none failed.
  bool confirmed() const override {
    const std::vector<IoWorkerReport> reports = current();
    if (reports.empty()) return false;
    for (const IoWorkerReport& r : reports)
      if (!r.problem.empty() || r.reads + r.writes == 0) return false;
    return true;
  }

 private:
  struct Totals {
    uint64_t reads = 0, writes = 0, read_bytes = 0, written_bytes = 0;
    double seconds = 0;  // the longest worker's running time: the workers run side by side
    LatencyCounts read_latency{}, write_latency{};
    void add(const IoWorkerReport& r) {
      reads += r.reads;
      writes += r.writes;
      read_bytes += r.read_bytes;
      written_bytes += r.written_bytes;
      seconds = std::max(seconds, r.running_seconds);
      for (size_t i = 0; i < read_latency.size(); ++i) {
        read_latency[i] += r.read_latency[i];
        write_latency[i] += r.write_latency[i];
      }
    }
  };

  // Where the kernel counts the workers' I/O: their cgroup, or on v2 below a container (no io
  // controller in it) the container's.
  std::string counted_dir() const {
    if (request_.container && plan_.hierarchy.v2())
      return planned_cgroup_.substr(0, planned_cgroup_.rfind('/'));
    return planned_cgroup_;
  }

  std::vector<IoWorkerReport> current() const {
    if (reverted_ || !workers_) return final_;
    return workers_->reports();
  }
  static double rate_mib(uint64_t bytes, double seconds) {
    return seconds > 0 ? rounded(static_cast<double>(bytes) / seconds, static_cast<double>(kMiB)) : 0;
  }
  static double us(uint64_t ns) { return rounded(static_cast<double>(ns), 1000.0); }
  static nlohmann::json latency_json(const LatencyCounts& c) {
    return {{"p50", us(latency_quantile(c, 500))}, {"p99", us(latency_quantile(c, 990))}};
  }
  static std::string_view phase_name(IoWorkerPhase p) {
    switch (p) {
      case IoWorkerPhase::Waiting: return "waiting";
      case IoWorkerPhase::Filling: return "filling";
      case IoWorkerPhase::Running: return "running";
      case IoWorkerPhase::Stopped: return "stopped";
      case IoWorkerPhase::Failed: return "failed";
    }
    return "?";
  }

  const FaultRequest request_;
  bool prepared_ = false;
  bool reverted_ = false;
  StressPlan plan_;
  std::string planned_cgroup_;
  std::vector<std::string> enabled_in_;
  std::optional<OwnedCgroup> cgroup_;
  std::unique_ptr<IoWorkers> workers_;
  std::vector<IoWorkerReport> final_;
  std::optional<IoCounters> before_, after_;
};

Support supported() {
  return {};
}

std::vector<std::string> cross_check(const Params& params, std::optional<Duration>,
                                     const ProcessSelector& selector) {
  std::vector<std::string> problems;
  const int64_t block = params.bytes("block_size");
  if (block % kDirectAlign != 0)
    problems.push_back(fmt::format("block_size must be a multiple of 4KiB for direct I/O (got {})",
                                   format_byte_size({block})));
  if (params.bytes("bytes") < block)
    problems.push_back(fmt::format("bytes ({}) must be at least one block_size ({})",
                                   format_byte_size({params.bytes("bytes")}),
                                   format_byte_size({block})));
  if (!selector.empty())
    problems.push_back("io_stress takes no process target: its own workers make the load");
  return problems;
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  return std::make_unique<IoStress>(std::move(request));
}

Result<std::string> reach_check(const FaultRequest& request) {
  const StressPlan p = FL_TRY(plan_stress(request));
  return fmt::format(
      "{} worker(s) of O_DIRECT {} blocks, {} reads, over {} each ({} in all, {:.0f}% of the "
      "{} free) on {}, in a cgroup of its own, {}",
      request.params.integer("workers"), format_byte_size({request.params.bytes("block_size")}),
      format_percent(request.params.percent("read_percent")),
      format_byte_size({request.params.bytes("bytes")}),
      human_bytes(static_cast<double>(p.total_bytes)),
      100.0 * static_cast<double>(p.total_bytes) / static_cast<double>(std::max<int64_t>(p.available, 1)),
      human_bytes(static_cast<double>(p.available)), p.device.describe(), p.hierarchy.describe());
}

}  // namespace

InjectorDescriptor io_stress_descriptor() {
  return {.kind = "io_stress",
          .summary = "load a filesystem's disk with direct-I/O readers and writers",
          .params = kParams,
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create,
          .reach_check = reach_check};
}

}  // namespace faultline
