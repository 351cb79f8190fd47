#include "injectors/process/selector.h"

#include <array>

namespace faultline {
namespace {
constexpr std::array<std::string_view, 5> kKeys = {"name", "cmdline", "pidfile", "parent_pidfile",
                                                   "cgroup"};

std::string_view base_name(std::string_view cmdline) {
  std::string_view argv0 = cmdline.substr(0, cmdline.find(' '));
  const size_t slash = argv0.rfind('/');
  return slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
}
}  // namespace

std::span<const std::string_view> selector_keys() {
  return kKeys;
}

bool ProcessSelector::set(std::string_view key, std::string value) {
  if (key == "name")
    name = std::move(value);
  else if (key == "cmdline")
    cmdline = std::move(value);
  else if (key == "pidfile")
    pidfile = std::move(value);
  else if (key == "parent_pidfile")
    parent_pidfile = std::move(value);
  else if (key == "cgroup")
    cgroup = std::move(value);
  else
    return false;
  return true;
}

std::optional<std::string> oversized_selector_field(const ProcessSelector& s,
                                                    std::string_view what) {
  auto longer = [](const std::optional<std::string>& v, size_t max) {
    return v && v->size() > max;
  };
  if (longer(s.cmdline, kMaxSelectorRegex))
    return fmt::format("{}.cmdline is longer than {} characters", what, kMaxSelectorRegex);
  if (longer(s.name, kMaxSelectorName))
    return fmt::format("{}.name is longer than {} characters", what, kMaxSelectorName);
  for (const auto& [key, value] : {std::pair{"pidfile", &s.pidfile},
                                   {"parent_pidfile", &s.parent_pidfile},
                                   {"cgroup", &s.cgroup}})
    if (longer(*value, kMaxSelectorPath))
      return fmt::format("{}.{} is longer than {} characters", what, key, kMaxSelectorPath);
  return std::nullopt;
}

std::string ProcessSelector::describe() const {
  std::string out;
  auto add = [&](std::string_view key, const std::optional<std::string>& v) {
    if (!v) return;
    if (!out.empty()) out += ' ';
    out += fmt::format("{}='{}'", key, *v);
  };
  add("name", name);
  add("cmdline", cmdline);
  add("pidfile", pidfile);
  add("parent_pidfile", parent_pidfile);
  add("cgroup", cgroup);
  return out.empty() ? "(no processes)" : out;
}

Result<ProcessMatcher> ProcessMatcher::compile(const ProcessSelector& selector) {
  ProcessMatcher m;
  m.selector_ = selector;
  if (selector.cmdline) {
    auto re = UserRegex::compile(*selector.cmdline);
    if (!re)
      return fail("cmdline regex '{}' is not valid: {}", *selector.cmdline, re.error().message);
    m.cmdline_ = std::move(*re);
  }
  if (selector.cgroup && !selector.cgroup->starts_with('/'))
    return fail("cgroup '{}' must be an absolute cgroup v2 path such as /system.slice/x.service",
                *selector.cgroup);
  m.refresh();
  return m;
}

void ProcessMatcher::refresh() {
  pidfile_missing_ = false;
  if (selector_.pidfile) {
    pid_ = read_pid_file(*selector_.pidfile);
    pidfile_missing_ |= !pid_;
  }
  if (selector_.parent_pidfile) {
    parent_ = read_pid_file(*selector_.parent_pidfile);
    pidfile_missing_ |= !parent_;
  }
}

bool ProcessMatcher::may_match_pid(pid_t pid) const {
  return !selector_.empty() && !pidfile_missing_ && (!pid_ || pid == *pid_);
}

bool ProcessMatcher::cmdline_pattern_matches(std::string_view cmdline) const {
  return !cmdline_ || cmdline_->search(cmdline);
}

bool ProcessMatcher::may_match(const ProcessInfo& p) const {
  if (!may_match_pid(p.pid) || p.kernel_thread) return false;
  return !parent_ || p.ppid == *parent_;
}

bool ProcessMatcher::needs_cmdline(const ProcessInfo& p) const {
  return cmdline_.has_value() || (selector_.name && p.comm != *selector_.name);
}

bool ProcessMatcher::matches(const ProcessInfo& p) const {
  if (!may_match(p)) return false;
  if (selector_.name && p.comm != *selector_.name && base_name(p.cmdline) != *selector_.name)
    return false;
  if (!cmdline_pattern_matches(p.cmdline)) return false;
  if (selector_.cgroup) {
    const std::string& want = *selector_.cgroup;
    const bool inside = p.cgroup == want || (p.cgroup.starts_with(want) &&
                                             (want == "/" || p.cgroup[want.size()] == '/'));
    if (!inside) return false;
  }
  return true;
}

}  // namespace faultline
