#include "injectors/io_throttle/io_throttle.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <thread>

#include "injectors/block/io_counters.h"
#include "injectors/io_throttle/throttle_files.h"
#include "injectors/io_throttle/throttle_probe.h"
#include "injectors/io_throttle/throttle_target.h"
#include "injectors/linux/cgroup.h"
#include "injectors/linux/undo_steps.h"

namespace faultline {
namespace {

// 1 KiB/s to 1 TiB/s; 1 to a billion operations a second.
constexpr int64_t kMinBps = 1024;
constexpr int64_t kMaxBps = int64_t{1} << 40;

constexpr ParamSpec kParams[] = {
    {.name = "path",
     .type = ParamType::Text,
     .help = "a file or directory on the filesystem whose disk is throttled"},
    {.name = "rbps",
     .type = ParamType::Bytes,
     .optional = true,
     .min = kMinBps,
     .max = kMaxBps,
     .help = "read bytes per second, e.g. 4MiB"},
    {.name = "wbps",
     .type = ParamType::Bytes,
     .optional = true,
     .min = kMinBps,
     .max = kMaxBps,
     .help = "write bytes per second, e.g. 4MiB"},
    {.name = "riops",
     .type = ParamType::Integer,
     .optional = true,
     .min = 1,
     .max = 1'000'000'000,
     .help = "read operations per second"},
    {.name = "wiops",
     .type = ParamType::Integer,
     .optional = true,
     .min = 1,
     .max = 1'000'000'000,
     .help = "write operations per second"},
};

// The probe's I/O size, and how long each of its parts lasts at the limit: long enough that
// blk-throttle's first slice (a burst of up to 100 ms of budget) is a few percent of it.
constexpr int64_t kProbeBlock = 64 * kKiB;
constexpr int64_t kProbeSeconds = 2;
constexpr int64_t kProbeMax = 64 * kMiB;
// The throttle counts as confirmed when the probe's rate is within this share of each limit.
constexpr double kTolerance = 0.10;

IoLimits limits_of(const Params& p) {
  IoLimits l;
  if (p.has("rbps")) l.rbps = p.bytes("rbps");
  if (p.has("wbps")) l.wbps = p.bytes("wbps");
  if (p.has("riops")) l.riops = p.integer("riops");
  if (p.has("wiops")) l.wiops = p.integer("wiops");
  return l;
}

int64_t round_to_block(int64_t bytes) {
  return std::clamp(bytes / kProbeBlock * kProbeBlock, 4 * kProbeBlock, kProbeMax);
}

// How much the probe writes and reads: kProbeSeconds at each limit, within a quarter of the
// filesystem's free space.
ProbePlan probe_plan(const std::string& path, const IoLimits& l) {
  ProbePlan plan{.dir = path, .block = kProbeBlock};
  if (l.wbps)
    plan.write_bytes = round_to_block(*l.wbps * kProbeSeconds);
  else if (l.wiops)
    plan.write_bytes = round_to_block(*l.wiops * kProbeBlock * kProbeSeconds);
  else
    plan.write_bytes = 4 * kMiB;
  if (l.rbps) plan.read_bytes = round_to_block(*l.rbps * kProbeSeconds);
  if (l.riops) plan.read_bytes = round_to_block(*l.riops * kProbeBlock * kProbeSeconds);
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) == 0) {
    const auto room = static_cast<int64_t>(vfs.f_bavail * vfs.f_frsize / 4);
    plan.write_bytes = std::max(kProbeBlock, std::min(plan.write_bytes, room / kProbeBlock * kProbeBlock));
  }
  return plan;
}

// A directory for the probe's unnamed file: the path, or the directory holding it.
std::string directory_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  }
  return path;
}

double ratio(double measured, int64_t limit) {
  return std::round(measured / static_cast<double>(limit) * 1000.0) / 1000.0;
}

class IoThrottle final : public Fault {
 public:
  explicit IoThrottle(FaultRequest request)
      : request_(std::move(request)), limits_(limits_of(request_.params)) {}
  ~IoThrottle() override { (void)revert(); }

  Result<void> prepare() override {
    target_ = FL_TRY(find_throttle_target(request_));
    lines_ = throttle_lines(target_.hierarchy, target_.dir, target_.device.numbers(), limits_);
    // On v2 the limit holds the cgroups below too, so the probe gets one of its own below the
    // target's, removed after. On v1 blk-throttle is flat (a child cgroup escapes the parent's
    // limit): the probe joins the target's cgroup itself, and dies with faultline there.
    if (target_.hierarchy.v2()) probe_cgroup_ = OwnedCgroup::reserve_path_under(target_.dir, "io");
    prepared_ = true;
    return {};
  }

  Result<void> apply(TimePoint) override {
    if (!prepared_) FL_TRY_VOID(prepare());
    reverted_ = false;
    // On v2, io.max exists only where the parent enables io for its children.
    const std::string parent = target_.dir.substr(0, target_.dir.rfind('/'));
    enabled_in_ = FL_TRY(enable_controller_below(target_.hierarchy, parent));
    // Read again just before writing: what is there now is what the revert puts back.
    lines_ = throttle_lines(target_.hierarchy, target_.dir, target_.device.numbers(), limits_);
    before_ = read_io_counters(target_.hierarchy, target_.dir, target_.device.numbers());
    for (size_t i = 0; i < lines_.size(); ++i) {
      if (auto w = write_cgroup_file(lines_[i].file, lines_[i].limit); !w) {
        written_ = i;
        (void)revert();
        return fail("io_throttle: cannot write '{}' to {}: {}", lines_[i].limit, lines_[i].file,
                    w.error().message);
      }
      written_ = i + 1;
    }
    applied_at_ = Clock::now();
    start_probe();
    return {};
  }

  Result<void> revert() override {
    if (reverted_) return {};
    stop_probe();
    if (before_ && !after_)
      after_ = read_io_counters(target_.hierarchy, target_.dir, target_.device.numbers());
    std::string errors;
    // The same step the guardian would perform: a cgroup that is gone took its limits with it.
    for (size_t i = written_; i-- > 0;)
      if (auto done = perform_undo_step(set_cgroup_value_step(lines_[i].file, lines_[i].previous));
          !done)
        errors += (errors.empty() ? "" : "; ") + done.error().message;
    if (!errors.empty()) return fail("io_throttle: cannot put the previous limits back: {}", errors);
    written_ = 0;
    reverted_ = true;
    return {};
  }

  // The previous limits, then the probe's cgroup; both are in the plan before apply writes.
  nlohmann::json undo_plan() const override {
    nlohmann::json plan = nlohmann::json::array();
    if (reverted_ || !prepared_) return plan;
    for (const ThrottleLine& l : lines_) plan.push_back(set_cgroup_value_step(l.file, l.previous));
    if (!probe_cgroup_.empty()) plan.push_back(remove_cgroup_step(probe_cgroup_));
    return plan;
  }

  nlohmann::json observed() const override {
    nlohmann::json out = {{"device", target_.device.describe()},
                          {"cgroup", target_.dir},
                          {"target", target_.who},
                          {"hierarchy", target_.hierarchy.describe()}};
    if (!target_.device.partition.empty())
      out["device_note"] = fmt::format(
          "the filesystem is on partition {}; the kernel throttles whole disks only, so the limit "
          "is on {} and holds the target's I/O to every partition of it",
          target_.device.partition, target_.device.name);
    nlohmann::json written = nlohmann::json::array(), previous = nlohmann::json::array();
    for (const ThrottleLine& l : lines_) {
      const std::string file = l.file.substr(l.file.rfind('/') + 1);
      written.push_back({{"file", file}, {"line", l.limit}});
      previous.push_back({{"file", file}, {"line", l.previous}});
    }
    out["limits"] = written;
    out["previous"] = previous;
    if (!enabled_in_.empty()) out["io_controller_enabled_in"] = enabled_in_;
    if (before_) {
      const auto now = after_ ? after_
                              : read_io_counters(target_.hierarchy, target_.dir,
                                                 target_.device.numbers());
      if (now) out["io_stat_delta"] = (*now - *before_).to_json();
      out["io_stat_source"] = io_counters_source(target_.hierarchy);
    }
    std::lock_guard lock(probe_mutex_);
    if (probe_result_) {
      nlohmann::json p = probe_result_->to_json();
      if (limits_.wbps) p["write_ratio"] = ratio(probe_result_->write_bytes_per_s(), *limits_.wbps);
      if (limits_.wiops) p["write_iops_ratio"] = ratio(probe_result_->write_iops(), *limits_.wiops);
      if (limits_.rbps) p["read_ratio"] = ratio(probe_result_->read_bytes_per_s(), *limits_.rbps);
      if (limits_.riops) p["read_iops_ratio"] = ratio(probe_result_->read_iops(), *limits_.riops);
      p["cgroup"] = probe_cgroup_.empty() ? target_.dir : probe_cgroup_;
      out["probe"] = std::move(p);
    } else if (!probe_problem_.empty()) {
      out["probe"] = {{"error", probe_problem_}};
    } else if (before_) {
      out["probe"] = {{"running", true}};
    }
    return out;
  }

  std::string summary() const override {
    std::string out = fmt::format("{} on {} for {}", limits_.keys(), target_.device.describe(),
                                  target_.who);
    std::lock_guard lock(probe_mutex_);
    if (probe_result_ && probe_result_->problem().empty()) {
      out += fmt::format(": probe wrote {} at {}/s", human_bytes(static_cast<double>(probe_result_->write_bytes)),
                         human_bytes(probe_result_->write_bytes_per_s()));
      if (probe_result_->read_ops > 0)
        out += fmt::format(", read at {}/s", human_bytes(probe_result_->read_bytes_per_s()));
      out += probe_cgroup_.empty() ? " (O_DIRECT, in the target's cgroup)"
                                   : " (O_DIRECT, in a cgroup below the target's)";
    } else if (probe_result_) {
      out += ": " + probe_result_->problem();
    } else if (!probe_problem_.empty()) {
      out += ": " + probe_problem_;
    }
    return out;
  }

  // Each limit given is met by the probe within 10%.
  bool confirmed() const override {
    std::lock_guard lock(probe_mutex_);
    if (!probe_result_ || !probe_result_->problem().empty()) return false;
    const auto near = [](double measured, int64_t limit) {
      return std::abs(measured / static_cast<double>(limit) - 1.0) <= kTolerance;
    };
    const ProbeResult& p = *probe_result_;
    return (!limits_.wbps || near(p.write_bytes_per_s(), *limits_.wbps)) &&
           (!limits_.wiops || near(p.write_iops(), *limits_.wiops)) &&
           (!limits_.rbps || near(p.read_bytes_per_s(), *limits_.rbps)) &&
           (!limits_.riops || near(p.read_iops(), *limits_.riops));
  }

 private:
  void start_probe() {
    if (!probe_cgroup_.empty()) {
      auto cgroup = OwnedCgroup::create_at(probe_cgroup_);
      if (!cgroup) {
        probe_problem_ = "no probe: " + cgroup.error().message;
        return;
      }
      probe_cgroup_owned_.emplace(std::move(*cgroup));
    }
    auto child = ProbeChild::spawn(probe_plan(directory_of(request_.params.text("path")), limits_));
    if (!child) {
      probe_problem_ = "no probe: " + child.error().message;
      return;
    }
    const std::string procs = (probe_cgroup_.empty() ? target_.dir : probe_cgroup_) + "/cgroup.procs";
    if (auto added = write_cgroup_file(procs, std::to_string((*child)->pid())); !added) {
      probe_problem_ = "no probe: " + added.error().message;
      return;  // the child is killed as it goes
    }
    probe_ = std::move(*child);
    probe_->start();
    probe_thread_ = std::thread([this] {
      auto result = probe_->wait();
      std::lock_guard lock(probe_mutex_);
      if (result)
        probe_result_ = *result;
      else
        probe_problem_ = "the probe was stopped before it finished (the fault ended first)";
    });
  }

  void stop_probe() {
    if (probe_) probe_->kill();
    if (probe_thread_.joinable()) probe_thread_.join();
    probe_.reset();
    if (probe_cgroup_owned_) {
      (void)probe_cgroup_owned_->destroy();
      probe_cgroup_owned_.reset();
    }
  }

  const FaultRequest request_;
  const IoLimits limits_;
  bool prepared_ = false;
  bool reverted_ = false;
  ThrottleTarget target_;
  std::vector<ThrottleLine> lines_;
  size_t written_ = 0;
  std::vector<std::string> enabled_in_;
  std::optional<IoCounters> before_, after_;
  TimePoint applied_at_{};
  std::string probe_cgroup_;
  std::optional<OwnedCgroup> probe_cgroup_owned_;
  std::unique_ptr<ProbeChild> probe_;
  std::thread probe_thread_;
  mutable std::mutex probe_mutex_;
  std::optional<ProbeResult> probe_result_;
  std::string probe_problem_;
};

Support supported() {
  return {};
}

std::vector<std::string> cross_check(const Params& params, std::optional<Duration>,
                                     const ProcessSelector&) {
  if (limits_of(params).empty())
    return {"io_throttle needs at least one limit: rbps, wbps, riops or wiops"};
  return {};
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  return std::make_unique<IoThrottle>(std::move(request));
}

Result<std::string> reach_check(const FaultRequest& request) {
  const ThrottleTarget t = FL_TRY(find_throttle_target(request));
  const IoLimits limits = limits_of(request.params);
  std::string now;
  for (const ThrottleLine& l : throttle_lines(t.hierarchy, t.dir, t.device.numbers(), limits))
    now += fmt::format("{}{}", now.empty() ? "" : ", ", l.previous);
  return fmt::format("throttle {} on {} for {} (cgroup {}), {}; now {}", limits.keys(),
                     t.device.describe(), t.who, t.cgroup, t.hierarchy.describe(), now);
}

}  // namespace

InjectorDescriptor io_throttle_descriptor() {
  return {.kind = "io_throttle",
          .summary = "limit a target's read and write rate on the disk behind a path",
          .params = kParams,
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create,
          .reach_check = reach_check};
}

}  // namespace faultline
