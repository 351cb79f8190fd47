#include "injectors/disk_fill/disk_fill.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "core/byte_size.h"
#include "injectors/disk_fill/fill_file.h"
#include "injectors/disk_fill/fill_space.h"
#include "injectors/disk_fill/unprivileged_write.h"
#include "injectors/linux/undo_steps.h"

namespace faultline {
namespace {

constexpr std::string_view kOfChoices[] = {"avail", "size"};
constexpr std::string_view kFileChoices[] = {"tmpfile", "named"};
constexpr int64_t kMaxBytes = int64_t{1} << 50;  // 1024TiB

constexpr ParamSpec kParams[] = {
    {.name = "path",
     .type = ParamType::Text,
     .help = "a directory on the filesystem to fill, e.g. /var/lib/app"},
    {.name = "bytes",
     .type = ParamType::Bytes,
     .optional = true,
     .min = 1,
     .max = kMaxBytes,
     .help = "fill this much, e.g. 2GiB"},
    {.name = "percent",
     .type = ParamType::Percent,
     .optional = true,
     .min = 1,
     .max = 10000,
     .help = "fill until this share of the filesystem is used (df's Use% with of: avail)"},
    {.name = "leave",
     .type = ParamType::Bytes,
     .optional = true,
     .min = 0,
     .max = kMaxBytes,
     .help = "fill until only this much is free, e.g. 0 or 10MiB"},
    {.name = "of",
     .type = ParamType::Choice,
     .default_value = "avail",
     .choices = kOfChoices,
     .help = "avail: count what unprivileged users can use (statvfs f_bavail, df's Avail); "
             "size: the whole filesystem (f_bfree), so root's reserve on ext4 is filled too"},
    {.name = "file",
     .type = ParamType::Choice,
     .default_value = "tmpfile",
     .choices = kFileChoices,
     .help = "tmpfile: an O_TMPFILE held open (a named file where the filesystem has none); "
             "named: a visible .faultline-fill-PID-N, removed at the revert"},
};

// The fill counts as reached when the free space is within this much of the target.
constexpr int64_t kTargetTolerance = kMiB;
// How long a revert waits for the filesystem to show the space back (xfs frees an unlinked
// inode's blocks in a background worker).
constexpr auto kSpaceBackWait = std::chrono::seconds(2);

FillOf fill_of(const Params& p) {
  return p.text("of") == "size" ? FillOf::Size : FillOf::Avail;
}

FillAmount fill_amount(const Params& p) {
  if (p.has("bytes")) return {.mode = FillAmount::Mode::Bytes, .bytes = p.bytes("bytes")};
  if (p.has("leave")) return {.mode = FillAmount::Mode::Leave, .bytes = p.bytes("leave")};
  return {.mode = FillAmount::Mode::Percent, .percent = p.percent("percent")};
}

Result<void> host_check(const Params& params) {
  const std::string& path = params.text("path");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail("disk_fill path {}: {}; give an existing directory on the filesystem to fill", path,
                std::strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return fail(
        "disk_fill path {} is not a directory; give a directory on the filesystem to "
        "fill",
        path);
  return {};
}

// Whether the fill goes in an O_TMPFILE: asked for, and the filesystem has it.
Result<bool> uses_tmpfile(const Params& params) {
  if (params.text("file") == "named") return false;
  return tmpfile_supported(params.text("path"));
}

Result<std::string> reach_check(const FaultRequest& request) {
  const Params& params = request.params;
  FL_TRY_VOID(host_check(params));
  const std::string& path = params.text("path");
  FL_TRY_VOID(check_path_bound(path, request.resource_bounds));
  const FsSpace space = FL_TRY(read_fs_space(path));
  const FillOf of = fill_of(params);
  const FillTarget target = FL_TRY(compute_fill_target(fill_amount(params), of, space, path));
  const bool tmpfile = FL_TRY(uses_tmpfile(params));
  const std::string fs = describe_filesystem(path);
  return fmt::format(
      "fill {}{} from {} free to {} free ({}): {}, in {}", path, fs.empty() ? "" : " (" + fs + ")",
      human_bytes(static_cast<double>(target.free_before)),
      human_bytes(static_cast<double>(target.target_free)), describe_view(of),
      human_bytes(static_cast<double>(target.fill_bytes())),
      tmpfile ? "an O_TMPFILE held open"
      : params.text("file") == "named"
          ? "a named file .faultline-fill-PID-N, removed at the revert"
          : "a named file .faultline-fill-PID-N (no O_TMPFILE on this filesystem), removed at "
            "the revert");
}

nlohmann::json space_json(const FsSpace& s) {
  return {{"avail_bytes", s.avail}, {"free_bytes", s.free}};
}

class DiskFill final : public Fault {
 public:
  explicit DiskFill(FaultRequest request)
      : request_(std::move(request)),
        path_(request_.params.text("path")),
        of_(fill_of(request_.params)) {}
  ~DiskFill() override { (void)revert(); }

  // The same checks as plan's, on the host that applies it; names the fill file, when there is
  // one, so the undo plan holds it before it exists.
  Result<void> prepare() override {
    plan_line_ = FL_TRY(reach_check(request_));
    if (!FL_TRY(uses_tmpfile(request_.params))) planned_file_ = reserve_fill_file_path(path_);
    prepared_ = true;
    return {};
  }

  Result<void> apply(TimePoint) override {
    if (!prepared_) FL_TRY_VOID(prepare());
    reverted_ = false;
    before_ = FL_TRY(read_fs_space(path_));
    // The space now, not at plan time: the target is computed from what is free as it starts.
    target_ = FL_TRY(compute_fill_target(fill_amount(request_.params), of_, *before_, path_));
    if (planned_file_.empty())
      file_.emplace(FL_TRY(FillFile::open_tmpfile(path_)));
    else
      file_.emplace(FL_TRY(FillFile::create_named(planned_file_)));
    outcome_ = FL_TRY(file_->fill(path_, *target_));
    filled_ = FL_TRY(read_fs_space(path_));
    allocated_ = file_->allocated_bytes();
    // The proof that a service would see the disk full: only when what is left for unprivileged
    // users is less than the probe write (else the write would rightly succeed).
    if (filled_->avail < kProbeWriteBytes)
      during_ = FL_TRY(write_as_nobody(path_));
    else
      during_ = WriteAttempt{
          .why_not = fmt::format("{} is still available to unprivileged users, enough for the "
                                 "{} probe write",
                                 human_bytes(static_cast<double>(filled_->avail)),
                                 human_bytes(static_cast<double>(kProbeWriteBytes)))};
    return {};
  }

  Result<void> revert() override {
    if (reverted_) return {};
    if (file_) {
      FL_TRY_VOID(file_->release());
      file_.reset();
      after_ = wait_for_space_back();
      // Checked after whenever nobody may write there, so that "ok" shows the space is usable.
      if (auto attempt = write_as_nobody(path_); attempt)
        after_write_ = std::move(*attempt);
      else
        after_write_ = WriteAttempt{.why_not = attempt.error().message};
    } else if (!planned_file_.empty()) {
      // apply failed before the file was opened, or never ran: a file of that name is ours.
      FL_TRY_VOID(perform_undo_step(remove_fill_file_step(planned_file_)));
    }
    reverted_ = true;
    return {};
  }

  nlohmann::json undo_plan() const override {
    nlohmann::json plan = nlohmann::json::array();
    // An O_TMPFILE needs none: the kernel frees it with the last descriptor.
    if (!reverted_ && !planned_file_.empty()) plan.push_back(remove_fill_file_step(planned_file_));
    return plan;
  }

  nlohmann::json observed() const override {
    nlohmann::json out = {{"path", path_},
                          {"of", of_ == FillOf::Avail ? "avail" : "size"},
                          {"file", planned_file_.empty() ? "O_TMPFILE" : planned_file_}};
    if (!plan_line_.empty()) out["plan"] = plan_line_;
    if (target_) {
      out["target_free_bytes"] = target_->target_free;
      out["requested_fill_bytes"] = target_->fill_bytes();
    }
    if (before_) out["free_before"] = space_json(*before_);
    if (filled_) {
      out["free_filled"] = space_json(*filled_);
      out["off_target_bytes"] = free_in(*filled_, of_) - target_->target_free;
    }
    if (after_) out["free_after"] = space_json(*after_);
    if (outcome_) {
      out["allocated_bytes"] = allocated_;
      out["method"] = outcome_->method;
      out["stopped_by"] = outcome_->stopped_by;
      out["chunks"] = outcome_->chunks;
      out["fill_ms"] = to_ms(outcome_->took);
    }
    add_write(out, "unprivileged_write_during", during_);
    add_write(out, "unprivileged_write_after", after_write_);
    return out;
  }

  std::string summary() const override {
    if (!outcome_ || !filled_) return fmt::format("{} not filled", path_);
    std::string out =
        fmt::format("filled {} with {} ({}, {:.0f} ms) from {} to {} free, target {} ({})", path_,
                    human_bytes(static_cast<double>(allocated_)),
                    planned_file_.empty() ? "O_TMPFILE" : "named file", to_ms(outcome_->took),
                    human_bytes(static_cast<double>(free_in(*before_, of_))),
                    human_bytes(static_cast<double>(free_in(*filled_, of_))),
                    human_bytes(static_cast<double>(target_->target_free)), describe_view(of_));
    if (outcome_->stopped_by != "target") out += "; stopped by " + outcome_->stopped_by;
    if (during_ && during_->checked) out += "; a write as nobody got " + during_->outcome;
    if (after_write_ && after_write_->checked)
      out += ", and after the revert " + after_write_->outcome;
    return out;
  }

  bool confirmed() const override {
    if (!filled_ || !target_) return false;
    const int64_t off = free_in(*filled_, of_) - target_->target_free;
    if (off > kTargetTolerance || off < -kTargetTolerance) return false;
    return !(during_ && during_->checked && during_->outcome != "ENOSPC");
  }

 private:
  static void add_write(nlohmann::json& out, const std::string& key,
                        const std::optional<WriteAttempt>& w) {
    if (!w) return;
    if (w->checked)
      out[key] = w->outcome;
    else
      out[key + "_not_checked"] = w->why_not;
  }

  // The free space after the revert, once it is back to what it was (or after kSpaceBackWait:
  // something else may have written meanwhile).
  std::optional<FsSpace> wait_for_space_back() const {
    const TimePoint until = Clock::now() + kSpaceBackWait;
    std::optional<FsSpace> now;
    while (true) {
      auto read = read_fs_space(path_);
      if (!read) return now;
      now = *read;
      if (free_in(*now, of_) >= free_in(*before_, of_) - kTargetTolerance || Clock::now() >= until)
        return now;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  const FaultRequest request_;
  const std::string path_;
  const FillOf of_;
  bool prepared_ = false;
  bool reverted_ = false;
  std::string plan_line_;
  std::string planned_file_;  // empty: an O_TMPFILE
  std::optional<FillFile> file_;
  std::optional<FsSpace> before_, filled_, after_;
  std::optional<FillTarget> target_;
  std::optional<FillOutcome> outcome_;
  int64_t allocated_ = 0;
  std::optional<WriteAttempt> during_, after_write_;
};

Support supported() {
  return {};
}

std::vector<std::string> cross_check(const Params& params, std::optional<Duration>,
                                     const ProcessSelector&) {
  std::vector<std::string> problems;
  if (const std::string& path = params.text("path"); !path.starts_with("/"))
    problems.push_back(
        fmt::format("path must be an absolute path to a directory (got '{}')", path));
  std::vector<std::string> given;
  for (const char* name : {"bytes", "percent", "leave"})
    if (params.has(name)) given.push_back(name);
  if (given.empty())
    problems.push_back("say how much to fill with one of bytes, percent or leave");
  else if (given.size() > 1)
    problems.push_back(fmt::format("give only one of bytes, percent or leave (got {})",
                                   fmt::join(given, " and ")));
  return problems;
}

Result<std::unique_ptr<Fault>> create(FaultRequest request) {
  return std::make_unique<DiskFill>(std::move(request));
}

}  // namespace

InjectorDescriptor disk_fill_descriptor() {
  return {.kind = "disk_fill",
          .summary = "fill a filesystem to a given level with a file held open",
          .params = kParams,
          .targets_processes = false,
          .duration = DurationRule::Required,
          .supported = supported,
          .cross_check = cross_check,
          .create = create,
          .host_check = host_check,
          .reach_check = reach_check};
}

}  // namespace faultline
