#pragma once
// Which processes a fault or probe means. Every criterion given must match (AND).
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/user_regex.h"
#include "injectors/process/proc.h"

namespace faultline {

struct ProcessSelector {
  std::optional<std::string> name;            // comm, or the base name of argv[0], exactly
  std::optional<std::string> cmdline;         // RE2 regex searched in the command line
  std::optional<std::string> pidfile;         // the process whose pid the file holds
  std::optional<std::string> parent_pidfile;  // the children of that process
  std::optional<std::string> cgroup;          // cgroup v2 path; the cgroup and those below it

  bool empty() const { return !name && !cmdline && !pidfile && !parent_pidfile && !cgroup; }
  // "name=nginx cmdline='worker'".
  std::string describe() const;
  // Sets a criterion by its key; false when the key is not a selector key.
  bool set(std::string_view key, std::string value);
};

// How long a selector's fields may be, wherever one comes from (a scenario, the agent's wire).
// A cmdline pattern is a few words; 1024 characters bound what the agent compiles for a
// request (RE2's memory for it). A process name is at most a file name; the rest are paths.
inline constexpr size_t kMaxSelectorRegex = 1024;
inline constexpr size_t kMaxSelectorName = 255;
inline constexpr size_t kMaxSelectorPath = 4096;
// The most selectors a scenario's blast_radius.protected may list; the agent takes no more.
inline constexpr size_t kMaxProtectedSelectors = 64;

// The first field of `s` over its limit, as "WHAT.cmdline is longer than 1024 characters"
// (`what` names the selector, e.g. "selector"); nullopt when every field fits.
std::optional<std::string> oversized_selector_field(const ProcessSelector& s,
                                                    std::string_view what);

// The selector keys, as written in scenario files and on the command line.
std::span<const std::string_view> selector_keys();

// A selector whose regex is compiled and whose pid files are read once per match pass.
class ProcessMatcher {
 public:
  static Result<ProcessMatcher> compile(const ProcessSelector& selector);
  // Reads the pid files again (they change when a service restarts).
  void refresh();
  bool matches(const ProcessInfo& p) const;
  // For a scan that reads /proc lazily, cheapest test first; matches() still decides.
  // may_match_pid: false when the pid alone rules the process out (the pid file names another,
  // or is missing). cmdline_pattern_matches: the cmdline pattern, if any, on a command line.
  // may_match: false when the fields of /proc/PID/stat alone rule `p` out (its pid, its
  // parent, a kernel thread). needs_cmdline: whether `p`'s command line can change the
  // answer; not when there is no cmdline pattern and `name` (if any) equals `p`'s comm.
  bool may_match_pid(pid_t pid) const;
  bool has_cmdline_pattern() const { return cmdline_.has_value(); }
  bool cmdline_pattern_matches(std::string_view cmdline) const;
  bool may_match(const ProcessInfo& p) const;
  bool needs_cmdline(const ProcessInfo& p) const;
  const ProcessSelector& selector() const { return selector_; }

 private:
  ProcessSelector selector_;
  std::optional<UserRegex> cmdline_;
  std::optional<pid_t> pid_;
  std::optional<pid_t> parent_;
  bool pidfile_missing_ = false;
};

}  // namespace faultline
